#include "dagminer/core/telemetry.hpp"

namespace dagminer {

std::string_view to_string(ThrottleReason reason) noexcept {
  switch (reason) {
    case ThrottleReason::gpu_idle: return "gpu_idle";
    case ThrottleReason::applications_clocks: return "applications_clocks";
    case ThrottleReason::sw_power_cap: return "sw_power_cap";
    case ThrottleReason::hw_slowdown: return "hw_slowdown";
    case ThrottleReason::sync_boost: return "sync_boost";
    case ThrottleReason::sw_thermal: return "sw_thermal";
    case ThrottleReason::hw_thermal: return "hw_thermal";
    case ThrottleReason::hw_power_brake: return "hw_power_brake";
    case ThrottleReason::display_clocks: return "display_clocks";
  }
  return "unknown";
}

std::vector<std::string_view> throttle_reason_names(std::uint64_t mask) {
  std::vector<std::string_view> out;
  for (const ThrottleReason r : all_throttle_reasons)
    if (mask & static_cast<std::uint64_t>(r)) out.push_back(to_string(r));
  return out;
}

}  // namespace dagminer
