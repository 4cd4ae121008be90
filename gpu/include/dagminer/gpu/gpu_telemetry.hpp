// The hardware readings of a CUDA device, through NVML (loaded at run time), matched to the CUDA
// device by PCI bus id: NVML and CUDA may number the GPUs differently.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "dagminer/core/telemetry.hpp"

namespace dagminer::gpu {

struct GpuTelemetryOpen {
  std::unique_ptr<TelemetrySource> source;  // null when there is no telemetry
  std::string error;                        // then why: no NVML, no such GPU, a build without CUDA
};
// How often the energy counter is read: each read costs the driver milliseconds of CPU.
inline constexpr std::chrono::milliseconds energy_counter_period{10'000};
// Never throws.
GpuTelemetryOpen open_gpu_telemetry(int index, std::chrono::milliseconds energy_period = energy_counter_period);

}  // namespace dagminer::gpu
