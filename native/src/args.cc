#include "args.h"

#include <cmath>

namespace hp::args {
namespace {

std::string Name(const char* what, const char* key) { return std::string(what) + "." + key; }

}  // namespace

Napi::Object ObjectAt(const Napi::CallbackInfo& info, std::size_t index, const char* what) {
  if (info.Length() <= index || !info[index].IsObject()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an object");
  }
  return info[index].As<Napi::Object>();
}

std::optional<std::string> String(const Napi::Object& options, const char* key,
                                  const char* what, bool required) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined() && !required) return std::nullopt;
  if (!value.IsString() || value.As<Napi::String>().Utf8Value().empty()) {
    throw Napi::TypeError::New(options.Env(), Name(what, key) + " must be a non-empty string");
  }
  return value.As<Napi::String>().Utf8Value();
}

std::uint64_t IntegerValue(const Napi::Value& value, const std::string& name,
                           std::uint64_t min, std::uint64_t max) {
  Napi::Env env = value.Env();
  std::uint64_t result = 0;
  if (value.IsBigInt()) {
    bool lossless = false;
    result = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) {
      throw Napi::RangeError::New(env, name + " must be a non-negative 64-bit integer");
    }
  } else if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(number) || number < 0 || std::floor(number) != number ||
        number > 9007199254740991.0) {
      throw Napi::RangeError::New(env, name + " must be a non-negative integer");
    }
    result = static_cast<std::uint64_t>(number);
  } else {
    throw Napi::TypeError::New(env, name + " must be a number or a bigint");
  }
  if (result < min || result > max) {
    throw Napi::RangeError::New(env, name + " must be between " + std::to_string(min) +
                                         " and " + std::to_string(max));
  }
  return result;
}

std::optional<std::uint64_t> Integer(const Napi::Object& options, const char* key,
                                     const char* what, std::uint64_t min, std::uint64_t max,
                                     bool required) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined() && !required) return std::nullopt;
  return IntegerValue(value, Name(what, key), min, max);
}

bool Boolean(const Napi::Object& options, const char* key, const char* what, bool fallback) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) {
    throw Napi::TypeError::New(options.Env(), Name(what, key) + " must be a boolean");
  }
  return value.As<Napi::Boolean>().Value();
}

}  // namespace hp::args
