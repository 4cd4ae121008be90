// Hardware protection and GPU faults, as policy: pure functions of settings and readings, so the
// tests drive them with readings of their own. The engine applies them (a paused or faulted device
// gets no work); dagminer never changes a card's settings (no clock, power or fan control).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dagminer/core/telemetry.hpp"

namespace dagminer {

// A limit with hysteresis: a reading at or above `limit` pauses the device; it mines again once
// the reading is at or below `resume`. A limit of 0 is off.
struct TemperatureLimit {
  double limit = 0;   // °C
  double resume = 0;  // °C, below limit
  bool on() const noexcept { return limit > 0; }
  bool operator==(const TemperatureLimit&) const = default;
};

struct ProtectionSettings {
  TemperatureLimit core{85, 75};    // etc/dagminer.yaml says why these defaults
  TemperatureLimit memory{95, 85};  // HBM; GDDR cards report no memory temperature through NVML
  bool operator==(const ProtectionSettings&) const = default;
};

// The global settings and the devices' own (each already resolved over the global ones).
struct ProtectionConfig {
  ProtectionSettings defaults;
  std::map<std::string, ProtectionSettings> devices;  // by device id: "gpu0", ...
  const ProtectionSettings& for_device(const std::string& id) const;
  bool operator==(const ProtectionConfig&) const = default;
};

enum class PauseReason { temperature, memory_temperature };
std::string_view to_string(PauseReason reason) noexcept;  // as the API and /metrics say it

// What pauses a device now; each sensor has its own hysteresis.
struct ProtectionState {
  bool temperature = false;
  bool memory_temperature = false;
  bool paused() const noexcept { return temperature || memory_temperature; }
  bool paused_for(PauseReason r) const noexcept { return r == PauseReason::temperature ? temperature : memory_temperature; }
  std::optional<PauseReason> reason() const noexcept;  // the core's first when both
  bool operator==(const ProtectionState&) const = default;
};

// One sensor crossing a threshold, for the warning logged each time.
struct ProtectionEvent {
  PauseReason reason;
  bool paused;       // true: reached its limit; false: cooled to its resume temperature
  double reading;    // °C
  double threshold;  // the limit or the resume temperature crossed
  double resume;     // the resume temperature in force (said in the pause warning)
};

// Applies one reading. A sensor without a reading keeps its state (an unreadable sensor is no
// proof that the card cooled); a limit turned off clears its sensor.
std::vector<ProtectionEvent> apply_reading(ProtectionState& state, const ProtectionSettings& settings,
                                           const std::optional<DeviceTelemetry>& reading);

// "gpu0: temperature 86 °C reached temperature_limit 85 °C: no work until it is back at 75 °C"
std::string describe(const std::string& device, const ProtectionEvent& event);

// What the daemon does when a GPU fault poisons the process's use of that GPU.
enum class GpuFaultAction {
  restart,   // settle the shares and exit with gpu_fault_exit_status; systemd starts a new process
  continue_  // the healthy devices mine on; the faulted one stays idle until a restart
};

// EX_TEMPFAIL (sysexits.h): a temporary failure that a restart can cure. The unit forces a
// restart on it (RestartForceExitStatus=); README.md ("GPU faults") documents it.
inline constexpr int gpu_fault_exit_status = 75;

}  // namespace dagminer
