#include "dagminer/gpu/memory_manager.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>

#include "dagminer/gpu/job_blob.hpp"

namespace dagminer::gpu {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::no_device: return "no_device";
    case ErrorKind::invalid_device: return "invalid_device";
    case ErrorKind::device_lost: return "device_lost";
    case ErrorKind::out_of_memory: return "out_of_memory";
    case ErrorKind::dag_too_large: return "dag_too_large";
    case ErrorKind::budget_in_use: return "budget_in_use";
    case ErrorKind::launch_failed: return "launch_failed";
    case ErrorKind::cuda_call: return "cuda_call";
  }
  return "unknown";
}

namespace {

std::string format_bytes(std::uint64_t bytes) {
  char buf[32];
  if (bytes >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) / 1e9);
  else if (bytes >= 1'000'000) std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

}  // namespace

// ---- HostAllocator ----

struct HostAllocator::Books {
  mutable std::mutex mutex;
  std::unordered_map<void*, std::uint64_t> device;  // buffer -> bytes, counted against capacity
  std::unordered_map<void*, std::uint64_t> host;
  std::uint64_t used = 0;
};

HostAllocator::HostAllocator(std::uint64_t capacity_bytes, std::string id)
    : books_(std::make_unique<Books>()), capacity_(capacity_bytes), id_(std::move(id)) {}

HostAllocator::~HostAllocator() {
  for (auto& [p, bytes] : books_->device) std::free(p);
  for (auto& [p, bytes] : books_->host) std::free(p);
}

std::uint64_t HostAllocator::free_device_bytes() const {
  std::lock_guard lock(books_->mutex);
  return capacity_ - books_->used;
}

void* HostAllocator::allocate_device(std::uint64_t bytes) {
  std::lock_guard lock(books_->mutex);
  void* p = bytes <= capacity_ - books_->used ? std::malloc(std::max<std::uint64_t>(bytes, 1)) : nullptr;
  if (!p)
    throw GpuError(ErrorKind::out_of_memory,
                   id_ + ": cannot allocate " + format_bytes(bytes) + " (" + format_bytes(capacity_ - books_->used) + " free)");
  books_->device.emplace(p, bytes);
  books_->used += bytes;
  return p;
}

void* HostAllocator::allocate_host(std::uint64_t bytes) {
  void* p = std::malloc(std::max<std::uint64_t>(bytes, 1));
  if (!p) throw GpuError(ErrorKind::out_of_memory, id_ + ": cannot allocate " + format_bytes(bytes) + " of host memory");
  std::lock_guard lock(books_->mutex);
  books_->host.emplace(p, bytes);
  return p;
}

void HostAllocator::free_device(void* p) noexcept {
  std::lock_guard lock(books_->mutex);
  if (auto it = books_->device.find(p); it != books_->device.end()) {
    books_->used -= it->second;
    books_->device.erase(it);
    std::free(p);
  }
}

void HostAllocator::free_host(void* p) noexcept {
  std::lock_guard lock(books_->mutex);
  if (books_->host.erase(p)) std::free(p);
}

std::uint64_t HostAllocator::live_allocations() const {
  std::lock_guard lock(books_->mutex);
  return books_->device.size() + books_->host.size();
}

// ---- manager state ----

namespace detail {

struct DagEntry {
  DagKey key;
  DagBuffers buffers;
  std::uint64_t reserved = 0;  // DAG + light cache bytes counted against the budget
  bool ready = false;          // false while its builder runs
  int pins = 0;                // live leases
  std::uint64_t last_use = 0;  // LRU clock
};

struct PooledPair {
  MemoryKind kind = MemoryKind::staging;
  std::uint64_t bytes = 0;
  void* host = nullptr;
  void* device = nullptr;
};

struct ManagerState {
  std::unique_ptr<DeviceAllocator> allocator;
  DagBuilder builder;
  std::uint64_t budget = 0;

  mutable std::mutex mutex;
  std::condition_variable changed;  // a build finished or failed
  std::map<DagKey, std::shared_ptr<DagEntry>> dags;
  std::uint64_t reserved = 0;
  std::uint64_t clock = 0;
  std::vector<std::unique_ptr<PooledPair>> free_pairs;
  MemoryStats stats;

  ~ManagerState() {
    for (auto& [key, entry] : dags) free_buffers(*entry);
    for (auto& pair : free_pairs) free_pair(*pair);
  }

  void count(MemoryKind kind, std::uint64_t bytes, bool allocated) {
    auto& b = stats.bytes[static_cast<std::size_t>(kind)];
    b = allocated ? b + bytes : b - bytes;
  }

  void free_buffers(const DagEntry& e) noexcept {
    if (e.buffers.dag) allocator->free_device(e.buffers.dag);
    if (e.buffers.light) allocator->free_device(e.buffers.light);
  }

  void free_pair(const PooledPair& p) noexcept {
    if (p.device) allocator->free_device(p.device);
    if (p.host) allocator->free_host(p.host);
  }

  // Under mutex: the least recently used DAG that is built and not in use, or null.
  std::shared_ptr<DagEntry> eviction_candidate() const {
    std::shared_ptr<DagEntry> victim;
    for (auto& [key, e] : dags)
      if (e->ready && e->pins == 0 && (!victim || e->last_use < victim->last_use)) victim = e;
    return victim;
  }

  void evict(const std::shared_ptr<DagEntry>& e) {
    free_buffers(*e);
    count(MemoryKind::dag, e->buffers.dag_bytes, false);
    count(MemoryKind::light_cache, e->buffers.light_bytes, false);
    reserved -= e->reserved;
    dags.erase(e->key);
    ++stats.evictions;
  }
};

}  // namespace detail

// ---- leases ----

DagLease::DagLease(std::shared_ptr<detail::ManagerState> state, std::shared_ptr<detail::DagEntry> entry) noexcept
    : state_(std::move(state)), entry_(std::move(entry)) {}
DagLease::DagLease(DagLease&& o) noexcept : state_(std::move(o.state_)), entry_(std::move(o.entry_)) {}
DagLease& DagLease::operator=(DagLease&& o) noexcept {
  if (this != &o) {
    release();
    state_ = std::move(o.state_);
    entry_ = std::move(o.entry_);
  }
  return *this;
}
DagLease::~DagLease() { release(); }
void DagLease::release() noexcept {
  if (!entry_) return;
  std::lock_guard lock(state_->mutex);
  --entry_->pins;
  entry_.reset();
}
const DagBuffers& DagLease::buffers() const noexcept { return entry_->buffers; }
const DagKey& DagLease::key() const noexcept { return entry_->key; }

BufferPair::BufferPair(std::shared_ptr<detail::ManagerState> state, std::unique_ptr<detail::PooledPair> pair) noexcept
    : state_(std::move(state)), pair_(std::move(pair)) {}
BufferPair::BufferPair(BufferPair&& o) noexcept : state_(std::move(o.state_)), pair_(std::move(o.pair_)) {}
BufferPair& BufferPair::operator=(BufferPair&& o) noexcept {
  if (this != &o) {
    release();
    state_ = std::move(o.state_);
    pair_ = std::move(o.pair_);
  }
  return *this;
}
BufferPair::~BufferPair() { release(); }
void BufferPair::release() noexcept {
  if (!pair_) return;
  std::lock_guard lock(state_->mutex);
  state_->free_pairs.push_back(std::move(pair_));
}
void* BufferPair::host() const noexcept { return pair_->host; }
void* BufferPair::device() const noexcept { return pair_->device; }
std::uint64_t BufferPair::bytes() const noexcept { return pair_->bytes; }
MemoryKind BufferPair::kind() const noexcept { return pair_->kind; }

// ---- manager ----

GpuMemoryManager::GpuMemoryManager(std::unique_ptr<DeviceAllocator> allocator, DagBuilder builder, MemoryBudget budget)
    : state_(std::make_shared<detail::ManagerState>()) {
  state_->budget = budget.bytes ? budget.bytes
                                : static_cast<std::uint64_t>(static_cast<double>(allocator->free_device_bytes()) *
                                                             std::clamp(budget.fraction, 0.0, 1.0));
  state_->stats.budget_bytes = state_->budget;
  state_->allocator = std::move(allocator);
  state_->builder = std::move(builder);
}

GpuMemoryManager::~GpuMemoryManager() = default;

std::uint64_t GpuMemoryManager::budget_bytes() const noexcept { return state_->budget; }
std::string GpuMemoryManager::device_id() const { return state_->allocator->device_id(); }

bool GpuMemoryManager::is_resident(const DagKey& key) const {
  std::lock_guard lock(state_->mutex);
  auto it = state_->dags.find(key);
  return it != state_->dags.end() && it->second->ready;
}

DagLease GpuMemoryManager::acquire_dag(const LightCache& cache) {
  auto& st = *state_;
  const DagKey key{cache.algo, cache.epoch};
  const std::uint64_t dag_bytes = cache.dataset_pages() * std::uint64_t{page_bytes};
  const std::uint64_t light_bytes = cache.items.size() * sizeof(Item64);
  const std::uint64_t need = dag_bytes + light_bytes;
  const std::string what = st.allocator->device_id() + ": the DAG of " + to_string(key) + " needs " + format_bytes(need) + " (" +
                           format_bytes(dag_bytes) + " dataset + " + format_bytes(light_bytes) + " light cache)";
  if (dag_bytes == 0 || cache.items.empty())
    throw GpuError(ErrorKind::dag_too_large, what + ": an empty light cache or dataset cannot be mined");

  std::unique_lock lock(st.mutex);
  for (;;) {
    if (auto it = st.dags.find(key); it != st.dags.end()) {
      if (!it->second->ready) {  // another thread builds it: wait for the outcome
        st.changed.wait(lock);
        continue;
      }
      ++it->second->pins;
      it->second->last_use = ++st.clock;
      return DagLease(state_, it->second);
    }
    if (need > st.budget) throw GpuError(ErrorKind::dag_too_large, what + " but the budget is " + format_bytes(st.budget));
    while (st.reserved + need > st.budget) {
      auto victim = st.eviction_candidate();
      if (!victim) break;
      st.evict(victim);
    }
    if (st.reserved + need <= st.budget) break;
    // Only DAGs in use or being built hold the budget: a build may fail and free its room.
    const bool building = std::any_of(st.dags.begin(), st.dags.end(), [](auto& kv) { return !kv.second->ready; });
    if (!building)
      throw GpuError(ErrorKind::budget_in_use, what + " but DAGs in use hold " + format_bytes(st.reserved) + " of the " +
                                                   format_bytes(st.budget) + " budget");
    st.changed.wait(lock);
  }
  const std::uint64_t free_now = st.allocator->free_device_bytes();
  if (need > free_now)
    throw GpuError(ErrorKind::dag_too_large, what + " but only " + format_bytes(free_now) + " of device memory is free");

  auto entry = std::make_shared<detail::DagEntry>();
  entry->key = key;
  entry->reserved = need;
  entry->buffers.dag_bytes = dag_bytes;
  entry->buffers.pages = cache.dataset_pages();
  entry->buffers.light_bytes = light_bytes;
  entry->buffers.light_items = static_cast<std::uint32_t>(cache.items.size());
  st.dags.emplace(key, entry);
  st.reserved += need;
  lock.unlock();

  // Allocation and build run unlocked: other epochs stay usable, and a background build of the
  // next epoch does not stall the miner's leases.
  const auto t0 = std::chrono::steady_clock::now();
  try {
    entry->buffers.dag = st.allocator->allocate_device(dag_bytes);
    entry->buffers.light = st.allocator->allocate_device(light_bytes);
    st.builder(entry->buffers, cache);
  } catch (...) {
    lock.lock();
    st.free_buffers(*entry);
    st.reserved -= need;
    st.dags.erase(key);
    st.changed.notify_all();
    throw;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  lock.lock();
  entry->ready = true;
  entry->pins = 1;
  entry->last_use = ++st.clock;
  st.count(MemoryKind::dag, dag_bytes, true);
  st.count(MemoryKind::light_cache, light_bytes, true);
  ++st.stats.dag_builds;
  ++st.stats.transfers;
  st.stats.bytes_to_device += light_bytes;
  st.stats.last_dag_build_seconds = seconds;
  st.stats.total_dag_build_seconds += seconds;
  st.changed.notify_all();
  return DagLease(state_, entry);
}

// A pooled pair of this kind and size, or a new one from the allocator.
BufferPair GpuMemoryManager::take_pair(const std::shared_ptr<detail::ManagerState>& state, MemoryKind kind, std::uint64_t bytes) {
  {
    std::lock_guard lock(state->mutex);
    auto& pool = state->free_pairs;
    auto it = std::find_if(pool.begin(), pool.end(), [&](auto& p) { return p->kind == kind && p->bytes == bytes; });
    if (it != pool.end()) {
      auto pair = std::move(*it);
      pool.erase(it);
      return BufferPair(state, std::move(pair));
    }
  }
  auto pair = std::make_unique<detail::PooledPair>();
  pair->kind = kind;
  pair->bytes = bytes;
  try {
    pair->device = state->allocator->allocate_device(bytes);
    pair->host = state->allocator->allocate_host(bytes);
  } catch (...) {
    state->free_pair(*pair);
    throw;
  }
  std::lock_guard lock(state->mutex);
  state->count(kind, 2 * bytes, true);  // the host half and the device half
  ++state->stats.buffer_allocations;
  return BufferPair(state, std::move(pair));
}

BufferPair GpuMemoryManager::acquire_staging() { return take_pair(state_, MemoryKind::staging, sizeof(JobBlob)); }

BufferPair GpuMemoryManager::acquire_results(std::uint32_t capacity) {
  return take_pair(state_, MemoryKind::results, results_bytes(capacity));
}

void GpuMemoryManager::record_transfer(std::uint64_t bytes, bool to_device) noexcept {
  std::lock_guard lock(state_->mutex);
  ++state_->stats.transfers;
  (to_device ? state_->stats.bytes_to_device : state_->stats.bytes_to_host) += bytes;
}

MemoryStats GpuMemoryManager::stats() const {
  std::lock_guard lock(state_->mutex);
  MemoryStats s = state_->stats;
  std::vector<std::shared_ptr<detail::DagEntry>> ready;
  for (auto& [key, e] : state_->dags)
    if (e->ready) ready.push_back(e);
  std::sort(ready.begin(), ready.end(), [](auto& a, auto& b) { return a->last_use > b->last_use; });
  for (auto& e : ready) s.resident.push_back(e->key);
  return s;
}

}  // namespace dagminer::gpu
