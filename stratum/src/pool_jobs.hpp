// The jobs a share may be submitted for: this connection's valid jobs, those valid when the last
// connection ended, and the shares found while disconnected (held until the next connection's
// first job says whether the pool still knows their job). Pure; internal to stratum/.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "dagminer/core/job.hpp"

namespace dagminer::stratum {

class PoolJobs {
 public:
  struct Entry {
    std::string id;
    Hash256 header{};
    NonceSpace nonces;  // the extranonce in force for this job
  };
  struct Held {
    std::uint64_t share_id;
    Share share;
  };
  // What the first job of a connection decides about the held shares.
  struct Release {
    std::vector<std::pair<Held, Entry>> renewed;  // the pool sent their job again: send them
    std::vector<Held> stale;                      // their job is gone
  };

  static constexpr std::size_t jobs_kept = 32;  // valid jobs of a connection (pools keep a few)

  // A job of this connection: a clean one voids the earlier ones; (id, header) is the key.
  void add(const Job& job);
  const Entry* find(const std::string& job_id, const Hash256& header) const;

  // A share found between connections is held when its job was valid at the last disconnect;
  // false when it is already stale.
  bool hold(std::uint64_t share_id, const Share& share);
  // The connection ended; `had_job`: it got jobs, which become the previous jobs (an attempt
  // that got none leaves those of the last good connection in place).
  void end_connection(bool had_job);
  // The first job of a connection arrived (add() it first): decides every held share.
  Release release();
  // Stopping: every held share, taken out.
  std::vector<Held> drop_held();

  std::size_t held() const noexcept { return held_.size(); }
  bool holds(std::uint64_t share_id) const noexcept;

 private:
  std::deque<Entry> jobs_;           // valid jobs of this connection, oldest first
  std::deque<Entry> previous_jobs_;  // valid when the last connection ended
  std::vector<Held> held_;
};

}  // namespace dagminer::stratum
