// The CUDA side of the memory manager (allocator, DAG builder) and device discovery.
#include <algorithm>
#include <cstdio>

#include <cuda_runtime_api.h>

#include "cuda_check.hpp"
#include "dag_build.hpp"
#include "dagminer/gpu/gpu_device.hpp"

namespace dagminer::gpu {

ErrorKind error_kind_of(cudaError_t status) noexcept {
  switch (status) {
    case cudaErrorMemoryAllocation: return ErrorKind::out_of_memory;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorCallRequiresNewerDriver: return ErrorKind::no_device;
    case cudaErrorInvalidDevice:
    case cudaErrorDevicesUnavailable:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion: return ErrorKind::invalid_device;
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorECCUncorrectable:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorContextIsDestroyed:
    case cudaErrorDeviceUninitialized: return ErrorKind::device_lost;
    case cudaErrorLaunchOutOfResources:
    case cudaErrorInvalidConfiguration:
    case cudaErrorLaunchTimeout: return ErrorKind::launch_failed;
    default: return ErrorKind::cuda_call;
  }
}

void check_cuda(cudaError_t status, int device, const std::string& what) {
  if (status == cudaSuccess) return;
  throw GpuError(error_kind_of(status), "gpu" + std::to_string(device) + ": " + what + ": " + cudaGetErrorString(status) + " (" +
                                            cudaGetErrorName(status) + ")");
}

void use_device(int device) { check_cuda(cudaSetDevice(device), device, "cudaSetDevice"); }

namespace {

class CudaAllocator final : public DeviceAllocator {
 public:
  explicit CudaAllocator(int device) : device_(device) {}
  std::string device_id() const override { return "gpu" + std::to_string(device_); }
  std::uint64_t free_device_bytes() const override {
    use_device(device_);
    std::size_t free = 0, total = 0;
    check_cuda(cudaMemGetInfo(&free, &total), device_, "cudaMemGetInfo");
    return free;
  }
  void* allocate_device(std::uint64_t bytes) override {
    use_device(device_);
    void* p = nullptr;
    check_cuda(cudaMalloc(&p, bytes), device_, "cudaMalloc of " + std::to_string(bytes) + " bytes");
    return p;
  }
  void* allocate_host(std::uint64_t bytes) override {
    use_device(device_);
    void* p = nullptr;
    check_cuda(cudaHostAlloc(&p, bytes, cudaHostAllocPortable), device_,
               "cudaHostAlloc of " + std::to_string(bytes) + " pinned bytes");
    return p;
  }
  // Freeing cannot report: a failure here means the context is already gone with the memory.
  void free_device(void* p) noexcept override {
    if (cudaSetDevice(device_) == cudaSuccess) (void)cudaFree(p);
  }
  void free_host(void* p) noexcept override { (void)cudaFreeHost(p); }

 private:
  int device_;
};

}  // namespace

// Items per DAG-build launch: bounded so one launch stays well under a second on any card.
constexpr std::uint32_t dag_items_per_launch = 1u << 24;

void build_dag(int device, const DagBuffers& b, const LightCache& cache, const DagBuildShape& shape) {
  use_device(device);
  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), device, "cudaStreamCreate for the DAG build");
  const std::string what = "DAG build of " + to_string(DagKey{cache.algo, cache.epoch});
  try {
    const auto bytes = cache.bytes();
    check_cuda(cudaMemcpyAsync(b.light, bytes.data(), bytes.size(), cudaMemcpyHostToDevice, stream), device,
               what + ": light cache upload");
    const std::uint64_t items = b.dag_bytes / dataset_item_bytes;
    for (std::uint64_t first = 0; first < items; first += dag_items_per_launch) {
      const auto count = static_cast<std::uint32_t>(std::min<std::uint64_t>(dag_items_per_launch, items - first));
      check_cuda(launch_dag_build(b.light, b.light_items, b.dag, static_cast<std::uint32_t>(first), count, shape, stream), device,
                 what + ": launch");
    }
    check_cuda(cudaStreamSynchronize(stream), device, what);
  } catch (...) {
    (void)cudaStreamDestroy(stream);
    throw;
  }
  check_cuda(cudaStreamDestroy(stream), device, "cudaStreamDestroy after the DAG build");
}

GpuListing discover_gpus() {
  GpuListing out;
  int count = 0;
  if (const cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    out.error = std::string("CUDA: ") + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ")";
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (const cudaError_t e = cudaGetDeviceProperties(&p, i); e != cudaSuccess) {
      out.error += "gpu" + std::to_string(i) + ": " + cudaGetErrorString(e) + "; ";
      continue;
    }
    out.devices.push_back(
        {"gpu" + std::to_string(i), "cuda", p.name, p.totalGlobalMem, std::to_string(p.major) + "." + std::to_string(p.minor)});
  }
  if (count == 0) out.error = "CUDA: no CUDA-capable device";
  return out;
}

CudaVersions cuda_versions() {
  CudaVersions v;
  // Failures leave 0: no driver (cudaDriverGetVersion then reports 0 itself).
  if (cudaRuntimeGetVersion(&v.runtime) != cudaSuccess) v.runtime = 0;
  if (cudaDriverGetVersion(&v.driver) != cudaSuccess) v.driver = 0;
  return v;
}

std::unique_ptr<GpuMemoryManager> make_device_memory_manager(int index, const MemoryBudget& budget) {
  int count = 0;
  check_cuda(cudaGetDeviceCount(&count), index, "cudaGetDeviceCount");
  if (index < 0 || index >= count)
    throw GpuError(ErrorKind::no_device,
                   "gpu" + std::to_string(index) + ": no such device (" + std::to_string(count) + " found)");
  return std::make_unique<GpuMemoryManager>(
      std::make_unique<CudaAllocator>(index),
      [index](const DagBuffers& b, const LightCache& cache) { build_dag(index, b, cache); }, budget);
}

}  // namespace dagminer::gpu
