#include "errors.h"

#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hp {
namespace {

constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

bool HasCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective >> (cap % 32)) & 1u;
}

bool HasBpfCapabilities() {
  return HasCapability(CAP_SYS_ADMIN) ||
         (HasCapability(kCapBpf) && HasCapability(kCapPerfmon));
}

bool StartsWith(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool IsTracepointSection(const std::string& section) {
  return StartsWith(section, "tracepoint/") || StartsWith(section, "tp/");
}

bool IsKprobeSection(const std::string& section) {
  return StartsWith(section, "kprobe") || StartsWith(section, "kretprobe") ||
         StartsWith(section, "ksyscall") || StartsWith(section, "kretsyscall");
}

bool TracefsMounted() {
  return access("/sys/kernel/tracing/events", F_OK) == 0 ||
         access("/sys/kernel/debug/tracing/events", F_OK) == 0;
}

bool KprobesAvailable() {
  return access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0;
}

// The verifier said something: a rejection, not a permission problem.
bool HasVerifierLog(const std::string& log) {
  return log.find("BEGIN PROG LOAD LOG") != std::string::npos &&
         log.find("BEGIN PROG LOAD LOG --\n-- END") == std::string::npos;
}

std::string MemlockText() {
  struct rlimit limit {};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return "unknown";
  if (limit.rlim_cur == RLIM_INFINITY) return "unlimited";
  return std::to_string(limit.rlim_cur / 1024) + " KiB";
}

std::string PermissionMessage(const BpfFailure& f) {
  if (!HasBpfCapabilities()) {
    return "BPF not permitted for " + f.subject +
           ": run as root or grant CAP_BPF and CAP_PERFMON (and CAP_SYS_RESOURCE on "
           "kernels before 5.11)";
  }
  return "the kernel refused " + f.subject + ": " + ErrnoText(f.err) +
         ", although this process has the BPF capabilities: kernel lockdown, a security "
         "module or a kernel without support for this program type (e.g. fentry) "
         "forbids it; use another attachment kind";
}

}  // namespace

std::string ErrnoText(int err) {
  if (err >= __LIBBPF_ERRNO__START && err < __LIBBPF_ERRNO__END) {
    char text[128];
    libbpf_strerror(err, text, sizeof(text));
    return std::string("libbpf: ") + text;
  }
  const char* name = strerrorname_np(err);
  std::string text = name ? name : ("errno " + std::to_string(err));
  return text + " (" + std::strerror(err) + ")";
}

int PublicErrno(int err) {
  return err >= __LIBBPF_ERRNO__START && err < __LIBBPF_ERRNO__END ? EINVAL : err;
}

Described Describe(const BpfFailure& f) {
  Described d;
  const std::string what = f.subject + ": " + ErrnoText(f.err);
  switch (f.stage) {
    case Stage::kOpen:
      d.code = "HP_BPF_OPEN";
      if (f.err == ENOENT) {
        d.message = "BPF object " + f.subject +
                    " does not exist: build it first (npm run build) or fix the path";
      } else if (f.err == EACCES || f.err == EPERM) {
        d.message = "cannot read BPF object " + what;
      } else {
        d.message = "cannot open BPF object " + what +
                    ": not a BPF ELF object built for this ABI, or its BTF is unreadable";
      }
      break;
    case Stage::kMap:
      d.code = "HP_BPF_MAP";
      d.message = "BPF map operation failed on " + what;
      break;
    case Stage::kLoad:
      if (f.err == EPERM || (f.err == EACCES && !HasVerifierLog(f.log))) {
        d.code = "HP_BPF_PERMISSION";
        d.message = PermissionMessage(f);
      } else if (f.err == ENOMEM || f.err == E2BIG) {
        d.code = "HP_BPF_LOAD";
        d.message = "cannot create " + what + ": out of locked memory (RLIMIT_MEMLOCK is " +
                    MemlockText() +
                    "); lower ringBufferBytes or raise the limit (ulimit -l, "
                    "CAP_SYS_RESOURCE)";
      } else {
        d.code = "HP_BPF_LOAD";
        d.message = "the kernel rejected " + what +
                    "; the verifier log below says why (a BPF object built for another "
                    "kernel or a verifier limit)";
      }
      break;
    case Stage::kAttach:
      if (f.err == EPERM || f.err == EACCES) {
        d.code = "HP_BPF_PERMISSION";
        d.message = PermissionMessage(f);
      } else if (IsTracepointSection(f.section) && f.err == ENOENT && !TracefsMounted()) {
        d.code = "HP_TRACEFS_MISSING";
        d.message = "cannot attach " + f.subject +
                    ": tracefs is not mounted, so tracepoints cannot be resolved; mount it "
                    "as root with `mount -t tracefs nodev /sys/kernel/tracing` (or in a "
                    "container, mount the host's /sys/kernel/tracing), or use raw "
                    "tracepoints";
      } else if (IsTracepointSection(f.section) && f.err == ENOENT) {
        d.code = "HP_BPF_ATTACH";
        d.message = "cannot attach " + what + ": this kernel has no such tracepoint";
      } else if (IsKprobeSection(f.section) && !KprobesAvailable()) {
        d.code = "HP_BPF_ATTACH";
        d.message = "cannot attach " + what +
                    ": this kernel has no kprobe support (CONFIG_KPROBES is off); use "
                    "attach: 'tracepoint'";
      } else {
        d.code = "HP_BPF_ATTACH";
        d.message = "cannot attach " + what;
      }
      break;
    case Stage::kPoll:
      d.code = "HP_BPF_POLL";
      d.message = "reading the ring buffer failed: " + what;
      break;
  }
  if (!f.detail.empty()) d.message += " (" + f.detail + ")";
  return d;
}

Napi::Error MakeCodedError(Napi::Env env, const char* code, const std::string& message,
                           int err) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  if (err > 0) error.Set("errno", Napi::Number::New(env, err));
  return error;
}

Napi::Error MakeError(Napi::Env env, const BpfFailure& failure) {
  Described d = Describe(failure);
  std::string message = d.message;
  if (!failure.log.empty()) message += "\nlibbpf log (tail):\n" + failure.log;
  Napi::Error error = MakeCodedError(env, d.code.c_str(), message, PublicErrno(failure.err));
  if (!failure.log.empty()) error.Set("log", Napi::String::New(env, failure.log));
  return error;
}

}  // namespace hp
