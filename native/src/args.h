// Reading options objects from JavaScript: each helper throws a TypeError
// or RangeError naming the option and what was expected.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

namespace hp::args {

Napi::Object ObjectAt(const Napi::CallbackInfo& info, std::size_t index, const char* what);
std::optional<std::string> String(const Napi::Object& options, const char* key,
                                  const char* what, bool required);
// An integer in [min, max] given as a number or a bigint.
std::optional<std::uint64_t> Integer(const Napi::Object& options, const char* key,
                                     const char* what, std::uint64_t min, std::uint64_t max,
                                     bool required);
std::uint64_t IntegerValue(const Napi::Value& value, const std::string& name,
                           std::uint64_t min, std::uint64_t max);
bool Boolean(const Napi::Object& options, const char* key, const char* what, bool fallback);

}  // namespace hp::args
