// What a device's memory holds, as it reports it through SearchDevice::status(): the daemon
// shows it (API, /metrics) without knowing which backend filled it in.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dagminer/core/ethash.hpp"

namespace dagminer {

enum class MemoryKind : std::uint8_t { dag, light_cache, staging, results };
inline constexpr std::size_t memory_kind_count = 4;
std::string_view to_string(MemoryKind kind) noexcept;

// One resident epoch: its DAG and light cache.
struct DagKey {
  Algorithm algo = Algorithm::ethash;
  int epoch = 0;
  auto operator<=>(const DagKey&) const = default;
};
std::string to_string(const DagKey& key);

struct MemoryStats {
  std::array<std::uint64_t, memory_kind_count> bytes{};  // allocated now, by MemoryKind
  std::uint64_t budget_bytes = 0;
  std::uint64_t transfers = 0;
  std::uint64_t bytes_to_device = 0;
  std::uint64_t bytes_to_host = 0;
  std::uint64_t dag_builds = 0;
  std::uint64_t evictions = 0;
  std::uint64_t buffer_allocations = 0;  // staging/results pairs allocated (not reused)
  double last_dag_build_seconds = 0;     // light-cache upload + build, wall time
  double total_dag_build_seconds = 0;
  std::vector<DagKey> resident;  // most recently used first

  std::uint64_t bytes_of(MemoryKind kind) const noexcept { return bytes[static_cast<std::size_t>(kind)]; }
};

}  // namespace dagminer
