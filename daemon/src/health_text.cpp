#include "dagminer/daemon/health_text.hpp"

#include <spdlog/fmt/fmt.h>

namespace dagminer {

std::string device_health_text(const DeviceStatus& d) {
  std::string out;
  const auto add = [&out](const std::string& part) { out += (out.empty() ? "" : " ") + part; };
  if (const auto& t = d.telemetry) {
    if (t->temperature_c) add(fmt::format("{:.0f}°C", *t->temperature_c));
    if (t->memory_temperature_c) add(fmt::format("mem {:.0f}°C", *t->memory_temperature_c));
    if (t->power_w) add(fmt::format("{:.0f}W", *t->power_w));
  }
  if (d.hashes_per_joule) add(fmt::format("{:.3f} MH/J", *d.hashes_per_joule / 1e6));
  if (const auto reason = d.protection.reason()) add(fmt::format("paused ({})", to_string(*reason)));
  if (!d.fault.empty()) add("faulted");
  return out;
}

}  // namespace dagminer
