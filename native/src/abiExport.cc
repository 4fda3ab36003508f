#include "abiExport.h"

#include "abiLayout.h"

namespace hp {
namespace {

Napi::Object ToObject(Napi::Env env, abi::Table table) {
  Napi::Object out = Napi::Object::New(env);
  for (std::size_t i = 0; i < table.count; i++) {
    out.Set(table.entries[i].name,
            Napi::Number::New(env, static_cast<double>(table.entries[i].value)));
  }
  return out;
}

}  // namespace

Napi::Value AbiLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("version", Napi::Number::New(env, static_cast<double>(abi::Version())));
  out.Set("sizes", ToObject(env, abi::Sizes()));
  out.Set("offsets", ToObject(env, abi::Offsets()));
  out.Set("enums", ToObject(env, abi::Enums()));
  return out;
}

}  // namespace hp
