// The periodic summary line of the log: speed per device, each pool's state and shares, uptime.
#pragma once

#include <chrono>
#include <span>
#include <string>

#include "dagminer/daemon/status.hpp"

namespace dagminer {

// "12.35 MH/s": the largest unit that keeps the number at least 1, up to GH/s.
std::string format_rate(double hashes_per_second);

// "A/R/S 5/1/3", then "(2 timed out)" when the pool left shares unanswered: R is the pool's
// refusals only, as on the dashboard, the API and the metrics.
std::string format_shares(const ShareCounts& counts);

// "speed 3.00 kH/s [cpu0 1.00 kH/s cpu1 2.00 kH/s] | main up A/R/S 5/0/1 | hw errors 0 | uptime 0h01m05s";
// a GPU's rate is followed by its health ("gpu0 487.00 MH/s 62°C 699W 0.697 MH/J").
std::string summary_line(double total_rate, std::span<const DeviceStatus> devices, std::span<const PoolStatus> pools,
                         std::uint64_t hardware_errors, std::chrono::seconds uptime);

}  // namespace dagminer
