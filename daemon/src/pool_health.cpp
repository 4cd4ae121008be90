#include "dagminer/daemon/pool_health.hpp"

#include <algorithm>
#include <map>

#include <spdlog/fmt/fmt.h>

#include "dagminer/stratum/error_codes.hpp"

namespace dagminer {
namespace {

using stratum::StratumError;

Algorithm other_than(Algorithm a) noexcept { return a == Algorithm::ethash ? Algorithm::etchash : Algorithm::ethash; }

bool contains(std::string text, std::string_view word) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.find(word) != std::string::npos;
}

// A rejection that names a cause other than the share's hash.
bool names_another_cause(const ShareResult& r) {
  if (r.code == code(StratumError::duplicate) || r.code == code(StratumError::unauthorized) ||
      r.code == code(StratumError::not_subscribed))
    return true;
  for (std::string_view word : {"unauthori", "not authori", "duplicate", "subscribe", "banned", "worker", "login"})
    if (contains(r.reason, word)) return true;
  return false;
}

// "its seed is that of Ethash epoch 2 and of Etchash epoch 1, mined here as ethash epoch 2".
std::string seed_readings(const Job& job) {
  const auto rounds = epoch_of_seed(Algorithm::ethash, job.seed);
  return fmt::format("its seed is that of Ethash epoch {} and of Etchash epoch {}, mined here as {} epoch {}",
                     rounds.value_or(-1), rounds.value_or(-1) / 2, to_string(job.algo), job.epoch);
}

}  // namespace

bool RejectionRun::record(const ShareResult& result) {
  if (result.outcome == ShareOutcome::accepted) run_.clear();
  if (result.outcome != ShareOutcome::rejected) return false;
  run_.push_back(result);
  return run_.size() == length;
}

std::string RejectionRun::seen() const {
  std::map<std::string, std::size_t> counts;  // the pool's words are already printable and capped
  for (const auto& r : run_) ++counts[r.reason.empty() ? "no reason given" : r.reason];
  std::string out;
  for (const auto& [reason, n] : counts) out += fmt::format("{}{} x{}", out.empty() ? "" : ", ", reason, n);
  return out;
}

bool RejectionRun::about_the_hash() const { return std::none_of(run_.begin(), run_.end(), names_another_cause); }

std::string rejection_problem(const RejectionRun& run, const Job* job, bool accepted_at_seed) {
  std::string line = fmt::format("{} shares in a row that verified here were rejected ({})", RejectionRun::length, run.seen());
  if (!job) return line;
  const Algorithm other = other_than(job->algo);
  if (run.about_the_hash() && !accepted_at_seed && epoch_of_seed(other, job->seed))
    return fmt::format(
        "{} and none was accepted at this seed: the pool likely computes {}; {}: set `algorithm: {}` for this pool", line,
        to_string(other), seed_readings(*job), to_string(other));
  if (accepted_at_seed) line += ", after shares accepted at this seed: not the algorithm";
  return line;
}

std::string algorithm_mismatch(const Job& job, const AlgorithmEvidence& evidence) {
  if (evidence.settled)
    return fmt::format(
        "job {}: {}: the pool computes {}, not {}; set `algorithm: {}` for this pool (its jobs are refused until then)", job.id,
        evidence.seen, to_string(evidence.algo), to_string(job.algo), to_string(evidence.algo));
  return fmt::format(
      "job {}: {}: likely an Ethereum Classic pool, mined here as {} epoch {}; if so, set `algorithm: {}` for this pool", job.id,
      evidence.seen, to_string(job.algo), job.epoch, to_string(evidence.algo));
}

}  // namespace dagminer
