// One BPF object and the links of its attached programs, with one cleanup
// path: the destructor (or Close) destroys every link, then closes the
// object, which unloads its programs and maps. Operations return 0 or a
// negative errno and fill a BpfFailure; the caller decides whether that
// becomes a thrown Error (Sensor) or a report (probeAttach).
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"

namespace hp {

class BpfObject {
 public:
  BpfObject() = default;
  ~BpfObject() { Close(); }
  BpfObject(const BpfObject&) = delete;
  BpfObject& operator=(const BpfObject&) = delete;

  int Open(const std::string& path, BpfFailure* failure);
  // Programs for which `keep` is false are not loaded.
  void SelectPrograms(const std::function<bool(const bpf_program*)>& keep);
  int Load(BpfFailure* failure);
  int Attach(bpf_program* program, BpfFailure* failure);
  // Every loaded program (bpf_program__attach), except uprobes: those have
  // no target of their own and are attached per binary (AttachUprobeLink).
  int AttachAll(BpfFailure* failure);
  int AttachUprobe(bpf_program* program, const std::string& binaryPath,
                   const std::string& functionName, BpfFailure* failure);
  // A uprobe (or uretprobe) in every process that maps binaryPath, at a
  // file offset, or at functionName resolved by libbpf when it is not
  // empty; the program reads `cookie` with bpf_get_attach_cookie(). Returns
  // a link id (> 0) for DetachLink, or a negative errno.
  int AttachUprobeLink(bpf_program* program, const std::string& binaryPath,
                       const std::string& functionName, std::uint64_t offset, bool retprobe,
                       std::uint64_t cookie, BpfFailure* failure);
  // 0, or -ENOENT for an id that is not attached.
  int DetachLink(int id);
  std::size_t UprobeLinkCount() const { return uprobes_.size(); }
  void Close();

  static bool IsUprobe(const bpf_program* program);

  bpf_object* get() const { return object_; }
  bpf_map* FindMap(const char* name) const;
  bool IsAttached(const bpf_program* program) const;

  static std::string Describe(const bpf_program* program);
  static bool IsLoaded(const bpf_program* program);

 private:
  void AttachFailure(bpf_program* program, int err, BpfFailure* failure) const;

  bpf_object* object_ = nullptr;
  std::string path_;
  std::vector<std::pair<const bpf_program*, bpf_link*>> links_;
  std::map<int, std::pair<const bpf_program*, bpf_link*>> uprobes_;
  int nextUprobeId_ = 1;
};

// Kernel object id of a program or map fd (0 if unknown).
unsigned ProgramId(int fd);
unsigned MapId(int fd);

}  // namespace hp
