// The device worker: one host thread keeps several launches in flight on CUDA streams, each
// with its own staging slot, results buffer and completion event. Before a stream is reused
// its previous launch is completed (its event, never a device-wide sync), its candidates are
// delivered and its hashes counted; the next launch then takes the current work set, so a new
// job starts at the next launch. Launches of a replaced job still in flight stop early: set_work
// raises a generation word on the device that every block checks when it starts.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <cuda_runtime_api.h>

#include "cuda_check.hpp"
#include "dagminer/gpu/gpu_device.hpp"
#include "dagminer/gpu/job_blob.hpp"
#include "kernels.hpp"

namespace dagminer::gpu {
namespace {

// A work item with its nonce cursor and its smooth-weighted-round-robin credit.
struct Item {
  WorkItem work;
  std::uint64_t claimed = 0;
  std::int64_t credit = 0;
};

// What one launch searches.
struct Pick {
  std::shared_ptr<const LightCache> epoch;
  JobBlob blob{};
};

struct Stream {
  explicit Stream(int device) {
    check_cuda(cudaStreamCreateWithFlags(&handle, cudaStreamNonBlocking), device, "cudaStreamCreate");
  }
  ~Stream() { (void)cudaStreamDestroy(handle); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t handle = nullptr;
};

// One launch in flight: its stream, staging slot, results buffer and completion event.
struct StreamSlot {
  StreamSlot(int device, GpuMemoryManager& memory, std::uint32_t capacity)
      : stream(device), staging(memory.acquire_staging()), results(memory.acquire_results(capacity)) {
    // Blocking sync: the worker sleeps while it waits instead of spinning a CPU core.
    check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming | cudaEventBlockingSync), device, "cudaEventCreate");
  }
  ~StreamSlot() { (void)cudaEventDestroy(done); }
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;

  Stream stream;
  cudaEvent_t done = nullptr;
  BufferPair staging;
  BufferPair results;
  bool busy = false;
  std::uint64_t work_version = 0;  // of the work set the launch was taken from
  std::shared_ptr<DagLease> dag;   // keeps the launch's DAG resident until it completes
};

void validate(const GpuDeviceOptions& o) {
  if (o.streams < 1 || o.streams > 16) throw std::invalid_argument("GPU streams must be 1..16");
  if (o.launch_hashes == 0) throw std::invalid_argument("GPU launch size must be at least one hash");
  if (o.results_capacity == 0) throw std::invalid_argument("GPU results capacity must be at least 1");
  if (o.hashes_in_flight != 1 && o.hashes_in_flight != 2 && o.hashes_in_flight != 4 && o.hashes_in_flight != 8)
    throw std::invalid_argument("GPU hashes in flight must be 1, 2, 4 or 8");
  if (o.block_threads < 32 || o.block_threads > 256 || o.block_threads % 32 != 0)
    throw std::invalid_argument("GPU block size must be a multiple of 32 up to 256");
}

class CudaSearchDevice final : public GpuSearchDevice {
 public:
  CudaSearchDevice(int index, const GpuDeviceOptions& options)
      : index_(index),
        options_(options),
        memory_(make_device_memory_manager(index, options.budget)),
        generation_(memory_->acquire_staging()),
        control_(index) {
    validate(options_);
    use_device(index_);
    cudaDeviceProp p{};
    check_cuda(cudaGetDeviceProperties(&p, index_), index_, "cudaGetDeviceProperties");
    info_ = {"gpu" + std::to_string(index_), "cuda", p.name, p.totalGlobalMem,
             std::to_string(p.major) + "." + std::to_string(p.minor)};
    for (int s = 0; s < options_.streams; ++s)
      slots_.push_back(std::make_unique<StreamSlot>(index_, *memory_, options_.results_capacity));
    check_cuda(cudaMemset(generation_.device(), 0, sizeof(std::uint64_t)), index_, "generation reset");
  }

  ~CudaSearchDevice() override { stop(); }

  DeviceInfo describe() const override { return info_; }

  void prepare(std::shared_ptr<const LightCache> epoch) override {
    if (epoch) (void)memory_->acquire_dag(*epoch);  // resident until evicted for room
  }

  void set_work(std::vector<WorkItem> work) override {
    {
      std::lock_guard lock(mutex_);
      // An item whose tag is already being searched keeps its cursor (the interface's promise:
      // re-searching its nonces would find duplicate shares); only new tags start afresh.
      std::vector<Item> items;
      for (auto& w : work) {
        if (!w.epoch || w.weight == 0 || w.nonce_count == 0) continue;
        const auto kept = std::find_if(items_.begin(), items_.end(), [&](const Item& i) { return i.work.tag == w.tag; });
        if (kept == items_.end()) {
          items.push_back({std::move(w), 0, 0});
        } else {
          kept->work.weight = w.weight;
          items.push_back(std::move(*kept));
          items_.erase(kept);
        }
      }
      const bool replaced = !items_.empty();  // what is left was dropped from the set
      items_ = std::move(items);
      const std::uint64_t version = work_version_.fetch_add(1) + 1;
      if (replaced) {
        // Launches taken before this version stop as soon as this copy lands (their blocks not
        // yet started); a set that only adds items or changes weights lets them run out.
        replaced_version_.store(version);
        auto* word = static_cast<std::uint64_t*>(generation_.host());
        *word = version;
        use_device(index_);
        check_cuda(cudaMemcpyAsync(generation_.device(), word, sizeof *word, cudaMemcpyHostToDevice, control_.handle), index_,
                   "work generation upload");
        memory_->record_transfer(sizeof *word, true);
      }
    }
    wake_.notify_all();
  }

  void start(CandidateSink sink) override {
    std::lock_guard lock(mutex_);
    if (running_) return;
    if (worker_.joinable()) worker_.join();  // it stopped on a fault
    running_ = true;
    fault_.clear();
    sink_ = std::move(sink);
    worker_ = std::thread([this] { run(); });
  }

  void stop() override {
    {
      std::lock_guard lock(mutex_);
      running_ = false;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  DeviceCounters counters() const override { return {hashes_.load(), candidates_.load(), dropped_.load()}; }
  PipelineCounters pipeline_counters() const override { return {launches_.load(), stale_hashes_.load()}; }

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

 private:
  void run() {
    try {
      use_device(index_);
      std::uint64_t seen_version = ~std::uint64_t{0};
      for (std::size_t next = 0;; next = (next + 1) % slots_.size()) {
        StreamSlot& slot = *slots_[next];
        if (slot.busy) complete(slot);
        Pick pick;
        {
          std::unique_lock lock(mutex_);
          if (!running_) break;
          if (work_version_ != seen_version) {
            seen_version = work_version_;
            drop_unused_dags();
          }
          if (!choose(pick)) {  // idle: finish what is in flight, then wait for new work
            lock.unlock();
            drain();
            lock.lock();
            wake_.wait(lock, [&] { return !running_ || work_version_ != seen_version; });
            continue;
          }
        }
        launch(slot, pick, seen_version);
      }
      drain();
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      fault_ = e.what();
      running_ = false;
      for (auto& s : slots_) {  // the context may be dead: drop what was in flight
        s->busy = false;
        s->dag.reset();
      }
    }
  }

  // Under mutex_: the next launch's item by smooth weighted round robin (each live item gains
  // its weight, the richest is served and pays the total), so hashes split by weight per launch.
  bool choose(Pick& pick) {
    std::int64_t total = 0;
    Item* best = nullptr;
    for (auto& item : items_) {
      if (item.claimed >= item.work.nonce_count) continue;
      item.credit += item.work.weight;
      total += item.work.weight;
      if (!best || item.credit > best->credit) best = &item;
    }
    if (!best) return false;
    best->credit -= total;
    const WorkItem& w = best->work;
    pick.epoch = w.epoch;
    std::memcpy(pick.blob.header, w.header.data(), sizeof pick.blob.header);
    pick.blob.boundary = w.boundary;
    pick.blob.nonce_start = w.nonce_start + best->claimed;
    pick.blob.nonce_count = std::min<std::uint64_t>(options_.launch_hashes, w.nonce_count - best->claimed);
    pick.blob.tag = w.tag;
    best->claimed += pick.blob.nonce_count;
    return true;
  }

  // Under mutex_: leases of epochs no current item needs are released (launches in flight
  // keep their own), so the manager may evict those DAGs.
  void drop_unused_dags() {
    for (auto it = leases_.begin(); it != leases_.end();) {
      const bool used = std::any_of(items_.begin(), items_.end(), [&](const Item& i) {
        return DagKey{i.work.epoch->algo, i.work.epoch->epoch} == it->first;
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

  void launch(StreamSlot& s, const Pick& pick, std::uint64_t work_version) {
    auto dag = dag_for(*pick.epoch);
    auto* blob = static_cast<JobBlob*>(s.staging.host());
    *blob = pick.blob;  // the slot's previous copy has completed: rewriting it is safe
    blob->generation = work_version;
    check_cuda(cudaMemcpyAsync(s.staging.device(), blob, sizeof(JobBlob), cudaMemcpyHostToDevice, s.stream.handle), index_,
               "job blob upload");
    check_cuda(cudaMemsetAsync(s.results.device(), 0, sizeof(ResultsHeader), s.stream.handle), index_, "results reset");
    SearchLaunch l;
    l.dag = dag->buffers().dag;
    l.pages = dag->buffers().pages;
    l.blob = static_cast<const JobBlob*>(s.staging.device());
    l.generation = static_cast<const std::uint64_t*>(generation_.device());
    l.results = s.results.device();
    l.capacity = options_.results_capacity;
    l.hashes = static_cast<std::uint32_t>(pick.blob.nonce_count);
    l.hashes_in_flight = options_.hashes_in_flight;
    l.block_threads = options_.block_threads;
    check_cuda(launch_search(l, s.stream.handle), index_, "search launch");
    check_cuda(cudaMemcpyAsync(s.results.host(), s.results.device(), s.results.bytes(), cudaMemcpyDeviceToHost, s.stream.handle),
               index_, "results download");
    check_cuda(cudaEventRecord(s.done, s.stream.handle), index_, "cudaEventRecord");
    memory_->record_transfer(sizeof(JobBlob), true);
    memory_->record_transfer(s.results.bytes(), false);
    s.busy = true;
    s.work_version = work_version;
    launches_.fetch_add(1, std::memory_order_relaxed);
    s.dag = std::move(dag);
  }

  void complete(StreamSlot& s) {
    check_cuda(cudaEventSynchronize(s.done), index_, "search launch");
    s.busy = false;
    s.dag.reset();
    const auto* header = static_cast<const ResultsHeader*>(s.results.host());
    const std::uint32_t kept = std::min(header->found, options_.results_capacity);
    const auto* entries = reinterpret_cast<const ResultEntry*>(header + 1);
    for (std::uint32_t i = 0; i < kept; ++i) {
      Candidate c{entries[i].tag, entries[i].nonce, {}};
      std::memcpy(c.mix_hash.data(), entries[i].mix, c.mix_hash.size());
      candidates_.fetch_add(1, std::memory_order_relaxed);
      sink_(c);
    }
    dropped_.fetch_add(header->found - kept, std::memory_order_relaxed);
    hashes_.fetch_add(header->searched, std::memory_order_relaxed);
    if (s.work_version < replaced_version_.load()) stale_hashes_.fetch_add(header->searched, std::memory_order_relaxed);
  }

  void drain() {
    for (auto& s : slots_)
      if (s->busy) complete(*s);
  }

  const int index_;
  const GpuDeviceOptions options_;
  DeviceInfo info_;
  std::unique_ptr<GpuMemoryManager> memory_;
  BufferPair generation_;  // the work generation: written by set_work, read by every launch
  Stream control_;         // carries the generation uploads, apart from the launches
  std::vector<std::unique_ptr<StreamSlot>> slots_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Item> items_;
  std::atomic<std::uint64_t> work_version_{0};      // written under mutex_, read without by complete()
  std::atomic<std::uint64_t> replaced_version_{0};  // the last version that dropped an item
  bool running_ = false;
  std::string fault_;
  CandidateSink sink_;
  std::thread worker_;
  std::map<DagKey, std::shared_ptr<DagLease>> leases_;  // DAGs of the current work set

  std::atomic<std::uint64_t> hashes_{0};
  std::atomic<std::uint64_t> candidates_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> launches_{0};
  std::atomic<std::uint64_t> stale_hashes_{0};
};

}  // namespace

std::unique_ptr<GpuSearchDevice> open_gpu(int index, const GpuDeviceOptions& options) {
  validate(options);
  return std::make_unique<CudaSearchDevice>(index, options);
}

}  // namespace dagminer::gpu
