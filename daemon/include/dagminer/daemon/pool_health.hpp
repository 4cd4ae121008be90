// Whether a pool accepts what this miner computes. A pool set to the wrong algorithm (an Ethereum
// Classic pool without `algorithm: etchash`) rejects every share though each verified here; the
// daemon must say why in one line rather than look healthy. Pure: the engine feeds it outcomes
// and jobs, and marks the pool.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "dagminer/core/algorithm_evidence.hpp"
#include "dagminer/core/job.hpp"

namespace dagminer {

// Rejections in a row of one pool's shares (every share sent verified here first).
class RejectionRun {
 public:
  static constexpr std::size_t length = 5;  // rejections in a row that mark the pool

  // An accepted share ends the run; a stale or timed-out one says nothing of the pool's check and
  // leaves it. True when this rejection makes the run `length` long.
  bool record(const ShareResult& result);
  void clear() noexcept { run_.clear(); }
  // The pool's words, each with its count: "Low difficulty share (code 23) x5".
  std::string seen() const;
  // No rejection in the run named another cause (unauthorized, duplicate, not subscribed): they
  // were about the hash, or said nothing.
  bool about_the_hash() const;

 private:
  std::vector<ShareResult> run_;
};

// Why a full run marks the pool, for the log and the API. `job` is the pool's current job (null
// when it has none); accepted_at_seed: a share of the pool was accepted since its seed last
// changed, which rules the algorithm out. Only a run about the hash, at a seed that fits the other
// algorithm too, with nothing accepted at it, is called a wrong algorithm.
std::string rejection_problem(const RejectionRun& run, const Job* job, bool accepted_at_seed);

// The one line for a job whose seed (and height) points to another algorithm than the one it is
// mined with: settled evidence refuses the job, likely evidence is a warning.
std::string algorithm_mismatch(const Job& job, const AlgorithmEvidence& evidence);

}  // namespace dagminer
