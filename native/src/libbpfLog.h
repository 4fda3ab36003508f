// libbpf reports through one process-wide print callback. While a LibbpfLog
// is alive on a thread, that thread's libbpf messages (the verifier log
// included) are kept in a bounded buffer so an error can quote their tail;
// they reach stderr only when verbose. Messages from threads without a
// LibbpfLog are dropped.
#pragma once

#include <string>

namespace hp {

class LibbpfLog {
 public:
  // Bytes of the log quoted in an error.
  static constexpr std::size_t kTailBytes = 4096;

  explicit LibbpfLog(bool verbose);
  ~LibbpfLog();
  LibbpfLog(const LibbpfLog&) = delete;
  LibbpfLog& operator=(const LibbpfLog&) = delete;

  // Installs the print callback; idempotent, call at module init.
  static void Install();
  // The tail of the innermost LibbpfLog on this thread ("" if none).
  static std::string CurrentTail();

  std::string Tail() const;
  void Append(const char* text, std::size_t length);
  bool verbose() const { return verbose_; }

 private:
  std::string text_;
  bool verbose_;
  LibbpfLog* outer_;
};

}  // namespace hp
