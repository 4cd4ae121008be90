// The per-device memory manager: resident DAGs keyed by (algorithm, epoch) with their light
// caches, within a budget, least-recently-used eviction that never touches a DAG in use; pooled
// host/device buffer pairs for job-blob staging and results; statistics. Where memory comes
// from is an allocator (CUDA on a GPU, plain heap memory for testing the policy anywhere).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dagminer/core/device_memory.hpp"
#include "dagminer/core/ethash.hpp"
#include "dagminer/core/memory_budget.hpp"
#include "dagminer/gpu/error.hpp"

namespace dagminer::gpu {

// The memory report types live in core (every device reports memory the same way).
using dagminer::DagKey;
using dagminer::memory_kind_count;
using dagminer::MemoryKind;
using dagminer::MemoryStats;

class DeviceAllocator {
 public:
  virtual ~DeviceAllocator() = default;
  virtual std::string device_id() const = 0;  // "gpu0": names the device in messages
  virtual std::uint64_t free_device_bytes() const = 0;
  // Both throw GpuError (out_of_memory, or the device's failure) rather than return null.
  virtual void* allocate_device(std::uint64_t bytes) = 0;
  virtual void* allocate_host(std::uint64_t bytes) = 0;  // page-locked, for transfers
  virtual void free_device(void* p) noexcept = 0;
  virtual void free_host(void* p) noexcept = 0;
};

// Heap memory standing in for a device of `capacity_bytes`: runs the manager's policy on
// machines without a GPU (its tests), with real buffers that a host DagBuilder can fill.
class HostAllocator final : public DeviceAllocator {
 public:
  explicit HostAllocator(std::uint64_t capacity_bytes, std::string id = "host");
  ~HostAllocator() override;
  std::string device_id() const override { return id_; }
  std::uint64_t free_device_bytes() const override;
  void* allocate_device(std::uint64_t bytes) override;
  void* allocate_host(std::uint64_t bytes) override;
  void free_device(void* p) noexcept override;
  void free_host(void* p) noexcept override;
  std::uint64_t live_allocations() const;  // device and host buffers not yet freed

 private:
  struct Books;
  std::unique_ptr<Books> books_;
  const std::uint64_t capacity_;
  const std::string id_;
};

// The device buffers of one resident epoch.
struct DagBuffers {
  void* dag = nullptr;
  std::uint64_t dag_bytes = 0;
  std::uint32_t pages = 0;  // 128-byte pages
  void* light = nullptr;
  std::uint64_t light_bytes = 0;
  std::uint32_t light_items = 0;
};

// Uploads the light cache into buffers.light and computes the dataset into buffers.dag
// (blocking until done). Throws GpuError on failure.
using DagBuilder = std::function<void(const DagBuffers& buffers, const LightCache& cache)>;

namespace detail {
struct ManagerState;
struct DagEntry;
struct PooledPair;
}  // namespace detail

// A resident DAG held for use: while a lease exists its DAG is never evicted. Leases keep the
// manager's state alive, so they may outlive the manager object itself.
class DagLease {
 public:
  DagLease(DagLease&&) noexcept;
  DagLease& operator=(DagLease&&) noexcept;
  ~DagLease();
  const DagBuffers& buffers() const noexcept;
  const DagKey& key() const noexcept;

 private:
  friend class GpuMemoryManager;
  DagLease(std::shared_ptr<detail::ManagerState> state, std::shared_ptr<detail::DagEntry> entry) noexcept;
  void release() noexcept;
  std::shared_ptr<detail::ManagerState> state_;
  std::shared_ptr<detail::DagEntry> entry_;
};

// A page-locked host buffer and its device twin, taken from the manager's pool and returned
// to it on destruction (a job-blob staging slot, or a results buffer).
class BufferPair {
 public:
  BufferPair(BufferPair&&) noexcept;
  BufferPair& operator=(BufferPair&&) noexcept;
  ~BufferPair();
  void* host() const noexcept;
  void* device() const noexcept;
  std::uint64_t bytes() const noexcept;
  MemoryKind kind() const noexcept;

 private:
  friend class GpuMemoryManager;
  BufferPair(std::shared_ptr<detail::ManagerState> state, std::unique_ptr<detail::PooledPair> pair) noexcept;
  void release() noexcept;
  std::shared_ptr<detail::ManagerState> state_;
  std::unique_ptr<detail::PooledPair> pair_;
};

class GpuMemoryManager {
 public:
  GpuMemoryManager(std::unique_ptr<DeviceAllocator> allocator, DagBuilder builder, MemoryBudget budget = {});
  ~GpuMemoryManager();
  GpuMemoryManager(const GpuMemoryManager&) = delete;
  GpuMemoryManager& operator=(const GpuMemoryManager&) = delete;

  // The epoch's DAG, built first when not resident (on the calling thread, evicting
  // least-recently-used DAGs not in use to fit the budget). A thread asking for an epoch that
  // another thread is building waits for that build. Throws GpuError: dag_too_large when the
  // DAG and light cache exceed the budget or the memory free, budget_in_use when DAGs in use
  // hold the room, out_of_memory or the builder's error otherwise; the manager stays usable.
  DagLease acquire_dag(const LightCache& cache);
  bool is_resident(const DagKey& key) const;

  BufferPair acquire_staging();                        // one JobBlob
  BufferPair acquire_results(std::uint32_t capacity);  // ResultsHeader + capacity entries

  void record_transfer(std::uint64_t bytes, bool to_device) noexcept;
  MemoryStats stats() const;
  std::uint64_t budget_bytes() const noexcept;
  std::string device_id() const;

 private:
  static BufferPair take_pair(const std::shared_ptr<detail::ManagerState>& state, MemoryKind kind, std::uint64_t bytes);
  std::shared_ptr<detail::ManagerState> state_;
};

}  // namespace dagminer::gpu
