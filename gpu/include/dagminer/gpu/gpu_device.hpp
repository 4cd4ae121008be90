// CUDA devices: discovery, and the search device that mines on one GPU (the SearchDevice of
// core, implemented with the DAG and search kernels on CUDA streams). No CUDA types here:
// the daemon and tests include this with any C++ compiler.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dagminer/core/device.hpp"
#include "dagminer/gpu/memory_manager.hpp"

namespace dagminer::gpu {

struct GpuListing {
  std::vector<DeviceInfo> devices;  // id "gpu<index>", kind "cuda"
  std::string error;                // why there are none: CUDA's own words, or a build without CUDA
};
// Never throws: no driver, no device or a build without CUDA give an empty list and the reason.
GpuListing discover_gpus();

struct GpuDeviceOptions {
  MemoryBudget budget{};
  std::uint32_t launch_hashes = 1u << 21;  // nonces per launch: larger means fewer wakeups (bench/gpu-notes.md)
  int streams = 3;                         // launches in flight
  std::uint32_t results_capacity = 64;     // candidates kept per launch; more are counted as dropped
  int block_threads = 128;                 // a multiple of 32, at most 256
};

// The launch pipeline's own counts.
struct PipelineCounters {
  std::uint64_t launches = 0;
};

class GpuSearchDevice : public SearchDevice {
 public:
  virtual PipelineCounters pipeline_counters() const = 0;
  virtual MemoryStats memory_stats() const = 0;
  virtual GpuMemoryManager& memory() = 0;
  // Dataset items (64 bytes each) read back from the device's DAG of this epoch (built first).
  virtual std::vector<Item64> read_dag_items(const LightCache& epoch, std::span<const std::uint32_t> indices) = 0;
  // Why the device stopped searching on its own (lost device, failed launch); empty if healthy.
  virtual std::string fault() const = 0;
};

// Throws std::invalid_argument for bad options, GpuError (no_device when there is no such GPU
// or no CUDA) otherwise.
std::unique_ptr<GpuSearchDevice> open_gpu(int index, const GpuDeviceOptions& options = {});

// The memory manager of one GPU with the CUDA allocator and the DAG-build kernel.
std::unique_ptr<GpuMemoryManager> make_device_memory_manager(int index, const MemoryBudget& budget = {});

}  // namespace dagminer::gpu
