// One BPF object and the links of its attached programs, with one cleanup
// path: the destructor (or Close) destroys every link, then closes the
// object, which unloads its programs and maps. Operations return 0 or a
// negative errno and fill a BpfFailure; the caller decides whether that
// becomes a thrown Error (Sensor) or a report (probeAttach).
#pragma once

#include <bpf/libbpf.h>

#include <functional>
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
  // Every loaded program (bpf_program__attach).
  int AttachAll(BpfFailure* failure);
  int AttachUprobe(bpf_program* program, const std::string& binaryPath,
                   const std::string& functionName, BpfFailure* failure);
  void Close();

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
};

// Kernel object id of a program or map fd (0 if unknown).
unsigned ProgramId(int fd);
unsigned MapId(int fd);

}  // namespace hp
