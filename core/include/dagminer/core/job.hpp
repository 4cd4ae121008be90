// What flows between the pool clients, the scheduler and the devices: jobs in, shares out.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "dagminer/core/ethash.hpp"
#include "dagminer/core/target.hpp"

namespace dagminer {

using Clock = std::chrono::steady_clock;

// A pool's job, with the difficulty and extranonce in force when it arrived (set_difficulty and
// set_extranonce apply to the next job). Pools reuse job ids: (id, header) is the key.
struct Job {
  std::string pool;  // pool name from the config
  std::string id;    // as the pool sent it
  Algorithm algo = Algorithm::ethash;
  int epoch = 0;  // DAG epoch found from the seed
  Hash256 seed{};
  Hash256 header{};
  Target target{};
  NonceSpace nonces;   // the extranonce prefix of this session
  bool clean = false;  // earlier jobs of this pool are void
  std::optional<std::uint64_t> height;
  Clock::time_point received{};

  // The same job sent again (after a reconnect): nothing a device searches or a pool checks differs.
  bool same_work(const Job& o) const noexcept {
    return pool == o.pool && id == o.id && algo == o.algo && epoch == o.epoch && header == o.header && target == o.target &&
           nonces == o.nonces;
  }
};

// A verified solution for a job, on its way to the pool that produced the job.
struct Share {
  std::string pool;
  std::string job_id;
  Hash256 header{};
  std::uint64_t nonce = 0;
  Hash256 mix_hash{};
  Hash256 final_hash{};
  double difficulty = 0;  // of the final hash
  std::string device;
  Clock::time_point found{};
  double job_difficulty = 0;  // of the job's target: what the pool credits for the share
};

enum class ShareOutcome { accepted, rejected, stale, timed_out };

struct ShareResult {
  ShareOutcome outcome = ShareOutcome::accepted;
  int code = 0;        // pool error code when rejected (21 stale, 22 duplicate, 23 low difficulty, ...)
  std::string reason;  // pool's words, or why we decided
  std::chrono::milliseconds round_trip{0};
};

inline const char* to_string(ShareOutcome o) noexcept {
  switch (o) {
    case ShareOutcome::accepted: return "accepted";
    case ShareOutcome::rejected: return "rejected";
    case ShareOutcome::stale: return "stale";
    case ShareOutcome::timed_out: return "timed_out";
  }
  return "unknown";
}

}  // namespace dagminer
