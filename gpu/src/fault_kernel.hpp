// The kernels of the test-only fault injection (fault_injection.hpp).
#pragma once

#include <cuda_runtime_api.h>

#include "fault_injection.hpp"

namespace dagminer::gpu {

// Enqueues one launch that faults as asked; check the returned status, then the stream's completion.
cudaError_t launch_injected_fault(InjectedFault fault, cudaStream_t stream);

}  // namespace dagminer::gpu
