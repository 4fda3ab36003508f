#include "probe.h"

#include <cerrno>
#include <cstring>

#include "args.h"
#include "bpfObject.h"
#include "errors.h"
#include "libbpfLog.h"

namespace hp {
namespace {

Napi::Object Report(Napi::Env env, bool loaded, bool attached) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("loaded", loaded);
  out.Set("attached", attached);
  return out;
}

Napi::Object Refused(Napi::Env env, bool loaded, const BpfFailure& failure) {
  Napi::Object out = Report(env, loaded, false);
  Described d = Describe(failure);
  std::string message = d.message;
  if (!failure.log.empty()) message += "\nlibbpf log (tail):\n" + failure.log;
  out.Set("error", message);
  out.Set("errno", Napi::Number::New(env, PublicErrno(failure.err)));
  out.Set("code", d.code);
  return out;
}

bool IsUprobe(const char* section) {
  return std::strncmp(section, "uprobe", 6) == 0 || std::strncmp(section, "uretprobe", 9) == 0;
}

}  // namespace

Napi::Value ProbeAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* what = "probeAttach options";
  Napi::Object o = args::ObjectAt(info, 0, what);
  const std::string path = *args::String(o, "objectPath", what, true);
  const std::string name = *args::String(o, "program", what, true);
  const bool verbose = args::Boolean(o, "verbose", what, false);
  std::string binaryPath, functionName;
  Napi::Value uprobe = o.Get("uprobe");
  if (!uprobe.IsUndefined()) {
    if (!uprobe.IsObject()) throw Napi::TypeError::New(env, "probeAttach uprobe must be an object");
    binaryPath = *args::String(uprobe.As<Napi::Object>(), "binaryPath", "uprobe", true);
    functionName = *args::String(uprobe.As<Napi::Object>(), "functionName", "uprobe", true);
  }

  LibbpfLog log(verbose);
  BpfObject object;
  BpfFailure failure;
  if (object.Open(path, &failure) != 0) return Refused(env, false, failure);
  bpf_program* program = bpf_object__find_program_by_name(object.get(), name.c_str());
  if (program == nullptr) {
    Napi::Object out = Report(env, false, false);
    out.Set("error", "BPF object '" + path + "' has no program named '" + name + "'");
    out.Set("errno", Napi::Number::New(env, ENOENT));
    out.Set("code", "HP_BPF_OPEN");
    return out;
  }
  const bool uprobeProgram = IsUprobe(bpf_program__section_name(program));
  if (uprobeProgram && binaryPath.empty()) {
    throw Napi::TypeError::New(env, "program '" + name +
                                        "' is a uprobe: pass uprobe: { binaryPath, functionName }");
  }
  object.SelectPrograms([program](const bpf_program* p) { return p == program; });
  if (object.Load(&failure) != 0) return Refused(env, false, failure);
  int err = uprobeProgram ? object.AttachUprobe(program, binaryPath, functionName, &failure)
                          : object.Attach(program, &failure);
  if (err != 0) return Refused(env, true, failure);
  return Report(env, true, true);
}

}  // namespace hp
