// gpu/ in a build without CUDA (nvcc absent at configure time): there is no CUDA runtime to
// ask, so there are no GPUs; discovery says why and opening one fails with no_device.
#include "dagminer/gpu/gpu_device.hpp"
#include "dagminer/gpu/gpu_telemetry.hpp"

namespace dagminer::gpu {
namespace {
constexpr const char* no_cuda = "built without CUDA support (nvcc was not found when dagminer was configured)";
}

GpuListing discover_gpus() { return {{}, no_cuda}; }

CudaVersions cuda_versions() { return {}; }

std::unique_ptr<GpuSearchDevice> open_gpu(int index, const GpuDeviceOptions&) {
  throw GpuError(ErrorKind::no_device, "gpu" + std::to_string(index) + ": " + no_cuda);
}

GpuTelemetryOpen open_gpu_telemetry(int index, std::chrono::milliseconds) {
  return {nullptr, "gpu" + std::to_string(index) + ": " + no_cuda};
}

std::unique_ptr<GpuMemoryManager> make_device_memory_manager(int index, const MemoryBudget&) {
  throw GpuError(ErrorKind::no_device, "gpu" + std::to_string(index) + ": " + no_cuda);
}

}  // namespace dagminer::gpu
