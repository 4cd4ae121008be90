#include "device_factory.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/gpu/gpu_device.hpp"

namespace dagminer {

std::vector<std::unique_ptr<SearchDevice>> open_devices(const DeviceSelection& selection, const MemoryBudget& memory) {
  std::vector<std::unique_ptr<SearchDevice>> devices;
  gpu::GpuDeviceOptions options;
  options.budget = memory;
  std::vector<int> indices = selection.gpus;
  if (selection.all_gpus) {
    const gpu::GpuListing listing = gpu::discover_gpus();
    if (listing.devices.empty()) spdlog::info("no GPU found ({}): mining on the CPU backend", listing.error);
    for (std::size_t i = 0; i < listing.devices.size(); ++i) indices.push_back(static_cast<int>(i));
  }
  for (int index : indices) {
    try {
      auto gpu = gpu::open_gpu(index, options);
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
