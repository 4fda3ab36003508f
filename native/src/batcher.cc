#include "batcher.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hp {

void FreeBatch(Batch* batch) {
  if (batch == nullptr) return;
  std::free(batch->data);
  delete batch;
}

Batcher::Batcher(std::size_t maxBatchBytes, std::uint32_t maxInFlight, Deliver deliver)
    : maxBatchBytes_(maxBatchBytes), maxInFlight_(maxInFlight), deliver_(std::move(deliver)) {}

Batcher::~Batcher() { FreeBatch(current_); }

bool Batcher::NewBatch(std::size_t minimum) {
  auto* batch = new Batch;
  batch->capacity = minimum > maxBatchBytes_ ? minimum : maxBatchBytes_;
  batch->data = static_cast<std::uint8_t*>(std::malloc(batch->capacity));
  if (batch->data == nullptr) {
    delete batch;
    return false;
  }
  current_ = batch;
  return true;
}

int Batcher::Add(const void* record, std::size_t length) {
  if (stopped()) return -ECANCELED;
  const std::size_t framed = FramedSize(length);
  if (current_ != nullptr && current_->size + framed > current_->capacity) {
    if (int err = Flush()) return err;
  }
  if (current_ == nullptr && !NewBatch(framed)) return -ENOMEM;

  std::uint8_t* out = current_->data + current_->size;
  const std::uint32_t header[2] = {static_cast<std::uint32_t>(length), 0};
  std::memcpy(out, header, sizeof(header));
  std::memcpy(out + kRecordHeaderBytes, record, length);
  std::memset(out + kRecordHeaderBytes + length, 0, framed - kRecordHeaderBytes - length);
  current_->size += framed;
  current_->records++;

  if (current_->size + kRecordHeaderBytes >= current_->capacity) return Flush();
  return 0;
}

int Batcher::Flush() {
  if (current_ == nullptr || current_->records == 0) return stopped() ? -ECANCELED : 0;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (stats_.inFlight >= maxInFlight_ && !stopped_.load()) {
      stats_.waitsForJs++;
      processed_.wait(lock, [this] { return stats_.inFlight < maxInFlight_ || stopped_.load(); });
    }
    if (stopped_.load()) return -ECANCELED;
    stats_.inFlight++;
    stats_.batches++;
    stats_.records += current_->records;
    stats_.bytes += current_->size;
  }
  Batch* batch = current_;
  current_ = nullptr;
  if (!deliver_(batch)) {
    FreeBatch(batch);
    Processed();
    Stop();
    return -ECANCELED;
  }
  return 0;
}

void Batcher::Processed() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stats_.inFlight > 0) stats_.inFlight--;
  processed_.notify_all();
}

void Batcher::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopped_.store(true, std::memory_order_release);
  processed_.notify_all();
}

bool Batcher::stopped() const { return stopped_.load(std::memory_order_acquire); }

void Batcher::SetPollErrno(int err) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.pollErrno = err;
}

BatcherStats Batcher::Stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace hp
