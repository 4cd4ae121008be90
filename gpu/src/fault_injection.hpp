// Test-only GPU fault injection: DAGMINER_INJECT_GPU_FAULT makes a device's kernel fault, so the
// fault path (the device faulted, the daemon's exit status, systemd's restart) can be tested on
// a real GPU. Unset in normal operation; README.md ("GPU faults") documents it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dagminer::gpu {

enum class InjectedFault {
  illegal_address,  // the launch writes outside any allocation: a sticky cudaErrorIllegalAddress
  hang,             // the launch spins (up to two minutes): a launch past its deadline
};

struct FaultInjection {
  InjectedFault fault = InjectedFault::illegal_address;
  std::uint64_t after_launches = 0;  // search launches that run normally first
};

// The fault for GPU `index` in a comma-separated list of "gpu<index>=<fault>[@<launches>]"
// ("gpu0=illegal_address", "gpu1=hang@500"). Throws std::invalid_argument naming the bad entry.
std::optional<FaultInjection> parse_fault_injection(std::string_view spec, int index);
// The same, read from DAGMINER_INJECT_GPU_FAULT; nullopt when it is unset.
std::optional<FaultInjection> injected_fault_for(int index);

}  // namespace dagminer::gpu
