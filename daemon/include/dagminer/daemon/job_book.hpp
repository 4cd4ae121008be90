// The jobs the pools sent, by tag (the number a device's work and candidates carry): each
// pool's current job and its recent ones, whether a clean job has replaced them since, and the
// light cache each is verified against. Lives on the event loop.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "dagminer/core/ethash.hpp"
#include "dagminer/core/job.hpp"

namespace dagminer {

using JobTag = std::uint64_t;  // 0: no job

struct JobRecord {
  Job job;
  std::shared_ptr<const LightCache> cache;  // null until built or loaded
  bool valid = true;                        // false once the pool sent a clean job after it
  Clock::time_point epoch_since{};          // arrival of the pool's first job at this job's epoch
};

class JobBook {
 public:
  // Candidates arrive within milliseconds of a switch: a pool's older jobs are forgotten.
  static constexpr std::size_t jobs_kept_per_pool = 64;

  // Files a pool's new job as its current one. A clean job makes the pool's earlier jobs invalid
  // (shares found for them are stale). The current job sent again unchanged (after a reconnect,
  // or by a node back with its work) keeps its tag: the devices go on after the nonces they
  // searched, so no share is found and sent twice.
  JobTag add(const std::string& pool, Job job);
  // Null when the tag is unknown: never issued, or expired.
  std::shared_ptr<JobRecord> find(JobTag tag) const;
  JobTag current_tag(const std::string& pool) const;
  std::shared_ptr<JobRecord> current(const std::string& pool) const { return find(current_tag(pool)); }
  // Drops a removed or reconfigured pool's jobs: a new connection starts afresh.
  void forget(const std::string& pool);

 private:
  struct PoolJobs {
    JobTag current = 0;
    std::deque<JobTag> recent;  // oldest first
  };
  std::map<JobTag, std::shared_ptr<JobRecord>> jobs_;
  std::map<std::string, PoolJobs> pools_;
  JobTag next_tag_ = 1;
};

}  // namespace dagminer
