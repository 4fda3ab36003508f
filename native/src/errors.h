// A libbpf failure as a value (what failed, errno, libbpf log tail) and its
// translation into a JavaScript Error with `code`, `errno` and a message a
// user can act on. probeAttach reports failures; Sensor throws them.
#pragma once

#include <napi.h>

#include <string>

namespace hp {

enum class Stage { kOpen, kMap, kLoad, kAttach, kPoll };

struct BpfFailure {
  Stage stage = Stage::kOpen;
  int err = 0;          // positive errno
  std::string subject;  // "program 'x' (tracepoint/...)", "map 'hp_events'", a path
  std::string section;  // the program's section, when one is involved
  std::string detail;   // extra words from the caller, may be empty
  std::string log;      // tail of the libbpf/verifier log, may be empty
};

struct Described {
  std::string code;     // HP_BPF_PERMISSION, HP_BPF_LOAD, ...
  std::string message;  // without the log
};

Described Describe(const BpfFailure& failure);

// Error with .code, .errno (positive), .syscall-free message plus log tail,
// and .log (the tail alone).
Napi::Error MakeError(Napi::Env env, const BpfFailure& failure);

// Plain coded error for conditions that are not libbpf failures.
Napi::Error MakeCodedError(Napi::Env env, const char* code, const std::string& message,
                           int err = 0);

// "EPERM (Operation not permitted)"; libbpf's own codes (4000+) in words.
std::string ErrnoText(int err);
// The errno reported to JavaScript: libbpf's own codes become EINVAL.
int PublicErrno(int err);

}  // namespace hp
