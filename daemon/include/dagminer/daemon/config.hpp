// The daemon's configuration: one YAML file (etc/dagminer.yaml documents every key). Loading
// reports every problem with its line and column; unknown keys are errors, so typos never
// pass silently. The loader lives in the daemon: core/ is standard library only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dagminer/core/memory_budget.hpp"
#include "dagminer/core/pool_config.hpp"
#include "dagminer/core/scheduler.hpp"
#include "dagminer/daemon/health_policy.hpp"

namespace dagminer {

struct DeviceSelection {
  bool all_gpus = true;      // "all": every GPU found, or the CPU when there is none
  std::vector<int> gpus;     // explicit GPU indices
  unsigned cpu = 0;          // CPU backend devices: "cpu" listed n times (implied once by "all" without a GPU)
  unsigned cpu_threads = 0;  // per CPU device; 0: every hardware thread
  bool operator==(const DeviceSelection&) const = default;
};

// The HTTP API and /metrics. Without a token the control endpoints are open, so the API may
// then listen only on a loopback address.
struct ApiConfig {
  bool enabled = true;                       // `listen: ""` turns the API off
  std::string host = "127.0.0.1";            // an IP address (IPv6 without brackets)
  std::uint16_t port = 4067;                 // 0: any free port (the log names it)
  std::string token;                         // bearer token for the control endpoints; empty: none
  unsigned max_connections_per_address = 8;  // of the 32 connections, so one client cannot hold them all
  bool operator==(const ApiConfig&) const = default;
};

// A log file besides stdout, rotated by size.
struct LogFileConfig {
  std::filesystem::path file;                 // empty: no file
  std::uint64_t max_size = 10 * 1024 * 1024;  // bytes per file
  unsigned max_files = 5;                     // rotated files kept besides the current one
  bool operator==(const LogFileConfig&) const = default;
};

struct Config {
  std::vector<PoolConfig> pools;
  Strategy strategy = Strategy::failover;
  std::chrono::seconds fallback_after{120};
  DeviceSelection devices;
  MemoryBudget memory;
  // Build the next epoch's light cache and DAG while mining the current one, so an epoch change
  // does not stop hashing; false saves the memory of a second DAG and pays the pause instead.
  bool prepare_next_epoch = true;
  // The highest DAG epoch a pool may ask for: a job past it is refused, so a hostile or broken pool
  // cannot make the daemon build a cache of gigabytes. Live chains are far below (ETH stopped near
  // Ethash epoch 500; ETC is near Etchash epoch 431 in late 2026).
  int max_epoch = 1024;
  std::uint64_t light_cache_memory = 1ull << 30;  // light caches held and being built, in bytes
  std::filesystem::path light_cache_dir;          // empty: LightCacheStore::default_directory()
  // GPUs whose search launch shape is pinned ("block=128 registers=96 launch=2097152 streams=3",
  // checked when loaded) by index; the others tune theirs online and keep it in light_cache_dir.
  std::map<int, std::string> launch_shapes;
  std::filesystem::path share_journal;  // empty: no journal
  std::string log_level = "info";
  std::chrono::seconds summary_interval{60};
  LogFileConfig log;
  ApiConfig api;
  ProtectionConfig protection;  // temperature limits, global and per device (device_settings)
  GpuFaultAction gpu_fault_action = GpuFaultAction::restart;

  const PoolConfig* find_pool(std::string_view name) const noexcept;
};

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no position (a missing file)
  int column = 0;  // 1-based
  std::string message;
  std::string to_string() const;  // "file:line:column: message"
};

struct ConfigLoad {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<ConfigError> errors;
};

// A configuration is a few KiB; a larger file is a mistake (the wrong path) and is refused.
inline constexpr std::size_t max_config_bytes = 1 << 20;

ConfigLoad parse_config(std::string_view yaml_text, const std::string& file_name = "<config>");
// Reads only a regular file of at most max_config_bytes, without blocking.
ConfigLoad load_config(const std::filesystem::path& file);

// "1500ms", "30s", "2m", "1h", or a plain number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// "8GiB", "512MiB", "4000000000", "4G" (decimal), or "90%" (fraction of free memory).
std::optional<MemoryBudget> parse_memory_budget(std::string_view text);

}  // namespace dagminer
