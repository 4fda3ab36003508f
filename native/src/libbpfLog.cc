#include "libbpfLog.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>

namespace hp {
namespace {

// The only mutable state outside instance data: which capture, if any, the
// process-wide print callback writes to on this thread.
thread_local LibbpfLog* current = nullptr;

int Print(enum libbpf_print_level level, const char* format, va_list args) {
  LibbpfLog* log = current;
  if (log == nullptr) return 0;
  char line[1024];
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(line, sizeof(line), format, copy);
  va_end(copy);
  if (n < 0) return 0;
  std::size_t length = static_cast<std::size_t>(n) < sizeof(line) ? n : sizeof(line) - 1;
  if (log->verbose()) std::fwrite(line, 1, length, stderr);
  // Debug chatter would push the verifier's verdict out of the tail.
  if (level != LIBBPF_DEBUG) log->Append(line, length);
  return n;
}

}  // namespace

LibbpfLog::LibbpfLog(bool verbose) : verbose_(verbose), outer_(current) { current = this; }

LibbpfLog::~LibbpfLog() { current = outer_; }

void LibbpfLog::Install() { libbpf_set_print(Print); }

std::string LibbpfLog::CurrentTail() { return current ? current->Tail() : std::string(); }

void LibbpfLog::Append(const char* text, std::size_t length) {
  text_.append(text, length);
  // Keep memory bounded; trim rarely so appends stay cheap.
  if (text_.size() > 4 * kTailBytes) text_.erase(0, text_.size() - kTailBytes);
}

std::string LibbpfLog::Tail() const {
  if (text_.size() <= kTailBytes) return text_;
  std::size_t start = text_.size() - kTailBytes;
  std::size_t newline = text_.find('\n', start);
  if (newline != std::string::npos && newline + 1 < text_.size()) start = newline + 1;
  return "...\n" + text_.substr(start);
}

}  // namespace hp
