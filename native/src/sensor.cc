#include "sensor.h"

#include <linux/types.h>
#include <pthread.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include "abi.h"
#include "args.h"
#include "libbpfLog.h"

namespace hp {
namespace {

constexpr const char* kRingBufferMap = "hp_events";

bool HasPrefix(const char* text, const char* prefix) {
  return std::strncmp(text, prefix, std::strlen(prefix)) == 0;
}

bool HasAnyPrefix(const char* text, std::initializer_list<const char*> prefixes) {
  for (const char* prefix : prefixes) {
    if (HasPrefix(text, prefix)) return true;
  }
  return false;
}

// Which programs to load, by section: the always-on ones plus the family
// chosen by options.attach ("tp/" and "raw_tp/" are libbpf's short spellings).
bool Wanted(const bpf_program* program, const std::string& attach, bool goTls) {
  const char* section = bpf_program__section_name(program);
  // Programs that read their uprobe's cookie (5.15+); goTls says the kernel has it.
  if (!goTls && HasAnyPrefix(bpf_program__name(program), {"hp_up_go_tls", "hp_up_go_h2", "hp_up_ssl_bio", "hp_urp_ssl_bio"})) return false;
  // Uprobes are loaded whatever the family, and attached per binary later.
  if (HasAnyPrefix(section, {"raw_tracepoint/", "raw_tp/", "tp_btf/", "uprobe", "uretprobe"})) {
    return true;
  }
  if (attach == "tracepoint") return HasAnyPrefix(section, {"tracepoint/", "tp/"});
  return HasAnyPrefix(section, {"ksyscall/", "kretsyscall/", "kprobe/", "kretprobe/"});
}

int OnSample(void* context, void* data, std::size_t size) {
  return static_cast<Batcher*>(context)->Add(data, size);
}

void PollLoop(ring_buffer* ring, Batcher* batcher, int timeoutMs) {
  pthread_setname_np(pthread_self(), "hp-ringbuf");
  // Signals belong to Node's main thread.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  while (!batcher->stopped()) {
    int n = ring_buffer__poll(ring, timeoutMs);
    // A timeout: records below the BPF side's wakeup threshold sent no
    // wakeup, so collect them now.
    if (n == 0) n = ring_buffer__consume(ring);
    if (n == -EINTR) continue;
    if (n < 0) {
      if (n != -ECANCELED) batcher->SetPollErrno(-n);
      break;
    }
    if (batcher->Flush() != 0) break;
  }
}

// The batch stays in flight until the promise returned by onBatch settles;
// a rejection is re-thrown so it is not swallowed.
void ProcessedWhenSettled(Napi::Env env, Napi::Object promise,
                          std::shared_ptr<Batcher> batcher) {
  Napi::Function then = promise.Get("then").As<Napi::Function>();
  Napi::Function fulfilled =
      Napi::Function::New(env, [batcher](const Napi::CallbackInfo&) { batcher->Processed(); });
  Napi::Function rejected = Napi::Function::New(env, [batcher](const Napi::CallbackInfo& info) {
    batcher->Processed();
    throw Napi::Error(info.Env(), info[0]);
  });
  then.Call(promise, {fulfilled, rejected});
}

bool StillExists(unsigned id, bool program) {
  int fd = program ? bpf_prog_get_fd_by_id(id) : bpf_map_get_fd_by_id(id);
  if (fd >= 0) {
    close(fd);
    return true;
  }
  return errno != ENOENT;
}

void WaitUntilReleased(const std::vector<unsigned>& programIds,
                       const std::vector<unsigned>& mapIds, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    bool left = false;
    for (unsigned id : programIds) left = left || StillExists(id, true);
    for (unsigned id : mapIds) left = left || StillExists(id, false);
    if (!left || std::chrono::steady_clock::now() >= deadline) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string SizeText(std::uint64_t bytes) { return std::to_string(bytes); }

}  // namespace

void DeliverBatch(Napi::Env env, Napi::Function onBatch, BatchSink* sink, Batch* batch) {
  if (env == nullptr || sink == nullptr || !sink->batcher) {
    FreeBatch(batch);
    return;
  }
  std::shared_ptr<Batcher> batcher = sink->batcher;
  if (batcher->stopped() || onBatch.IsEmpty()) {
    FreeBatch(batch);
    batcher->Processed();
    return;
  }
  const std::uint32_t records = batch->records;
  std::uint8_t* data = batch->data;
  const std::size_t size = batch->size;
  batch->data = nullptr;
  FreeBatch(batch);

  bool settledLater = false;
  try {
    // The Buffer owns the batch memory from here on: no copy.
    Napi::Buffer<std::uint8_t> buffer = Napi::Buffer<std::uint8_t>::New(
        env, data, size, [](Napi::Env, std::uint8_t* bytes) { std::free(bytes); });
    data = nullptr;
    Napi::Value result = onBatch.Call({buffer, Napi::Number::New(env, records)});
    if (result.IsPromise()) {
      ProcessedWhenSettled(env, result.As<Napi::Object>(), batcher);
      settledLater = true;
    }
  } catch (const Napi::Error& error) {
    // An exception from onBatch is the application's: report it as
    // uncaught. While the environment shuts down there is no one to tell.
    std::free(data);
    if (!error.IsEmpty()) napi_fatal_exception(env, error.Value());
  } catch (...) {
    std::free(data);
  }
  if (!settledLater) batcher->Processed();
}

Napi::Function Sensor::Define(Napi::Env env) {
  return DefineClass(env, "Sensor",
                     {
                         InstanceMethod<&Sensor::SetConfig>("setConfig"),
                         InstanceMethod<&Sensor::SetAllowList>("setAllowList"),
                         InstanceMethod<&Sensor::Start>("start"),
                         InstanceMethod<&Sensor::Counters>("counters"),
                         InstanceMethod<&Sensor::Stats>("stats"),
                         InstanceMethod<&Sensor::Programs>("programs"),
                         InstanceMethod<&Sensor::Maps>("maps"),
                         InstanceMethod<&Sensor::Close>("close"),
                         InstanceMethod<&Sensor::AttachUprobe>("attachUprobe"),
                         InstanceMethod<&Sensor::DetachUprobe>("detachUprobe"),
                         InstanceMethod<&Sensor::SetGoTlsBinary>("setGoTlsBinary"),
                         InstanceMethod<&Sensor::SetGoH2Binary>("setGoH2Binary"),
                     });
}

Sensor::Sensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sensor>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  const char* what = "options";
  Napi::Object o = args::ObjectAt(info, 0, "Sensor options");
  options_.objectPath = *args::String(o, "objectPath", what, true);
  options_.attach = *args::String(o, "attach", what, true);
  if (options_.attach != "tracepoint" && options_.attach != "kprobe") {
    throw Napi::TypeError::New(env, "options.attach must be 'tracepoint' or 'kprobe'");
  }
  const std::uint64_t page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  std::uint64_t ringBytes = *args::Integer(o, "ringBufferBytes", what, 1,
                                           std::numeric_limits<std::int32_t>::max(), true);
  if ((ringBytes & (ringBytes - 1)) != 0 || ringBytes % page != 0) {
    throw Napi::TypeError::New(
        env, "options.ringBufferBytes must be a power of two and a multiple of the page size (" +
                 std::to_string(page) + " bytes), e.g. 16777216; got " + SizeText(ringBytes));
  }
  options_.ringBufferBytes = static_cast<std::uint32_t>(ringBytes);
  options_.loadOnly = args::Boolean(o, "loadOnly", what, false);
  options_.verbose = args::Boolean(o, "verbose", what, false);
  options_.goTls = args::Boolean(o, "goTls", what, true);
  options_.maxBatchBytes = static_cast<std::size_t>(
      args::Integer(o, "maxBatchBytes", what, 4096, 256u << 20, false).value_or(1u << 20));
  options_.maxInFlightBatches = static_cast<std::uint32_t>(
      args::Integer(o, "maxInFlightBatches", what, 1, 1024, false).value_or(8));
  options_.pollTimeoutMs =
      static_cast<int>(args::Integer(o, "pollTimeoutMs", what, 0, 10000, false).value_or(10));

  Open(env);
  AddCleanupHook();
}

Sensor::~Sensor() { Shutdown(); }

// open -> size the ring buffer -> choose programs -> load -> attach.
void Sensor::Open(Napi::Env env) {
  LibbpfLog log(options_.verbose);
  BpfFailure failure;
  object_ = std::make_unique<BpfObject>();
  if (object_->Open(options_.objectPath, &failure) != 0) throw MakeError(env, failure);

  bpf_map* events = object_->FindMap(kRingBufferMap);
  if (events == nullptr || bpf_map__type(events) != BPF_MAP_TYPE_RINGBUF) {
    throw MakeCodedError(env, "HP_BPF_MAP",
                         "BPF object '" + options_.objectPath +
                             "' has no ring buffer map named '" + kRingBufferMap +
                             "': is it the sensor's object?",
                         ENOENT);
  }
  if (int err = bpf_map__set_max_entries(events, options_.ringBufferBytes)) {
    throw MakeError(env, {Stage::kMap, -err, "map 'hp_events'", "", "setting its size",
                          LibbpfLog::CurrentTail()});
  }
  const std::string attach = options_.attach;
  const bool goTls = options_.goTls;
  object_->SelectPrograms([&attach, goTls](const bpf_program* p) { return Wanted(p, attach, goTls); });
  if (object_->Load(&failure) != 0) throw MakeError(env, failure);
  if (!options_.loadOnly && object_->AttachAll(&failure) != 0) throw MakeError(env, failure);
}

void Sensor::EnsureOpen(Napi::Env env) const {
  if (closed_) throw MakeCodedError(env, "HP_SENSOR_CLOSED", "the sensor is closed");
}

bpf_map* Sensor::RequireMap(Napi::Env env, const char* name, std::uint32_t keySize,
                            std::uint32_t valueSize) const {
  EnsureOpen(env);
  bpf_map* map = object_->FindMap(name);
  if (map == nullptr) {
    throw MakeCodedError(env, "HP_BPF_MAP",
                         std::string("BPF object has no map named '") + name + "'", ENOENT);
  }
  if (bpf_map__key_size(map) != keySize || bpf_map__value_size(map) != valueSize) {
    throw MakeCodedError(
        env, "HP_ABI_MISMATCH",
        std::string("map '") + name + "' has key/value sizes " +
            std::to_string(bpf_map__key_size(map)) + "/" +
            std::to_string(bpf_map__value_size(map)) + " but abi.h expects " +
            std::to_string(keySize) + "/" + std::to_string(valueSize) +
            ": the BPF object and the addon were built from different abi.h; rebuild both");
  }
  return map;
}

Napi::Value Sensor::SetConfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = args::ObjectAt(info, 0, "config");
  const std::uint64_t u32 = std::numeric_limits<std::uint32_t>::max();
  struct hp_config config {};
  config.self_tgid = static_cast<__u32>(*args::Integer(o, "selfTgid", "config", 0, u32, true));
  config.flags = static_cast<__u32>(*args::Integer(o, "flags", "config", 0, u32, true));
  config.capture_bytes =
      static_cast<__u32>(*args::Integer(o, "captureBytes", "config", 0, HP_CAPTURE_MAX, true));
  config.wakeup_bytes =
      static_cast<__u32>(*args::Integer(o, "wakeupBytes", "config", 0, u32, true));

  bpf_map* map = RequireMap(env, "hp_config", sizeof(__u32), sizeof(config));
  __u32 key = 0;
  if (bpf_map_update_elem(bpf_map__fd(map), &key, &config, BPF_ANY) != 0) {
    throw MakeError(env, {Stage::kMap, errno, "map 'hp_config'", "", "writing the config", ""});
  }
  return env.Undefined();
}

Napi::Value Sensor::SetAllowList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) {
    throw Napi::TypeError::New(
        env, "setAllowList(kind: 'pid' | 'port' | 'cgroup', values: Array<number | bigint>)");
  }
  const std::string kind = info[0].As<Napi::String>().Utf8Value();
  const char* mapName;
  std::uint32_t keySize;
  std::uint64_t max;
  if (kind == "pid") {
    mapName = "hp_pid_allow", keySize = 4, max = std::numeric_limits<std::uint32_t>::max();
  } else if (kind == "port") {
    mapName = "hp_port_allow", keySize = 2, max = std::numeric_limits<std::uint16_t>::max();
  } else if (kind == "cgroup") {
    mapName = "hp_cgroup_allow", keySize = 8, max = std::numeric_limits<std::uint64_t>::max();
  } else {
    throw Napi::TypeError::New(env, "setAllowList kind must be 'pid', 'port' or 'cgroup'");
  }
  Napi::Array values = info[1].As<Napi::Array>();
  std::set<std::uint64_t> wanted;
  for (std::uint32_t i = 0; i < values.Length(); i++) {
    wanted.insert(args::IntegerValue(values.Get(i), kind + " allow list entry " + std::to_string(i),
                                     0, max));
  }

  bpf_map* map = RequireMap(env, mapName, keySize, 1);
  if (wanted.size() > bpf_map__max_entries(map)) {
    throw Napi::RangeError::New(env, "the " + kind + " allow list holds at most " +
                                         std::to_string(bpf_map__max_entries(map)) +
                                         " entries; got " + std::to_string(wanted.size()));
  }
  // Add first, then remove what is no longer wanted: the filter is never
  // momentarily empty.
  const int fd = bpf_map__fd(map);
  const std::string subject = std::string("map '") + mapName + "'";
  const __u8 one = 1;
  for (std::uint64_t value : wanted) {
    std::uint8_t key[8];
    std::memcpy(key, &value, keySize);  // little-endian host: low bytes first
    if (bpf_map_update_elem(fd, key, &one, BPF_ANY) != 0) {
      throw MakeError(env, {Stage::kMap, errno, subject, "", "adding an entry", ""});
    }
  }
  std::vector<std::uint64_t> stale;
  std::uint8_t previous[8] = {};
  std::uint8_t next[8] = {};
  bool first = true;
  while (bpf_map_get_next_key(fd, first ? nullptr : previous, next) == 0) {
    first = false;
    std::uint64_t value = 0;
    std::memcpy(&value, next, keySize);
    if (wanted.count(value) == 0) stale.push_back(value);
    std::memcpy(previous, next, keySize);
  }
  for (std::uint64_t value : stale) {
    std::uint8_t key[8];
    std::memcpy(key, &value, keySize);
    if (bpf_map_delete_elem(fd, key) != 0 && errno != ENOENT) {
      throw MakeError(env, {Stage::kMap, errno, subject, "", "removing an entry", ""});
    }
  }
  return env.Undefined();
}

Napi::Value Sensor::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  if (started_) throw MakeCodedError(env, "HP_SENSOR_STARTED", "the sensor is already started");
  if (info.Length() < 1 || !info[0].IsFunction()) {
    throw Napi::TypeError::New(env, "start(onBatch: (batch: Buffer, records: number) => void)");
  }
  bpf_map* events = object_->FindMap(kRingBufferMap);
  auto batcher = std::make_shared<Batcher>(
      options_.maxBatchBytes, options_.maxInFlightBatches,
      [this](Batch* batch) { return onBatch_.NonBlockingCall(batch) == napi_ok; });
  {
    LibbpfLog log(options_.verbose);
    ring_ = ring_buffer__new(bpf_map__fd(events), OnSample, batcher.get(), nullptr);
    if (ring_ == nullptr) {
      throw MakeError(env, {Stage::kMap, errno, "map 'hp_events'", "", "opening the ring buffer",
                            LibbpfLog::CurrentTail()});
    }
  }
  auto* sink = new BatchSink{batcher};
  onBatch_ = BatchFunction::New(env, info[0].As<Napi::Function>(), "hydrophone.ringbuf", 0, 1,
                                sink, [](Napi::Env, void*, BatchSink* context) { delete context; });
  batcher_ = batcher;
  poller_ = std::thread(PollLoop, ring_, batcher_.get(), options_.pollTimeoutMs);
  started_ = true;
  // A running sensor is not garbage collected away: close() lets it go.
  Ref();
  // Env cleanup hooks run last-added first: ours must stop the thread before
  // the thread-safe function's own hook tears it down.
  RemoveCleanupHook();
  AddCleanupHook();
  return env.Undefined();
}

Napi::Value Sensor::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = RequireMap(env, "hp_counters", sizeof(__u32), sizeof(__u64));
  if (bpf_map__type(map) != BPF_MAP_TYPE_PERCPU_ARRAY ||
      bpf_map__max_entries(map) < HP_CTR__COUNT) {
    throw MakeCodedError(env, "HP_ABI_MISMATCH",
                         "map 'hp_counters' must be a per-CPU array of at least " +
                             std::to_string(HP_CTR__COUNT) + " __u64");
  }
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    throw MakeError(env, {Stage::kMap, -cpus, "possible CPUs", "", "counting them", ""});
  }
  std::vector<__u64> values(static_cast<std::size_t>(cpus));
  Napi::Array perCpu = Napi::Array::New(env, HP_CTR__COUNT);
  Napi::Array total = Napi::Array::New(env, HP_CTR__COUNT);
  for (__u32 counter = 0; counter < HP_CTR__COUNT; counter++) {
    if (bpf_map_lookup_elem(bpf_map__fd(map), &counter, values.data()) != 0) {
      throw MakeError(env, {Stage::kMap, errno, "map 'hp_counters'", "", "reading counters", ""});
    }
    Napi::Array row = Napi::Array::New(env, values.size());
    __u64 sum = 0;
    for (std::size_t cpu = 0; cpu < values.size(); cpu++) {
      row.Set(static_cast<std::uint32_t>(cpu), Napi::BigInt::New(env, static_cast<std::uint64_t>(values[cpu])));
      sum += values[cpu];
    }
    perCpu.Set(counter, row);
    total.Set(counter, Napi::BigInt::New(env, static_cast<std::uint64_t>(sum)));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("perCpu", perCpu);
  out.Set("total", total);
  return out;
}

Napi::Value Sensor::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatcherStats stats = batcher_ ? batcher_->Stats() : BatcherStats{};
  Napi::Object out = Napi::Object::New(env);
  out.Set("batches", Napi::Number::New(env, static_cast<double>(stats.batches)));
  out.Set("records", Napi::Number::New(env, static_cast<double>(stats.records)));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(stats.bytes)));
  out.Set("waitsForJs", Napi::Number::New(env, static_cast<double>(stats.waitsForJs)));
  out.Set("inFlight", Napi::Number::New(env, stats.inFlight));
  out.Set("pollErrno", Napi::Number::New(env, stats.pollErrno));
  return out;
}

Napi::Value Sensor::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  Napi::Array out = Napi::Array::New(env);
  bpf_program* program;
  bpf_object__for_each_program(program, object_->get()) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", bpf_program__name(program));
    entry.Set("section", bpf_program__section_name(program));
    entry.Set("loaded", BpfObject::IsLoaded(program));
    entry.Set("attached", object_->IsAttached(program));
    entry.Set("id", Napi::Number::New(env, ProgramId(bpf_program__fd(program))));
    out.Set(out.Length(), entry);
  }
  return out;
}

Napi::Value Sensor::Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  Napi::Array out = Napi::Array::New(env);
  bpf_map* map;
  bpf_object__for_each_map(map, object_->get()) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", bpf_map__name(map));
    entry.Set("id", Napi::Number::New(env, MapId(bpf_map__fd(map))));
    out.Set(out.Length(), entry);
  }
  return out;
}

// setGoTlsBinary(index, layout | null): one entry of "hp_go_tls_bins"
// (struct hp_go_tls_binary, bpf/abi.h); null clears it.
Napi::Value Sensor::SetGoTlsBinary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage =
      "setGoTlsBinary(index: number, layout: { readAddr, writeAddr, itabTcp, itabUnix, connOff, "
      "fdOff, sysfdOff, pie, readSpills } | null)";
  if (info.Length() < 2 || !info[0].IsNumber() || !(info[1].IsObject() || info[1].IsNull())) {
    throw Napi::TypeError::New(env, usage);
  }
  const std::uint64_t index =
      args::IntegerValue(info[0], "Go TLS binary index", 0, HP_GO_TLS_MAX_BINARIES - 1);
  hp_go_tls_binary value{};
  if (info[1].IsObject()) {
    const char* what = "Go TLS binary layout";
    Napi::Object o = info[1].As<Napi::Object>();
    const std::uint64_t u64 = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t u32 = std::numeric_limits<std::uint32_t>::max();
    value.read_addr = *args::Integer(o, "readAddr", what, 0, u64, true);
    value.write_addr = *args::Integer(o, "writeAddr", what, 0, u64, true);
    value.itab_tcp = *args::Integer(o, "itabTcp", what, 0, u64, true);
    value.itab_unix = *args::Integer(o, "itabUnix", what, 0, u64, true);
    value.conn_off = static_cast<__u32>(*args::Integer(o, "connOff", what, 0, u32, true));
    value.fd_off = static_cast<__u32>(*args::Integer(o, "fdOff", what, 0, u32, true));
    value.sysfd_off = static_cast<__u32>(*args::Integer(o, "sysfdOff", what, 0, u32, true));
    value.pie = args::Boolean(o, "pie", what, false) ? 1 : 0;
    value.read_spills = args::Boolean(o, "readSpills", what, false) ? 1 : 0;
  }
  bpf_map* map = RequireMap(env, "hp_go_tls_bins", sizeof(__u32), sizeof(value));
  const __u32 key = static_cast<__u32>(index);
  if (bpf_map_update_elem(bpf_map__fd(map), &key, &value, BPF_ANY) != 0) {
    throw MakeError(env, {Stage::kMap, errno, "map 'hp_go_tls_bins'", "", "writing a Go binary's layout", ""});
  }
  return env.Undefined();
}

// setGoH2Binary(index, layout | null): one entry of "hp_go_h2_bins"
// (struct hp_go_h2_binary, bpf/abi.h), the same index as the binary's Go
// TLS entry; null clears it.
Napi::Value Sensor::SetGoH2Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage =
      "setGoH2Binary(index: number, layout: { clientReadAddr, serverReadAddr, writeAddr, itabTls, "
      "itabSyscallConn, clientConnOff, serverConnOff, loopyConnOff, syscallConnOff, metaFrameOff, "
      "metaFieldsOff, metaTruncatedOff, streamIdOff, frameFlagsOff, fieldSize, fieldNameOff, "
      "fieldValueOff, fieldSensitiveOff, pie, and net/http's: nhServerReadAddr, nhClientReadAddr, "
      "nhServerWriteAddr, nhClientWriteAddr, nhItabServerCtx, nhServerConnOff, nhReadLoopCcOff, "
      "nhClientConnOff, nhResStreamIdOff, nhResEndStreamOff, nhMetaFrameOff, nhMetaFieldsOff, "
      "nhMetaTruncatedOff, nhStreamIdOff, nhFrameFlagsOff, nhFieldSize, nhFieldNameOff, "
      "nhFieldValueOff, nhFieldSensitiveOff } | null)";
  if (info.Length() < 2 || !info[0].IsNumber() || !(info[1].IsObject() || info[1].IsNull())) {
    throw Napi::TypeError::New(env, usage);
  }
  const std::uint64_t index =
      args::IntegerValue(info[0], "Go HTTP/2 binary index", 0, HP_GO_TLS_MAX_BINARIES - 1);
  hp_go_h2_binary value{};
  if (info[1].IsObject()) {
    const char* what = "Go HTTP/2 binary layout";
    Napi::Object o = info[1].As<Napi::Object>();
    const std::uint64_t u64 = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t u32 = std::numeric_limits<std::uint32_t>::max();
    auto off = [&](const char* key) { return static_cast<__u32>(*args::Integer(o, key, what, 0, u32, true)); };
    value.client_read_addr = *args::Integer(o, "clientReadAddr", what, 0, u64, true);
    value.server_read_addr = *args::Integer(o, "serverReadAddr", what, 0, u64, true);
    value.write_addr = *args::Integer(o, "writeAddr", what, 0, u64, true);
    value.itab_tls = *args::Integer(o, "itabTls", what, 0, u64, true);
    value.itab_syscall_conn = *args::Integer(o, "itabSyscallConn", what, 0, u64, true);
    value.client_conn_off = off("clientConnOff");
    value.server_conn_off = off("serverConnOff");
    value.loopy_conn_off = off("loopyConnOff");
    value.syscall_conn_off = off("syscallConnOff");
    value.meta_frame_off = off("metaFrameOff");
    value.meta_fields_off = off("metaFieldsOff");
    value.meta_truncated_off = off("metaTruncatedOff");
    value.stream_id_off = off("streamIdOff");
    value.frame_flags_off = off("frameFlagsOff");
    value.field_size = off("fieldSize");
    value.field_name_off = off("fieldNameOff");
    value.field_value_off = off("fieldValueOff");
    value.field_sensitive_off = off("fieldSensitiveOff");
    value.pie = args::Boolean(o, "pie", what, false) ? 1 : 0;
    value.nh_server_read_addr = *args::Integer(o, "nhServerReadAddr", what, 0, u64, true);
    value.nh_client_read_addr = *args::Integer(o, "nhClientReadAddr", what, 0, u64, true);
    value.nh_server_write_addr = *args::Integer(o, "nhServerWriteAddr", what, 0, u64, true);
    value.nh_client_write_addr = *args::Integer(o, "nhClientWriteAddr", what, 0, u64, true);
    value.nh_itab_server_ctx = *args::Integer(o, "nhItabServerCtx", what, 0, u64, true);
    value.nh_server_conn_off = off("nhServerConnOff");
    value.nh_read_loop_cc_off = off("nhReadLoopCcOff");
    value.nh_client_conn_off = off("nhClientConnOff");
    value.nh_res_stream_id_off = off("nhResStreamIdOff");
    value.nh_res_end_stream_off = off("nhResEndStreamOff");
    value.nh_meta_frame_off = off("nhMetaFrameOff");
    value.nh_meta_fields_off = off("nhMetaFieldsOff");
    value.nh_meta_truncated_off = off("nhMetaTruncatedOff");
    value.nh_stream_id_off = off("nhStreamIdOff");
    value.nh_frame_flags_off = off("nhFrameFlagsOff");
    value.nh_field_size = off("nhFieldSize");
    value.nh_field_name_off = off("nhFieldNameOff");
    value.nh_field_value_off = off("nhFieldValueOff");
    value.nh_field_sensitive_off = off("nhFieldSensitiveOff");
  }
  bpf_map* map = RequireMap(env, "hp_go_h2_bins", sizeof(__u32), sizeof(value));
  const __u32 key = static_cast<__u32>(index);
  if (bpf_map_update_elem(bpf_map__fd(map), &key, &value, BPF_ANY) != 0) {
    throw MakeError(env, {Stage::kMap, errno, "map 'hp_go_h2_bins'", "", "writing a Go binary's HTTP/2 layout", ""});
  }
  return env.Undefined();
}

// attachUprobe({ program, binaryPath, functionName | offset, retprobe?, cookie? }) -> link id.
// A refusal (no such file, bad offset...) throws a coded Error.
Napi::Value Sensor::AttachUprobe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  const char* what = "attachUprobe options";
  Napi::Object o = args::ObjectAt(info, 0, what);
  const std::string name = *args::String(o, "program", what, true);
  const std::string binaryPath = *args::String(o, "binaryPath", what, true);
  const std::string functionName = args::String(o, "functionName", what, false).value_or("");
  const std::optional<std::uint64_t> offset =
      args::Integer(o, "offset", what, 0, std::numeric_limits<std::int64_t>::max(), false);
  const bool retprobe = args::Boolean(o, "retprobe", what, false);
  // bpf_get_attach_cookie() in the program (kernel 5.15+).
  const std::uint64_t cookie =
      args::Integer(o, "cookie", what, 0, std::numeric_limits<std::uint64_t>::max(), false)
          .value_or(0);
  if (functionName.empty() == !offset.has_value()) {
    throw Napi::TypeError::New(env, "attachUprobe needs exactly one of functionName and offset");
  }
  bpf_program* program = bpf_object__find_program_by_name(object_->get(), name.c_str());
  if (program == nullptr || !BpfObject::IsUprobe(program) || !BpfObject::IsLoaded(program)) {
    throw MakeCodedError(env, "HP_BPF_PROGRAM",
                         "no loaded uprobe program named '" + name + "' in the sensor's object",
                         ENOENT);
  }
  LibbpfLog log(options_.verbose);
  BpfFailure failure;
  int id = object_->AttachUprobeLink(program, binaryPath, functionName, offset.value_or(0),
                                     retprobe, cookie, &failure);
  if (id < 0) throw MakeError(env, failure);
  return Napi::Number::New(env, id);
}

// detachUprobe(id) -> whether it was attached.
Napi::Value Sensor::DetachUprobe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw Napi::TypeError::New(env, "detachUprobe(id: number)");
  }
  return Napi::Boolean::New(env, object_->DetachLink(info[0].As<Napi::Number>().Int32Value()) == 0);
}

Napi::Value Sensor::Close(const Napi::CallbackInfo& info) {
  const bool wasRunning = started_ && !closed_;
  std::vector<unsigned> programIds, mapIds;
  if (!closed_) {
    bpf_program* program;
    bpf_object__for_each_program(program, object_->get()) {
      if (unsigned id = ProgramId(bpf_program__fd(program))) programIds.push_back(id);
    }
    bpf_map* map;
    bpf_object__for_each_map(map, object_->get()) {
      if (unsigned id = MapId(bpf_map__fd(map))) mapIds.push_back(id);
    }
  }
  Shutdown();
  if (wasRunning) Unref();
  // The kernel frees programs, then the maps they used, after an RCU grace
  // period: wait for that (bounded), so whoever checks right after close()
  // finds nothing left.
  WaitUntilReleased(programIds, mapIds, std::chrono::seconds(1));
  return info.Env().Undefined();
}

// stop the thread -> release the function -> free the ring -> destroy links
// -> close the object. Idempotent.
void Sensor::Shutdown() {
  if (closed_) return;
  closed_ = true;
  if (batcher_) batcher_->Stop();
  if (poller_.joinable()) poller_.join();
  if (started_) onBatch_.Release();
  if (ring_ != nullptr) ring_buffer__free(ring_);
  ring_ = nullptr;
  object_.reset();
  RemoveCleanupHook();
}

void Sensor::AddCleanupHook() {
  if (cleanupHook_) return;
  if (napi_add_env_cleanup_hook(env_, OnEnvCleanup, this) == napi_ok) cleanupHook_ = true;
}

void Sensor::RemoveCleanupHook() {
  if (!cleanupHook_) return;
  napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
  cleanupHook_ = false;
}

// The process (or worker) exits without close(): leave nothing in the kernel.
void Sensor::OnEnvCleanup(void* self) {
  auto* sensor = static_cast<Sensor*>(self);
  sensor->cleanupHook_ = false;
  sensor->Shutdown();
}

}  // namespace hp
