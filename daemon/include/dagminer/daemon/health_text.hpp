// A device's health in a few words, for the summary line and the systemd STATUS line.
#pragma once

#include <string>

#include "dagminer/daemon/status.hpp"

namespace dagminer {

// "62°C mem 45°C 699W 0.697 MH/J", then " paused (temperature)" or " faulted" when so; only the
// readings the device has (empty for a healthy device without telemetry).
std::string device_health_text(const DeviceStatus& d);

}  // namespace dagminer
