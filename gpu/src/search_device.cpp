// The device worker: one host thread keeps `streams` launches in flight on CUDA streams, each
// with its own staging slot, results buffer, cancel word and completion event. It sleeps on the
// oldest launch's event, collects its candidates and hashes, and refills the pipeline with the
// current work set. One slot more than `streams` is kept free for new work, which set_work
// launches at once from its own thread, already awake, rather than waking the worker; launches
// of a dropped job still in flight stop early (set_work writes their ids into their slots' cancel
// words, which every block checks when it starts). Each launch takes the current launch shape;
// with tuning on, that is the stored shape for the DAG mined, or, while none is known, each
// candidate shape in turn (launch_tuning.hpp), every one of them mining the current work.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <thread>

#include <cuda_runtime_api.h>
#include <pthread.h>

#include "cuda_check.hpp"
#include "dagminer/core/work_set.hpp"
#include "dagminer/gpu/gpu_device.hpp"
#include "dagminer/gpu/gpu_telemetry.hpp"
#include "dagminer/gpu/job_blob.hpp"
#include "fault_kernel.hpp"
#include "kernels.hpp"
#include "telemetry_sampler.hpp"

namespace dagminer::gpu {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto telemetry_period = std::chrono::seconds(1);

// What one launch searches.
struct Pick {
  std::shared_ptr<const LightCache> epoch;
  LaunchShape shape;
  JobBlob blob{};
  bool first = false;  // the item's first launch
};

// Streams and events belong to the device current when they are made: both make it current.
struct Stream {
  explicit Stream(int device) {
    use_device(device);
    check_cuda(cudaStreamCreateWithFlags(&handle, cudaStreamNonBlocking), device, "cudaStreamCreate");
  }
  ~Stream() { (void)cudaStreamDestroy(handle); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t handle = nullptr;
};

struct Event {
  Event(int device, unsigned flags) {
    use_device(device);
    check_cuda(cudaEventCreateWithFlags(&handle, flags), device, "cudaEventCreate");
  }
  ~Event() { (void)cudaEventDestroy(handle); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t handle = nullptr;
};

// One launch in flight: its stream, staging slot, results buffer and completion event.
struct StreamSlot {
  StreamSlot(int device, GpuMemoryManager& memory, std::uint32_t capacity)
      : stream(device),
        staging(memory.acquire_staging()),
        results(memory.acquire_results(capacity)),
        cancel(memory.acquire_staging()),
        // Blocking sync: the worker sleeps while it waits instead of spinning a CPU core. Timed:
        // the tuner's trials are measured by the GPU's completion times.
        done(device, cudaEventBlockingSync) {
    check_cuda(cudaMemset(cancel.device(), 0, sizeof(std::uint64_t)), device, "cancel word reset");  // ids start at 1
  }
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;

  Stream stream;
  BufferPair staging;
  BufferPair results;
  BufferPair cancel;  // one word: the id of a launch of this slot to stop
  Event done;
  // Under the device's mutex: a launch is in flight, its id and tag, and whether set_work cancelled it.
  bool busy = false;
  bool cancelled = false;
  std::uint64_t launch_id = 0;
  std::uint64_t tag = 0;
  LaunchShape shape;
  std::uint64_t tuning = 0;       // the tuning the launch was a trial of (tuning_generation_), 0 for none
  std::shared_ptr<DagLease> dag;  // keeps the launch's DAG resident until it completes
  // When the launch was enqueued (steady clock ticks; 0 before): set by the launching thread
  // without the mutex, read by status() for the launch deadline.
  std::atomic<SteadyClock::rep> issued{0};
};

void validate(const GpuDeviceOptions& o) {
  validate(o.shape);
  if (o.results_capacity == 0) throw std::invalid_argument("GPU results capacity must be at least 1");
  if (o.tuning) (void)ShapeTrials(o.tuning->candidates, o.tuning->trial_seconds, o.tuning->rounds);  // throws if bad
}

// The most streams any shape of these options takes: the slots kept.
int most_streams(const GpuDeviceOptions& o) {
  int n = o.shape.streams;
  if (o.tuning)
    for (const auto& c : o.tuning->candidates) n = std::max(n, c.streams);
  return n;
}

class CudaSearchDevice final : public GpuSearchDevice {
 public:
  CudaSearchDevice(int index, const GpuDeviceOptions& options)
      : index_(index), options_(options), memory_(make_device_memory_manager(index, options.budget)), control_(index) {
    validate(options_);
    use_device(index_);
    cudaDeviceProp p{};
    check_cuda(cudaGetDeviceProperties(&p, index_), index_, "cudaGetDeviceProperties");
    info_ = {"gpu" + std::to_string(index_), "cuda", p.name, p.totalGlobalMem,
             std::to_string(p.major) + "." + std::to_string(p.minor)};
    sm_count_ = p.multiProcessorCount;
    int driver = 0;
    check_cuda(cudaDriverGetVersion(&driver), index_, "cudaDriverGetVersion");
    if (auto t = open_gpu_telemetry(index_); t.source)
      telemetry_ = std::make_unique<TelemetrySampler>(std::move(t.source), "health-" + info_.id, telemetry_period);
    else telemetry_error_ = std::move(t.error);
    // The power limit (from NVML's first reading; CUDA does not tell it) is in the key: a card
    // capped lower is bound by its power sooner and may want another shape. Without NVML it is
    // left out.
    std::optional<std::uint32_t> power_limit;
    if (const auto reading = telemetry_ ? telemetry_->latest() : std::nullopt; reading && reading->power_limit_w)
      power_limit = static_cast<std::uint32_t>(std::lround(*reading->power_limit_w));
    key_ = {p.name, p.multiProcessorCount, p.totalGlobalMem, power_limit, driver, search_kernel_version, 0};
    shape_ = options_.shape;
    // An unknown register build fails here, not at the first launch; and each build's kernel is
    // loaded now (the occupancy query loads it), not by its first launch, inside a trial.
    (void)resident_hashes(shape_);
    if (options_.tuning)
      for (const auto& c : options_.tuning->candidates) (void)resident_hashes(c);
    for (int s = 0; s <= most_streams(options_); ++s)  // one spare: new work never waits for a stream
      slots_.push_back(std::make_unique<StreamSlot>(index_, *memory_, options_.results_capacity));
  }

  ~CudaSearchDevice() override {
    stop();
    if (hung_) {
      // Freeing device memory waits for the hung launch, forever: leave it to the process's end.
      (void)memory_.release();
      for (auto& slot : slots_) (void)slot.release();
    }
  }

  DeviceInfo describe() const override { return info_; }

  void prepare(std::shared_ptr<const LightCache> epoch) override {
    if (epoch) (void)memory_->acquire_dag(*epoch);  // resident until evicted for room
  }

  void set_work(std::vector<WorkItem> work) override {
    {
      std::lock_guard lock(mutex_);
      work_.assign(std::move(work));
      ++work_version_;
      use_device(index_);
      // Launches of dropped items stop as soon as their cancel words land; the others run on.
      for (auto& slot : slots_) {
        if (!slot->busy || work_.contains(slot->tag)) continue;
        slot->cancelled = true;
        auto* word = static_cast<std::uint64_t*>(slot->cancel.host());
        *word = slot->launch_id;
        check_cuda(cudaMemcpyAsync(slot->cancel.device(), word, sizeof *word, cudaMemcpyHostToDevice, control_.handle), index_,
                   "cancel word upload");
        memory_->record_transfer(sizeof *word, true);
      }
      launch_now();
    }
    wake_.release();
  }

  void start(DeviceSinks sinks) override {
    std::lock_guard lock(mutex_);
    if (running_) return;
    if (worker_.joinable()) worker_.join();  // it stopped on a fault
    running_ = true;
    fault_.clear();
    sinks_ = std::move(sinks);
    worker_ = std::thread([this] { run(); });
  }

  void stop() override {
    bool hung = false;
    {
      std::lock_guard lock(mutex_);
      running_ = false;
      hung = hung_;
    }
    wake_.release();
    if (!worker_.joinable()) return;
    if (hung) worker_.detach();  // it waits for a launch that never completes
    else worker_.join();
  }

  DeviceCounters counters() const override {
    return {hashes_.load(), candidates_.load(), dropped_.load(), replaced_hashes_.load()};
  }
  DeviceStatusReport status() const override {
    DeviceStatusReport report;
    report.memory = memory_stats();
    if (telemetry_) report.telemetry = telemetry_->latest();
    std::lock_guard lock(mutex_);
    if (fault_.empty()) note_overdue_launch();
    report.fault = fault_;
    report.fault_needs_restart = fault_needs_restart_;
    report.launch = LaunchReport{to_string(current_shape()), launch_origin(), store_error_};
    return report;
  }

  std::string telemetry_error() const override { return telemetry_error_; }

  PipelineCounters pipeline_counters() const override { return {launches_.load()}; }

  MemoryStats memory_stats() const override { return memory_->stats(); }
  GpuMemoryManager& memory() override { return *memory_; }

  std::vector<Item64> read_dag_items(const LightCache& epoch, std::span<const std::uint32_t> indices) override {
    const DagLease lease = memory_->acquire_dag(epoch);
    const std::uint64_t items = lease.buffers().dag_bytes / dataset_item_bytes;
    use_device(index_);
    std::vector<Item64> out(indices.size());
    for (std::size_t i = 0; i < indices.size(); ++i) {
      if (indices[i] >= items)
        throw std::out_of_range("DAG item " + std::to_string(indices[i]) + " is beyond the " + std::to_string(items) +
                                " items of " + to_string(lease.key()));
      const auto* src = static_cast<const std::uint8_t*>(lease.buffers().dag) + std::uint64_t{indices[i]} * dataset_item_bytes;
      check_cuda(cudaMemcpy(&out[i], src, sizeof(Item64), cudaMemcpyDeviceToHost), index_, "reading back a DAG item");
      memory_->record_transfer(sizeof(Item64), false);
    }
    return out;
  }

  std::string fault() const override {
    std::lock_guard lock(mutex_);
    return fault_;
  }

  TuningReport tuning() const override {
    std::lock_guard lock(mutex_);
    TuningReport r;
    r.state = tuning_state_;
    r.shape = current_shape();
    r.key = tuned_dag_ ? key_.text() : "";
    if (trials_) r.trials = trials_->trials();
    r.store_error = store_error_;
    return r;
  }

 private:
  void run() {
    pthread_setname_np(pthread_self(), ("search-" + info_.id).c_str());  // for top -H and /proc
    try {
      use_device(index_);
      std::uint64_t seen_version = ~std::uint64_t{0};  // DAG leases follow the work set
      for (;;) {
        StreamSlot* free = nullptr;
        StreamSlot* oldest = nullptr;
        Pick pick;
        {
          std::lock_guard lock(mutex_);
          if (!running_) break;
          if (work_version_ != seen_version) {
            seen_version = work_version_;
            drop_unused_dags();
          }
          free = slot_for_launch();
          if (free && work_.has_work()) {
            take(*free, pick);
          } else {
            free = nullptr;
            for (auto& s : slots_)
              if (s->busy && (!oldest || s->launch_id < oldest->launch_id)) oldest = s.get();
          }
        }
        if (free) {
          launch(*free, pick, dag_for(*pick.epoch));
        } else if (oldest) {
          complete(*oldest);  // sleeps until it is done; new work meanwhile is launched by set_work
        } else {
          wake_.acquire();  // idle: until work comes or stop()
          while (wake_.try_acquire()) {
          }  // the state is read afresh next: one look serves every signal so far
        }
      }
      drain();
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      if (fault_.empty()) {  // else status() found a hung launch first
        fault_ = e.what();
        const auto* gpu_error = dynamic_cast<const GpuError*>(&e);
        fault_needs_restart_ = gpu_error && gpu_error->kind() == ErrorKind::device_lost;
      }
      running_ = false;
      for (auto& s : slots_) {  // the context may be dead: drop what was in flight
        s->busy = false;
        s->dag.reset();
      }
    }
  }

  // Under mutex_, from status(): the worker itself is stuck waiting for a hung launch, so the
  // deadline is noticed here. The device is then faulted for good and needs a new process.
  void note_overdue_launch() const {
    const auto now = SteadyClock::now().time_since_epoch().count();
    const auto deadline = std::chrono::duration_cast<SteadyClock::duration>(options_.launch_deadline).count();
    for (const auto& s : slots_) {
      const auto issued = s->issued.load();
      if (!s->busy || issued == 0 || now - issued <= deadline) continue;
      fault_ = info_.id + ": search launch did not complete within its deadline of " +
               std::to_string(options_.launch_deadline.count()) + " ms (launch_deadline)";
      fault_needs_restart_ = true;
      hung_ = true;
      running_ = false;  // should the launch ever complete, the worker stops there
      return;
    }
  }

  // Under mutex_: a free slot if a launch is due: fewer than `streams` in flight, or work newer
  // than the last launch (which takes the spare slot at once).
  StreamSlot* slot_for_launch() {
    std::size_t busy = 0;
    StreamSlot* free = nullptr;
    for (auto& s : slots_) {
      if (s->busy) ++busy;
      else free = s.get();
    }
    return busy < static_cast<std::size_t>(current_shape().streams) || work_version_ != newest_launch_ ? free : nullptr;
  }

  // Under mutex_, from set_work: new work is launched by the caller's thread, already awake,
  // rather than by waking the worker, when a slot is free and every item's DAG is at hand.
  void launch_now() {
    StreamSlot* free = running_ && work_.has_work() ? slot_for_launch() : nullptr;
    if (!free) return;
    for (const WorkItem& w : work_.items())
      if (!leases_.count(DagKey{w.light_cache->algo, w.light_cache->epoch})) return;  // the worker builds it
    Pick pick;
    take(*free, pick);
    try {
      launch(*free, pick, leases_.at(DagKey{pick.epoch->algo, pick.epoch->epoch}));
    } catch (...) {
      free->busy = false;  // nothing of it will complete; the worker meets the same error and faults
      throw;
    }
  }

  // Under mutex_: the slot gets the next launch, a new id, and the tag set_work may cancel.
  void take(StreamSlot& slot, Pick& pick) {
    follow_dag(pick_epoch());
    pick.shape = current_shape();
    slot.tuning = tuning_state_ == TuningReport::State::tuning ? tuning_generation_ : 0;
    choose(pick);
    slot.busy = true;
    slot.cancelled = false;
    slot.launch_id = ++launch_ids_;
    slot.tag = pick.blob.tag;
    newest_launch_ = work_version_;
  }

  // Under mutex_: the next launch's range of the work set, as a job blob.
  void choose(Pick& pick) {
    const std::optional<WorkRange> range = work_.next(pick.shape.launch_hashes);  // set: the caller saw has_work()
    const WorkItem& w = range->item;
    pick.epoch = w.light_cache;
    std::memcpy(pick.blob.header, w.header.data(), sizeof pick.blob.header);
    pick.blob.boundary = w.boundary;
    pick.blob.nonce_start = range->first_nonce;
    pick.blob.nonce_count = range->count;
    pick.blob.tag = w.tag;
    pick.first = range->item_first;
  }

  // Under mutex_: leases of epochs no current item needs are released (launches in flight
  // keep their own), so the manager may evict those DAGs.
  void drop_unused_dags() {
    for (auto it = leases_.begin(); it != leases_.end();) {
      const bool used = std::any_of(work_.items().begin(), work_.items().end(), [&](const WorkItem& w) {
        return DagKey{w.light_cache->algo, w.light_cache->epoch} == it->first;
      });
      it = used ? std::next(it) : leases_.erase(it);
    }
  }

  std::shared_ptr<DagLease> dag_for(const LightCache& epoch) {
    const DagKey key{epoch.algo, epoch.epoch};
    {
      std::lock_guard lock(mutex_);
      if (auto it = leases_.find(key); it != leases_.end()) return it->second;
    }
    auto lease = std::make_shared<DagLease>(memory_->acquire_dag(epoch));  // may build: unlocked
    std::lock_guard lock(mutex_);
    return leases_.emplace(key, std::move(lease)).first->second;
  }

  // The slot is marked busy; complete() frees it.
  void launch(StreamSlot& s, const Pick& pick, std::shared_ptr<DagLease> dag) {
    auto* blob = static_cast<JobBlob*>(s.staging.host());
    *blob = pick.blob;  // the slot's previous copy has completed: rewriting it is safe
    blob->launch_id = s.launch_id;
    check_cuda(cudaMemcpyAsync(s.staging.device(), blob, sizeof(JobBlob), cudaMemcpyHostToDevice, s.stream.handle), index_,
               "job blob upload");
    check_cuda(cudaMemsetAsync(s.results.device(), 0, sizeof(ResultsHeader), s.stream.handle), index_, "results reset");
    SearchLaunch l;
    l.dag = dag->buffers().dag;
    l.pages = dag->buffers().pages;
    l.blob = static_cast<const JobBlob*>(s.staging.device());
    l.cancel = static_cast<const std::uint64_t*>(s.cancel.device());
    l.results = s.results.device();
    l.capacity = options_.results_capacity;
    l.hashes = static_cast<std::uint32_t>(pick.blob.nonce_count);
    l.block_threads = pick.shape.block_threads;
    l.max_registers = pick.shape.max_registers;
    s.shape = pick.shape;
    const bool inject = injection_ && injection_launches_.fetch_add(1) == injection_->after_launches;
    check_cuda(inject ? launch_injected_fault(injection_->fault, s.stream.handle) : launch_search(l, s.stream.handle), index_,
               inject ? "injected fault launch" : "search launch");
    check_cuda(cudaMemcpyAsync(s.results.host(), s.results.device(), s.results.bytes(), cudaMemcpyDeviceToHost, s.stream.handle),
               index_, "results download");
    check_cuda(cudaEventRecord(s.done.handle, s.stream.handle), index_, "cudaEventRecord");
    s.issued = SteadyClock::now().time_since_epoch().count();
    if (pick.first && sinks_.work_started) sinks_.work_started(pick.blob.tag, SteadyClock::now());
    memory_->record_transfer(sizeof(JobBlob), true);
    memory_->record_transfer(s.results.bytes(), false);
    launches_.fetch_add(1, std::memory_order_relaxed);
    s.dag = std::move(dag);
  }

  void complete(StreamSlot& s) {
    check_cuda(cudaEventSynchronize(s.done.handle), index_, "search launch");
    s.issued = 0;
    const std::uint64_t dag_bytes = s.dag ? s.dag->buffers().dag_bytes : 0;  // none when its launch failed
    s.dag.reset();
    const auto* header = static_cast<const ResultsHeader*>(s.results.host());
    const std::uint32_t kept = std::min(header->found, options_.results_capacity);
    const auto* entries = reinterpret_cast<const ResultEntry*>(header + 1);
    for (std::uint32_t i = 0; i < kept; ++i) {
      Candidate c{entries[i].tag, entries[i].nonce, {}};
      std::memcpy(c.mix_hash.data(), entries[i].mix, c.mix_hash.size());
      candidates_.fetch_add(1, std::memory_order_relaxed);
      sinks_.candidate(c);
    }
    dropped_.fetch_add(header->found - kept, std::memory_order_relaxed);
    hashes_.fetch_add(header->searched, std::memory_order_relaxed);
    std::optional<std::pair<TuneKey, LaunchShape>> tuned;
    {
      std::lock_guard lock(mutex_);
      // A cancelled launch's blocks that start after the cancel lands do nothing, so what it did
      // after is at most what the GPU holds at once (the kernel cannot afford to tell more).
      if (s.cancelled)
        replaced_hashes_.fetch_add(std::min<std::uint64_t>(header->searched, resident_hashes(s.shape)),
                                   std::memory_order_relaxed);
      s.busy = false;
      // Only launches issued by this tuning count: those of the DAG before it may share the first
      // candidate's shape, and would start its trial before its own launches ran.
      if (tuning_state_ == TuningReport::State::tuning && s.tuning == tuning_generation_) {
        trials_->completed(s.shape, header->searched, tuning_seconds(s));
        trials_mixed_ = trials_mixed_ || dag_bytes != key_.dag_bytes;
        if (trials_->finished()) {
          shape_ = trials_->best();
          tuning_state_ = TuningReport::State::tuned;
          if (!trials_mixed_) tuned.emplace(key_, shape_);
          else
            store_error_ =
                "not stored, kept for this run only: its trials mined DAGs of two sizes at once (strategy split "
                "across pools at different epochs)";
        }
      }
    }
    if (tuned) store_tuned(tuned->first, tuned->second);
  }

  // The stored shape is written outside the device's mutex (file I/O); a failure is reported, and
  // mining goes on with the shape found.
  void store_tuned(const TuneKey& key, const LaunchShape& shape) {
    std::string error;
    try {
      TunedShapeStore(options_.tuning->store_directory).save(key, shape);
    } catch (const std::exception& e) {
      error = e.what();
    }
    std::lock_guard lock(mutex_);
    store_error_ = error;
  }

  // Under mutex_: the epoch of the next launch (the caller saw has_work()).
  std::shared_ptr<const LightCache> pick_epoch() const { return work_.items().front().light_cache; }

  // Under mutex_: when launches move to a DAG of another size, its shape is looked up (stored)
  // or tuned, with tuning on; a DAG of the size already known keeps its shape.
  void follow_dag(const std::shared_ptr<const LightCache>& epoch) {
    if (!options_.tuning || (tuned_dag_ && key_.dag_bytes == epoch->dataset_bytes)) return;
    tuned_dag_ = true;
    key_.dag_bytes = epoch->dataset_bytes;
    store_error_.clear();  // said of the DAG size before
    trials_.reset();
    std::optional<LaunchShape> stored;
    if (!options_.tuning->retune) {
      try {
        stored = TunedShapeStore(options_.tuning->store_directory).find(key_);
      } catch (const std::exception& e) {
        store_error_ = e.what();
      }
    }
    if (stored) {
      shape_ = *stored;
      tuning_state_ = TuningReport::State::stored;
    } else {
      trials_.emplace(options_.tuning->candidates, options_.tuning->trial_seconds, options_.tuning->rounds);
      trials_mixed_ = false;
      ++tuning_generation_;
      tuning_state_ = TuningReport::State::tuning;
      // The trials' clock starts here, on a stream that holds only 8-byte copies: it is passed at
      // once. The one wait on the GPU under mutex_, once per DAG size tuned.
      check_cuda(cudaEventRecord(tuning_origin_.handle, control_.handle), index_, "cudaEventRecord");
      check_cuda(cudaEventSynchronize(tuning_origin_.handle), index_, "tuning clock start");
    }
  }

  // Under mutex_: when the slot's completed launch finished on the GPU, in seconds since tuning
  // began. The host may notice a completion late (a busy core, a candidate's verification); a
  // trial timed by the host would be cut short or drawn out by as much.
  double tuning_seconds(const StreamSlot& s) {
    float ms = 0;
    check_cuda(cudaEventElapsedTime(&ms, tuning_origin_.handle, s.done.handle), index_, "tuning clock");
    return ms / 1e3;
  }

  // Under mutex_: where the shape launches take now came from, as status() reports it.
  LaunchOrigin launch_origin() const {
    if (!options_.tuning) return LaunchOrigin::configured;
    switch (tuning_state_) {
      case TuningReport::State::off: return LaunchOrigin::preset;
      case TuningReport::State::stored: return LaunchOrigin::stored;
      case TuningReport::State::tuning: return LaunchOrigin::tuning;
      case TuningReport::State::tuned: return LaunchOrigin::tuned;
    }
    return LaunchOrigin::preset;
  }

  // Under mutex_: the shape the next launch takes.
  LaunchShape current_shape() const { return tuning_state_ == TuningReport::State::tuning ? trials_->current() : shape_; }

  // The most hashes running at once with this shape (blocks per SM from the occupancy API x SMs x
  // block size), remembered per register build and block size.
  std::uint64_t resident_hashes(const LaunchShape& shape) {
    const auto key = std::pair{shape.max_registers, shape.block_threads};
    if (auto it = resident_.find(key); it != resident_.end()) return it->second;
    int blocks = 0;
    check_cuda(search_blocks_per_sm(shape.max_registers, shape.block_threads, &blocks), index_, "search kernel occupancy");
    const std::uint64_t n = std::uint64_t{static_cast<std::uint32_t>(blocks)} * static_cast<std::uint32_t>(sm_count_) *
                            static_cast<std::uint32_t>(shape.block_threads);
    return resident_.emplace(key, n).first->second;
  }

  void drain() {
    for (auto& s : slots_) {
      bool busy = false;
      {
        std::lock_guard lock(mutex_);
        busy = s->busy;
      }
      if (busy) complete(*s);
    }
  }

  const int index_;
  const GpuDeviceOptions options_;
  DeviceInfo info_;
  std::unique_ptr<GpuMemoryManager> memory_;
  Stream control_;  // carries the cancel words, apart from the launches
  Event tuning_origin_{index_, cudaEventDefault};
  std::vector<std::unique_ptr<StreamSlot>> slots_;

  mutable std::mutex mutex_;
  std::counting_semaphore<> wake_{0};  // released on new work and stop(), for an idle worker
  WeightedWorkSet work_;
  std::uint64_t work_version_ = 0;
  std::uint64_t newest_launch_ = ~std::uint64_t{0};  // work version of the last launch
  std::uint64_t launch_ids_ = 0;
  std::map<std::pair<int, int>, std::uint64_t> resident_;  // resident_hashes() by (registers, block)
  int sm_count_ = 0;
  LaunchShape shape_;  // without tuning, or once the DAG's shape is known
  TuneKey key_;        // this card's; dag_bytes of the DAG launches mine now
  bool tuned_dag_ = false;
  std::optional<ShapeTrials> trials_;
  // A counted launch searched another DAG than key_'s (split across epochs): the trials measured
  // the mix, so their best is not stored under key_.
  bool trials_mixed_ = false;
  std::uint64_t tuning_generation_ = 0;  // raised for each tuning begun
  TuningReport::State tuning_state_ = TuningReport::State::off;
  std::string store_error_;
  // The fault and its flags are set by the worker on an error, or by status() on a hung launch
  // (hence mutable), which also ends running_.
  mutable bool running_ = false;
  mutable std::string fault_;
  mutable bool fault_needs_restart_ = false;
  mutable bool hung_ = false;
  const std::optional<FaultInjection> injection_ = injected_fault_for(index_);
  std::atomic<std::uint64_t> injection_launches_{0};
  std::unique_ptr<TelemetrySampler> telemetry_;  // null without NVML
  std::string telemetry_error_;
  DeviceSinks sinks_{nullptr};
  std::thread worker_;
  std::map<DagKey, std::shared_ptr<DagLease>> leases_;  // DAGs of the current work set

  std::atomic<std::uint64_t> hashes_{0};
  std::atomic<std::uint64_t> candidates_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> launches_{0};
  std::atomic<std::uint64_t> replaced_hashes_{0};
};

}  // namespace

std::unique_ptr<GpuSearchDevice> open_gpu(int index, const GpuDeviceOptions& options) {
  validate(options);
  return std::make_unique<CudaSearchDevice>(index, options);
}

}  // namespace dagminer::gpu
