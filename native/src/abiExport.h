#pragma once

#include <napi.h>

namespace hp {

// abi(): { version, sizes, offsets: { "struct.field": n }, enums }.
Napi::Value AbiLayout(const Napi::CallbackInfo& info);

}  // namespace hp
