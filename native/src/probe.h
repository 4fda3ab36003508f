#pragma once

#include <napi.h>

namespace hp {

// probeAttach({ objectPath, program, uprobe?: { binaryPath, functionName },
//   verbose? }) -> { loaded, attached, error?, errno?, code? }
// Loads and attaches one program on its own, then unloads everything, so
// `hydrophone doctor` learns which attachment kinds this kernel allows.
// A refusal is reported, never thrown; only bad arguments throw.
Napi::Value ProbeAttach(const Napi::CallbackInfo& info);

}  // namespace hp
