// CUDA devices: discovery, and the search device that mines on one GPU (the SearchDevice of
// core, implemented with the DAG and search kernels on CUDA streams). No CUDA types here:
// the daemon and tests include this with any C++ compiler.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dagminer/core/device.hpp"
#include "dagminer/gpu/launch_tuning.hpp"
#include "dagminer/gpu/memory_manager.hpp"

namespace dagminer::gpu {

struct GpuListing {
  std::vector<DeviceInfo> devices;  // id "gpu<index>", kind "cuda"
  std::string error;                // why there are none: CUDA's own words, or a build without CUDA
};
// Never throws: no driver, no device or a build without CUDA give an empty list and the reason.
GpuListing discover_gpus();

// As CUDA numbers them (13000 is 13.0); 0 where there is none: no driver found, or a build
// without CUDA.
struct CudaVersions {
  int runtime = 0;  // the CUDA runtime linked in
  int driver = 0;   // the newest CUDA version the installed driver supports
};
CudaVersions cuda_versions();

// Online tuning of the launch shape (launch_tuning.hpp).
struct LaunchTuning {
  std::filesystem::path store_directory;  // where tuned shapes are kept: the light cache directory
  bool retune = false;                    // tune even where a shape is stored (`dagminer tune`)
  std::vector<LaunchShape> candidates = default_tuning_candidates();
  double trial_seconds = 2;
  int rounds = 2;
};

struct GpuDeviceOptions {
  MemoryBudget budget{};
  LaunchShape shape{};                  // the shape without tuning (or until a DAG's shape is known)
  std::optional<LaunchTuning> tuning;   // none: `shape` throughout (bench, tests, a pinned shape)
  std::uint32_t results_capacity = 64;  // candidates kept per launch; more are counted as dropped
  // A launch still running this long after it was issued has hung: the device is faulted and
  // needs a new process. Launches take milliseconds (bench/gpu-notes.md); this leaves room for
  // slow cards, large launches and a DAG build sharing the GPU.
  std::chrono::milliseconds launch_deadline{10000};
};

// Where the device's launch shape came from, for the DAG it mines now.
struct TuningReport {
  enum class State { off, stored, tuning, tuned };
  State state = State::off;
  LaunchShape shape;               // the shape launches take now
  std::string key;                 // TuneKey::text() of the DAG mined; empty before the first launch or with tuning off
  std::vector<ShapeTrial> trials;  // what was measured (tuning, tuned)
  std::string store_error;         // why a tuned shape could not be stored
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
  // Why status() has no telemetry (no NVML, GPU unknown to it); empty when it has.
  virtual std::string telemetry_error() const = 0;
  virtual TuningReport tuning() const = 0;
};

// Throws std::invalid_argument for bad options, GpuError (no_device when there is no such GPU
// or no CUDA) otherwise.
std::unique_ptr<GpuSearchDevice> open_gpu(int index, const GpuDeviceOptions& options = {});

// The memory manager of one GPU with the CUDA allocator and the DAG-build kernel.
std::unique_ptr<GpuMemoryManager> make_device_memory_manager(int index, const MemoryBudget& budget = {});

}  // namespace dagminer::gpu
