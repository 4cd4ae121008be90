#include "device_factory.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/gpu/architectures.hpp"
#include "dagminer/gpu/gpu_device.hpp"

namespace dagminer {

std::vector<std::unique_ptr<SearchDevice>> open_devices(const DeviceSelection& selection, const MemoryBudget& memory) {
  std::vector<std::unique_ptr<SearchDevice>> devices;
  gpu::GpuDeviceOptions options;
  options.budget = memory;
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
