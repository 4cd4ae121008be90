// Which pools the devices mine (failover or split), how a job's nonce space is shared between
// devices, and the share accounting. Pure policy: the daemon feeds it pool states and outcomes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dagminer/core/job.hpp"

namespace dagminer {

// failover: one pool at a time, by priority; split: every alive pool at once, by weight.
enum class Strategy { failover, split };
std::string_view to_string(Strategy s) noexcept;

// A pool as the selector weighs it.
struct PoolCandidate {
  std::string name;
  int priority = 0;
  unsigned weight = 1;
  bool enabled = true;
  bool alive = false;               // connected, authorized and holding a current job
  Clock::time_point alive_since{};  // when it last became alive
};

// A pool the selector chose to mine, with its part of the hashes (relative to the others chosen).
struct SelectedPool {
  std::string pool;
  unsigned weight = 1;
  bool operator==(const SelectedPool&) const = default;
};

class PoolSelector {
 public:
  PoolSelector(Strategy strategy, std::chrono::milliseconds fallback_after)
      : strategy_(strategy), fallback_after_(fallback_after) {}

  // failover: the first alive pool by priority (then config order); once mining a pool, a
  // better one takes over once alive for fallback_after, or at once when alive for the first
  // time (at the start, the primary's first job may come after the backup's: nothing says it is
  // unstable). split: every alive pool, by weight. Empty when no pool is alive.
  std::vector<SelectedPool> select(std::span<const PoolCandidate> pools, Clock::time_point now);

 private:
  Strategy strategy_;
  std::chrono::milliseconds fallback_after_;
  std::string current_;               // failover: the pool being mined
  std::set<std::string> ever_alive_;  // failover: pools seen alive by an earlier select()
};

// Device `index` of `count` gets this part of a job's miner-owned nonces: disjoint slices, so
// no two devices ever search the same nonce of a job.
struct NonceRange {
  std::uint64_t start = 0;
  std::uint64_t count = 0;
};
NonceRange device_slice(const NonceSpace& space, std::size_t index, std::size_t count) noexcept;

struct ShareCounts {
  std::uint64_t found = 0;  // candidates that reached the CPU check
  std::uint64_t accepted = 0, rejected = 0, stale = 0, timed_out = 0, pending = 0, hardware_errors = 0;
  double accepted_difficulty = 0;  // sum of the accepted shares' job difficulties: what the pool credits
  // The invariant every counter set keeps at every moment (timed-out shares count as rejected
  // by the pool's silence, so they are part of the balance too).
  bool balanced() const noexcept { return found == accepted + rejected + stale + timed_out + pending + hardware_errors; }
};

// Per pool, per device and in total. Not thread-safe: the daemon uses it on its event loop.
class ShareLedger {
 public:
  void found(const std::string& pool, const std::string& device);
  void hardware_error(const std::string& pool, const std::string& device);  // failed CPU verification
  // job_difficulty: of the share's job target (an accepted share adds it to accepted_difficulty).
  void resolved(const std::string& pool, const std::string& device, const ShareResult& result, double job_difficulty);

  ShareCounts pool(const std::string& name) const;
  ShareCounts device(const std::string& id) const;
  const ShareCounts& total() const noexcept { return total_; }
  const std::map<std::string, ShareCounts>& pools() const noexcept { return pools_; }
  const std::map<std::string, ShareCounts>& devices() const noexcept { return devices_; }

 private:
  template <typename F>
  void apply(const std::string& pool, const std::string& device, F&& change);
  std::map<std::string, ShareCounts> pools_, devices_;
  ShareCounts total_;
};

}  // namespace dagminer
