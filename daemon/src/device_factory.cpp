#include "device_factory.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/core/light_cache_store.hpp"
#include "dagminer/gpu/architectures.hpp"
#include "dagminer/gpu/gpu_device.hpp"

namespace dagminer {

gpu::GpuDeviceOptions gpu_options(int index, const MemoryBudget& memory, const std::map<int, std::string>& launch_shapes,
                                  const std::filesystem::path& tuned_shapes_dir) {
  gpu::GpuDeviceOptions options;
  options.budget = memory;
  if (const auto it = launch_shapes.find(index); it != launch_shapes.end()) {
    const auto shape = gpu::parse_launch_shape(it->second);
    if (!shape)
      throw std::invalid_argument("launch_shapes." + std::to_string(index) + ": '" + it->second + "' is not a launch shape");
    options.shape = *shape;
    spdlog::info("GPU {}: launch shape pinned by the configuration: {}", index, it->second);
  } else {
    options.tuning = gpu::LaunchTuning{tuned_shapes_dir.empty() ? LightCacheStore::default_directory() : tuned_shapes_dir, false,
                                       gpu::default_tuning_candidates(), 2, 2};
  }
  return options;
}

std::vector<std::unique_ptr<SearchDevice>> open_devices(const DeviceSelection& selection, const MemoryBudget& memory,
                                                        const std::map<int, std::string>& launch_shapes,
                                                        const std::filesystem::path& tuned_shapes_dir) {
  std::vector<std::unique_ptr<SearchDevice>> devices;
  std::vector<int> indices = selection.gpus;
  const gpu::GpuListing listing = selection.all_gpus || !indices.empty() ? gpu::discover_gpus() : gpu::GpuListing{};
  if (selection.all_gpus) {
    if (listing.devices.empty()) spdlog::info("no GPU found ({}): mining on the CPU backend", listing.error);
    for (std::size_t i = 0; i < listing.devices.size(); ++i) indices.push_back(static_cast<int>(i));
  }
  const gpu::EmbeddedCode code = gpu::embedded_code();
  for (int index : indices) {
    if (index >= 0 && static_cast<std::size_t>(index) < listing.devices.size()) {
      const DeviceInfo& info = listing.devices[static_cast<std::size_t>(index)];
      const gpu::DeviceCode device_code = gpu::device_code(info.compute_capability, code);
      if (!device_code.runs()) {
        spdlog::error("GPU {} ({}): cannot be used: {}", index, info.name, device_code.text);
        continue;
      }
      spdlog::info("GPU {} ({}, compute {}): {}", index, info.name, info.compute_capability, device_code.text);
    }
    try {
      auto gpu = gpu::open_gpu(index, gpu_options(index, memory, launch_shapes, tuned_shapes_dir));
      if (const auto why = gpu->telemetry_error(); !why.empty())
        spdlog::warn("GPU {}: no telemetry, so no temperature protection: {}", index, why);
      devices.push_back(std::move(gpu));
    } catch (const std::exception& e) {
      spdlog::error("GPU {}: cannot be used: {}", index, e.what());
    }
  }
  const unsigned cpus = selection.all_gpus && indices.empty() ? std::max(1u, selection.cpu) : selection.cpu;
  for (unsigned i = 0; i < cpus; ++i)
    devices.push_back(
        std::make_unique<CpuSearchDevice>(selection.cpu_threads, 16, cpus == 1 ? "cpu" : "cpu" + std::to_string(i)));
  return devices;
}

}  // namespace dagminer
