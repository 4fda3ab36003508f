#include "bpfObject.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "libbpfLog.h"

namespace hp {
namespace {

int ErrorOf(const void* pointer) {
  long err = libbpf_get_error(pointer);
  if (err == 0 && pointer == nullptr) err = errno ? -errno : -EINVAL;
  return static_cast<int>(-err);
}

// libbpf names the program whose load failed only in its log:
// "libbpf: prog 'name': failed to load: -13".
std::string FailedProgram(const std::string& log) {
  const std::string marker = "prog '";
  std::size_t at = log.rfind("': failed to load");
  if (at == std::string::npos) return "";
  std::size_t start = log.rfind(marker, at);
  if (start == std::string::npos) return "";
  start += marker.size();
  return log.substr(start, at - start);
}

}  // namespace

std::string BpfObject::Describe(const bpf_program* program) {
  return std::string("program '") + bpf_program__name(program) + "' (" +
         bpf_program__section_name(program) + ")";
}

bool BpfObject::IsLoaded(const bpf_program* program) { return bpf_program__fd(program) >= 0; }

int BpfObject::Open(const std::string& path, BpfFailure* failure) {
  path_ = path;
  bpf_object* object = bpf_object__open_file(path.c_str(), nullptr);
  int err = ErrorOf(object);
  if (err != 0) {
    *failure = {Stage::kOpen, err, "'" + path + "'", "", "", LibbpfLog::CurrentTail()};
    return -err;
  }
  object_ = object;
  return 0;
}

void BpfObject::SelectPrograms(const std::function<bool(const bpf_program*)>& keep) {
  bpf_program* program;
  bpf_object__for_each_program(program, object_) {
    bpf_program__set_autoload(program, keep(program));
  }
}

int BpfObject::Load(BpfFailure* failure) {
  int err = -bpf_object__load(object_);
  if (err == 0) return 0;
  std::string log = LibbpfLog::CurrentTail();
  std::string subject = "BPF object '" + path_ + "'";
  std::string section;
  std::string name = FailedProgram(log);
  if (bpf_program* program =
          name.empty() ? nullptr : bpf_object__find_program_by_name(object_, name.c_str())) {
    subject = Describe(program);
    section = bpf_program__section_name(program);
  }
  *failure = {Stage::kLoad, err, subject, section, "", log};
  return -err;
}

void BpfObject::AttachFailure(bpf_program* program, int err, BpfFailure* failure) const {
  *failure = {Stage::kAttach, err, Describe(program), bpf_program__section_name(program), "",
              LibbpfLog::CurrentTail()};
}

int BpfObject::Attach(bpf_program* program, BpfFailure* failure) {
  bpf_link* link = bpf_program__attach(program);
  int err = ErrorOf(link);
  if (err != 0) {
    AttachFailure(program, err, failure);
    return -err;
  }
  links_.emplace_back(program, link);
  return 0;
}

bool BpfObject::IsUprobe(const bpf_program* program) {
  const char* section = bpf_program__section_name(program);
  return std::strncmp(section, "uprobe", 6) == 0 || std::strncmp(section, "uretprobe", 9) == 0;
}

int BpfObject::AttachAll(BpfFailure* failure) {
  bpf_program* program;
  bpf_object__for_each_program(program, object_) {
    if (!IsLoaded(program) || IsUprobe(program)) continue;
    if (int err = Attach(program, failure)) return err;
  }
  return 0;
}

int BpfObject::AttachUprobe(bpf_program* program, const std::string& binaryPath,
                            const std::string& functionName, BpfFailure* failure) {
  bpf_uprobe_opts options{};
  options.sz = sizeof(options);
  options.func_name = functionName.c_str();
  bpf_link* link =
      bpf_program__attach_uprobe_opts(program, -1, binaryPath.c_str(), 0, &options);
  int err = ErrorOf(link);
  if (err != 0) {
    AttachFailure(program, err, failure);
    failure->detail = "uprobe on " + functionName + " in " + binaryPath;
    return -err;
  }
  links_.emplace_back(program, link);
  return 0;
}

int BpfObject::AttachUprobeLink(bpf_program* program, const std::string& binaryPath,
                                const std::string& functionName, std::uint64_t offset,
                                bool retprobe, std::uint64_t cookie, BpfFailure* failure) {
  bpf_uprobe_opts options{};
  options.sz = sizeof(options);
  options.retprobe = retprobe;
  options.bpf_cookie = cookie;
  if (!functionName.empty()) options.func_name = functionName.c_str();
  bpf_link* link = bpf_program__attach_uprobe_opts(program, -1, binaryPath.c_str(),
                                                   static_cast<std::size_t>(offset), &options);
  int err = ErrorOf(link);
  if (err != 0) {
    AttachFailure(program, err, failure);
    failure->detail = std::string(retprobe ? "uretprobe" : "uprobe") + " on " +
                      (functionName.empty() ? "offset " + std::to_string(offset) : functionName) +
                      " in " + binaryPath;
    return -err;
  }
  const int id = nextUprobeId_++;
  uprobes_.emplace(id, std::make_pair(program, link));
  return id;
}

int BpfObject::DetachLink(int id) {
  auto it = uprobes_.find(id);
  if (it == uprobes_.end()) return -ENOENT;
  bpf_link__destroy(it->second.second);
  uprobes_.erase(it);
  return 0;
}

void BpfObject::Close() {
  // Each uprobe's removal waits for a kernel grace period (~100 ms here):
  // done side by side, the waits overlap instead of adding up.
  std::vector<std::thread> destroyers;
  for (auto& entry : uprobes_) {
    destroyers.emplace_back([link = entry.second.second] { bpf_link__destroy(link); });
  }
  for (auto& t : destroyers) t.join();
  uprobes_.clear();
  for (auto& entry : links_) bpf_link__destroy(entry.second);
  links_.clear();
  if (object_ != nullptr) bpf_object__close(object_);
  object_ = nullptr;
}

bpf_map* BpfObject::FindMap(const char* name) const {
  return object_ ? bpf_object__find_map_by_name(object_, name) : nullptr;
}

bool BpfObject::IsAttached(const bpf_program* program) const {
  for (const auto& entry : links_) {
    if (entry.first == program) return true;
  }
  for (const auto& entry : uprobes_) {
    if (entry.second.first == program) return true;
  }
  return false;
}

unsigned ProgramId(int fd) {
  if (fd < 0) return 0;
  bpf_prog_info info{};
  __u32 length = sizeof(info);
  return bpf_obj_get_info_by_fd(fd, &info, &length) == 0 ? info.id : 0;
}

unsigned MapId(int fd) {
  if (fd < 0) return 0;
  bpf_map_info info{};
  __u32 length = sizeof(info);
  return bpf_obj_get_info_by_fd(fd, &info, &length) == 0 ? info.id : 0;
}

}  // namespace hp
