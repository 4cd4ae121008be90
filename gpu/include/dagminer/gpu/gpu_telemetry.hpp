// The hardware readings of a CUDA device, through NVML (loaded at run time), matched to the CUDA
// device by PCI bus id: NVML and CUDA may number the GPUs differently.
#pragma once

#include <memory>
#include <string>

#include "dagminer/core/telemetry.hpp"

namespace dagminer::gpu {

struct GpuTelemetryOpen {
  std::unique_ptr<TelemetrySource> source;  // null when there is no telemetry
  std::string error;                        // then why: no NVML, no such GPU, a build without CUDA
};
// Never throws.
GpuTelemetryOpen open_gpu_telemetry(int index);

}  // namespace dagminer::gpu
