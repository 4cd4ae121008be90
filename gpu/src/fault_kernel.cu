#include "fault_kernel.hpp"

#include <cstdint>

namespace dagminer::gpu {
namespace {

// Bounded, so a test that fails to end the process leaves no kernel spinning on the card.
constexpr std::uint64_t hang_nanoseconds = 120ull * 1000 * 1000 * 1000;

__global__ void illegal_address_kernel(unsigned* nowhere) { *nowhere = 1; }

__device__ std::uint64_t global_nanoseconds() {
  std::uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void hang_kernel(std::uint64_t nanoseconds) {
  const std::uint64_t start = global_nanoseconds();
  while (global_nanoseconds() - start < nanoseconds) __nanosleep(1000000);
}

}  // namespace

cudaError_t launch_injected_fault(InjectedFault fault, cudaStream_t stream) {
  switch (fault) {
    case InjectedFault::illegal_address:
      // An address no allocation covers (the first page is never mapped).
      illegal_address_kernel<<<1, 1, 0, stream>>>(reinterpret_cast<unsigned*>(std::uintptr_t{64}));
      break;
    case InjectedFault::hang: hang_kernel<<<1, 1, 0, stream>>>(hang_nanoseconds); break;
  }
  return cudaGetLastError();
}

}  // namespace dagminer::gpu
