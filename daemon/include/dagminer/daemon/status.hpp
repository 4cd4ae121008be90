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

namespace dagminer {

struct DeviceStatus {
  DeviceInfo info;
  DeviceCounters counters;
  double hashrate = 0;                // H/s over the last rate interval
  std::optional<MemoryStats> memory;  // GPUs only
  std::string fault;                  // why a GPU stopped on its own; empty if healthy
  LatencyRecorder job_switch;         // a job's notify line read to its first launch here (same epoch)
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
  std::uint64_t blocks_found = 0;                    // getwork: solutions the node accepted, since the pool started
};

}  // namespace dagminer
