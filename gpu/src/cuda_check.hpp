// Turns CUDA status codes into typed GpuErrors naming the device and the call.
#pragma once

#include <string>

#include <cuda_runtime_api.h>

#include "dagminer/gpu/error.hpp"

namespace dagminer::gpu {

ErrorKind error_kind_of(cudaError_t status) noexcept;

// Throws GpuError("gpu<device>: <what>: <CUDA's message>") unless status is cudaSuccess.
void check_cuda(cudaError_t status, int device, const std::string& what);

// Makes `device` current on the calling thread (CUDA keeps the current device per thread).
void use_device(int device);

}  // namespace dagminer::gpu
