// GET /metrics: the daemon's state in the Prometheus text exposition format, version 0.0.4
// (README.md, "HTTP API and metrics", lists the metrics).
#pragma once

#include <string>

#include "dagminer/daemon/service_snapshot.hpp"

namespace dagminer {

inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

std::string prometheus_metrics(const ServiceSnapshot& s);

}  // namespace dagminer
