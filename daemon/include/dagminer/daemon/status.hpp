// What the engine reports of its pools and devices: read by the HTTP API, /metrics, the
// summary line and the tests. Plain values, so rendering them needs no engine.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "dagminer/core/device.hpp"
#include "dagminer/core/device_memory.hpp"
#include "dagminer/core/latency.hpp"
#include "dagminer/core/scheduler.hpp"
#include "dagminer/core/telemetry.hpp"
#include "dagminer/daemon/health_policy.hpp"

namespace dagminer {

struct DeviceStatus {
  DeviceInfo info;
  DeviceCounters counters;
  double hashrate = 0;                       // H/s over the last rate interval
  std::optional<MemoryStats> memory;         // GPUs only
  std::string fault;                         // why a GPU stopped on its own; empty if healthy
  std::string dag_problem;                   // a pool's epoch whose DAG this GPU cannot hold (its pools mine elsewhere)
  LatencyRecorder job_switch;                // a job's notify line read to its first launch here (same epoch)
  std::optional<DeviceTelemetry> telemetry;  // GPUs with NVML
  std::optional<double> hashes_per_joule;    // the last rate interval's hashrate over the power draw
  ProtectionState protection;                // what pauses it now
  ProtectionSettings limits;                 // the temperature limits in force for it
  std::optional<LaunchReport> launch;        // GPUs: the launch shape, where it came from (tuned, stored...)
};

struct PoolStatus {
  std::string name;
  std::string url;
  bool enabled = true;
  bool alive = false;
  bool mining = false;  // selected by the strategy right now
  std::string current_job;
  int epoch = -1;
  ShareCounts shares;
  std::optional<std::chrono::milliseconds> latency;  // round trip of the last answered request, while connected
  std::string problem;             // why the pool is marked unhealthy (its shares rejected, a wrong algorithm); empty if not
  std::uint64_t blocks_found = 0;  // getwork: solutions the node accepted, since the daemon started
};

}  // namespace dagminer
