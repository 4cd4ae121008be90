// A device's hardware readings (temperatures, power, clocks, ...), as a GPU reports them through
// NVML. Each reading is optional: a card reports what it has (no fan on a passively cooled card,
// no memory temperature on GDDR cards), and a device without telemetry (the CPU backend) has none.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace dagminer {

// Why the clocks are below their maximum, as NVML's clock event (throttle) reason bits.
enum class ThrottleReason : std::uint64_t {
  gpu_idle = 0x1,
  applications_clocks = 0x2,
  sw_power_cap = 0x4,
  hw_slowdown = 0x8,
  sync_boost = 0x10,
  sw_thermal = 0x20,
  hw_thermal = 0x40,
  hw_power_brake = 0x80,
  display_clocks = 0x100,
};

inline constexpr ThrottleReason all_throttle_reasons[] = {
    ThrottleReason::sw_power_cap,        ThrottleReason::hw_slowdown,    ThrottleReason::sw_thermal,
    ThrottleReason::hw_thermal,          ThrottleReason::hw_power_brake, ThrottleReason::gpu_idle,
    ThrottleReason::applications_clocks, ThrottleReason::sync_boost,     ThrottleReason::display_clocks};

std::string_view to_string(ThrottleReason reason) noexcept;  // "sw_power_cap", ...
// The words of the reasons set in an NVML reason mask, in all_throttle_reasons' order.
std::vector<std::string_view> throttle_reason_names(std::uint64_t mask);

struct DeviceTelemetry {
  std::optional<double> temperature_c;         // core
  std::optional<double> memory_temperature_c;  // HBM cards
  std::optional<double> power_w;
  std::optional<double> power_limit_w;  // enforced
  std::optional<double> energy_j;       // since the driver was loaded
  std::optional<std::uint32_t> sm_clock_mhz;
  std::optional<std::uint32_t> memory_clock_mhz;
  std::optional<double> fan_percent;
  std::optional<double> utilization_percent;
  std::optional<std::uint64_t> ecc_corrected;  // since the driver was loaded
  std::optional<std::uint64_t> ecc_uncorrected;
  std::optional<std::uint32_t> pcie_generation;
  std::optional<std::uint32_t> pcie_width;
  std::optional<std::uint64_t> throttle_reasons;  // ThrottleReason bits
};

// Where a device's readings come from (NVML for a GPU; the tests' own in the policy tests).
class TelemetrySource {
 public:
  virtual ~TelemetrySource() = default;
  // One reading of everything the device reports; nullopt when it reports nothing now.
  virtual std::optional<DeviceTelemetry> read() = 0;
};

}  // namespace dagminer
