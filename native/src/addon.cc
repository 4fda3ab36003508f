// Module init: per-environment state lives in instance data, so the addon
// works in worker threads and survives re-loading.
#include <napi.h>

#include <bpf/libbpf.h>

#include "abiExport.h"
#include "libbpfLog.h"
#include "probe.h"
#include "sensor.h"

namespace hp {
namespace {

struct AddonData {
  Napi::FunctionReference sensor;
};

Napi::Value LibbpfVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), libbpf_version_string());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  LibbpfLog::Install();
  auto* data = new AddonData;
  env.SetInstanceData<AddonData>(data);
  Napi::Function sensor = Sensor::Define(env);
  data->sensor = Napi::Persistent(sensor);
  exports.Set("Sensor", sensor);
  exports.Set("abi", Napi::Function::New<AbiLayout>(env, "abi"));
  exports.Set("probeAttach", Napi::Function::New<ProbeAttach>(env, "probeAttach"));
  exports.Set("libbpfVersion", Napi::Function::New<LibbpfVersion>(env, "libbpfVersion"));
  return exports;
}

}  // namespace
}  // namespace hp

static Napi::Object InitHydrophone(Napi::Env env, Napi::Object exports) {
  return hp::Init(env, exports);
}

NODE_API_MODULE(hydrophone, InitHydrophone)
