#include "dagminer/gpu/gpu_telemetry.hpp"

#include <stdexcept>

#include <cuda_runtime_api.h>

#include "nvml.hpp"

namespace dagminer::gpu {

GpuTelemetryOpen open_gpu_telemetry(int index, std::chrono::milliseconds energy_period) {
  char bus_id[32] = {};  // "0000:3B:00.0"
  if (const cudaError_t e = cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, index); e != cudaSuccess)
    return {nullptr, "gpu" + std::to_string(index) + ": no PCI bus id from CUDA: " + cudaGetErrorString(e)};
  try {
    return {open_nvml_telemetry(bus_id, energy_period), {}};
  } catch (const std::runtime_error& e) {
    return {nullptr, e.what()};
  }
}

}  // namespace dagminer::gpu
