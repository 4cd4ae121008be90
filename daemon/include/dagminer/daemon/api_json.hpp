// The JSON bodies of the read-only API endpoints (README.md, "HTTP API and metrics").
#pragma once

#include <boost/json/object.hpp>

#include "dagminer/daemon/service_snapshot.hpp"

namespace dagminer {

boost::json::object summary_json(const ServiceSnapshot& s);  // GET /api/v1/summary
boost::json::object pools_json(const ServiceSnapshot& s);    // GET /api/v1/pools
boost::json::object devices_json(const ServiceSnapshot& s);  // GET /api/v1/devices

// A device's "telemetry": its readings (missing ones null) and MH/J; null without readings.
boost::json::value telemetry_json(const std::optional<DeviceTelemetry>& t, std::optional<double> hashes_per_joule);
// A device's "protection": {"paused": bool, "reason": "temperature" | "memory_temperature" | null}.
boost::json::object protection_json(const ProtectionState& p);

}  // namespace dagminer
