// The daemon's state at one moment, as the HTTP API and /metrics report it. Taken on the event
// loop; rendered (api_json.hpp, metrics.hpp) without touching the engine again.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dagminer/daemon/build_info.hpp"
#include "dagminer/daemon/status.hpp"

namespace dagminer {

struct ServiceSnapshot {
  BuildInfo build;
  double uptime_seconds = 0;
  bool paused = false;
  bool mining = false;
  std::string health_problem;              // empty when healthy
  double hashrate = 0;                     // H/s, all devices
  ShareCounts shares;                      // in total
  std::uint64_t share_journal_errors = 0;  // records the share journal could not write
  std::vector<PoolStatus> pools;
  std::vector<DeviceStatus> devices;
  std::map<std::string, ShareCounts> device_shares;              // by device id
  std::map<std::string, ShareCounts> pool_shares;                // by pool name: removed pools and "(expired)" too
  std::map<std::string, std::uint64_t> api_refused_connections;  // by reason: total (every slot taken), per_address
};

}  // namespace dagminer
