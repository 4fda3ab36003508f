// The sensor: one BPF object, its attached programs, the maps user space
// writes (config, allow lists) and reads (counters), and one named thread
// that polls the ring buffer and hands batches of records to JavaScript.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "batcher.h"
#include "bpfObject.h"

struct ring_buffer;

namespace hp {

// Context of the thread-safe function: keeps the Batcher alive for batches
// and promises still in JavaScript after close().
struct BatchSink {
  std::shared_ptr<Batcher> batcher;
};

void DeliverBatch(Napi::Env env, Napi::Function onBatch, BatchSink* sink, Batch* batch);
using BatchFunction = Napi::TypedThreadSafeFunction<BatchSink, Batch, DeliverBatch>;

struct SensorOptions {
  std::string objectPath;
  std::string attach;  // "tracepoint" | "kprobe"
  std::uint32_t ringBufferBytes = 0;
  bool loadOnly = false;
  // The Go crypto/tls programs (bpf_get_attach_cookie in a uprobe: kernel
  // 5.15+); off, they are not loaded and the rest of the sensor still is.
  bool goTls = true;
  std::size_t maxBatchBytes = 1 << 20;
  std::uint32_t maxInFlightBatches = 8;
  int pollTimeoutMs = 10;
  bool verbose = false;
};

class Sensor : public Napi::ObjectWrap<Sensor> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit Sensor(const Napi::CallbackInfo& info);
  ~Sensor() override;

 private:
  Napi::Value SetConfig(const Napi::CallbackInfo& info);
  Napi::Value SetAllowList(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value AttachUprobe(const Napi::CallbackInfo& info);
  Napi::Value DetachUprobe(const Napi::CallbackInfo& info);
  Napi::Value SetGoTlsBinary(const Napi::CallbackInfo& info);
  Napi::Value SetGoH2Binary(const Napi::CallbackInfo& info);

  void Open(Napi::Env env);
  void Shutdown();
  void EnsureOpen(Napi::Env env) const;
  bpf_map* RequireMap(Napi::Env env, const char* name, std::uint32_t keySize,
                      std::uint32_t valueSize) const;
  void AddCleanupHook();
  void RemoveCleanupHook();
  static void OnEnvCleanup(void* self);

  napi_env env_;
  SensorOptions options_;
  std::unique_ptr<BpfObject> object_;
  ring_buffer* ring_ = nullptr;
  std::shared_ptr<Batcher> batcher_;
  BatchFunction onBatch_;
  std::thread poller_;
  bool started_ = false;
  bool closed_ = false;
  bool cleanupHook_ = false;
};

}  // namespace hp
