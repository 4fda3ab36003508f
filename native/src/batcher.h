// Ring buffer records packed into batches for JavaScript, with a bound on
// the batches handed over and not yet processed. The poll thread appends
// and flushes; when the bound is reached it waits, so records stay in the
// kernel ring buffer (whose losses the BPF side counts) instead of piling
// up in this process.
//
// Batch format, per record: [u32 length][u32 reserved = 0][length bytes]
// [zero padding to a multiple of 8], native byte order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace hp {

struct Batch {
  std::uint8_t* data = nullptr;  // malloc'ed; ownership moves to the JS Buffer
  std::size_t size = 0;
  std::size_t capacity = 0;
  std::uint32_t records = 0;
};

void FreeBatch(Batch* batch);

struct BatcherStats {
  std::uint64_t batches = 0;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;       // batch bytes handed over, framing included
  std::uint64_t waitsForJs = 0;  // flushes that had to wait for JS
  std::uint32_t inFlight = 0;
  int pollErrno = 0;             // why the poll thread stopped early, 0 if it did not
};

class Batcher {
 public:
  static constexpr std::size_t kRecordHeaderBytes = 8;

  // Takes ownership of the batch; false if the consumer is gone.
  using Deliver = std::function<bool(Batch*)>;

  Batcher(std::size_t maxBatchBytes, std::uint32_t maxInFlight, Deliver deliver);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Poll thread. Both return 0, or -ECANCELED once stopped.
  int Add(const void* record, std::size_t length);
  int Flush();

  // JS thread: one delivered batch has been processed.
  void Processed();
  // Any thread: wake a waiting Flush and refuse further work.
  void Stop();
  bool stopped() const;
  void SetPollErrno(int err);
  BatcherStats Stats() const;

  static std::size_t FramedSize(std::size_t length) {
    return kRecordHeaderBytes + ((length + 7) & ~static_cast<std::size_t>(7));
  }

 private:
  bool NewBatch(std::size_t minimum);

  const std::size_t maxBatchBytes_;
  const std::uint32_t maxInFlight_;
  Deliver deliver_;
  Batch* current_ = nullptr;  // owned by the poll thread

  mutable std::mutex mutex_;
  std::condition_variable processed_;
  std::atomic<bool> stopped_{false};
  BatcherStats stats_;
};

}  // namespace hp
