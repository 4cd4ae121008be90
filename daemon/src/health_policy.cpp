#include "dagminer/daemon/health_policy.hpp"

#include <spdlog/fmt/fmt.h>

namespace dagminer {

const ProtectionSettings& ProtectionConfig::for_device(const std::string& id) const {
  const auto it = devices.find(id);
  return it == devices.end() ? defaults : it->second;
}

std::string_view to_string(PauseReason reason) noexcept {
  return reason == PauseReason::temperature ? "temperature" : "memory_temperature";
}

std::optional<PauseReason> ProtectionState::reason() const noexcept {
  if (temperature) return PauseReason::temperature;
  if (memory_temperature) return PauseReason::memory_temperature;
  return std::nullopt;
}

namespace {

void apply_sensor(bool& tripped, PauseReason reason, const TemperatureLimit& limit, std::optional<double> reading,
                  std::vector<ProtectionEvent>& events) {
  if (!limit.on()) {
    tripped = false;
    return;
  }
  if (!reading) return;
  if (!tripped && *reading >= limit.limit) {
    tripped = true;
    events.push_back({reason, true, *reading, limit.limit, limit.resume});
  } else if (tripped && *reading <= limit.resume) {
    tripped = false;
    events.push_back({reason, false, *reading, limit.resume, limit.resume});
  }
}

}  // namespace

std::vector<ProtectionEvent> apply_reading(ProtectionState& state, const ProtectionSettings& settings,
                                           const std::optional<DeviceTelemetry>& reading) {
  std::vector<ProtectionEvent> events;
  apply_sensor(state.temperature, PauseReason::temperature, settings.core, reading ? reading->temperature_c : std::nullopt,
               events);
  apply_sensor(state.memory_temperature, PauseReason::memory_temperature, settings.memory,
               reading ? reading->memory_temperature_c : std::nullopt, events);
  return events;
}

std::string describe(const std::string& device, const ProtectionEvent& e) {
  const bool core = e.reason == PauseReason::temperature;
  const char* sensor = core ? "temperature" : "memory temperature";
  if (e.paused)
    return fmt::format("device {}: {} {:g} °C reached {} {:g} °C: no work until it is back at {:g} °C", device, sensor, e.reading,
                       core ? "temperature_limit" : "memory_temperature_limit", e.threshold, e.resume);
  return fmt::format("device {}: {} {:g} °C is back at {} {:g} °C: mining again", device, sensor, e.reading,
                     core ? "temperature_resume" : "memory_temperature_resume", e.threshold);
}

}  // namespace dagminer
