#include "dagminer/daemon/share_router.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/core/target.hpp"
#include "dagminer/daemon/summary.hpp"
#include "thread_name.hpp"

namespace dagminer {

ShareRouter::ShareRouter(boost::asio::any_io_executor loop, const JobBook& jobs, SourceFinder sources)
    : loop_(std::move(loop)), jobs_(jobs), sources_(std::move(sources)) {}

ShareRouter::~ShareRouter() { verifiers_.join(); }

void ShareRouter::on_candidate(const std::string& device, const Candidate& candidate) {
  std::shared_ptr<const JobRecord> record = jobs_.find(candidate.tag);
  if (!record) {
    spdlog::warn("device {}: candidate nonce {} for a job no longer known (tag {}); discarded as stale", device,
                 to_hex_u64(candidate.nonce), candidate.tag);
    ledger_.found("(expired)", device);
    ledger_.resolved("(expired)", device, {ShareOutcome::stale, 0, "job expired", {}}, 0);
    return;
  }
  ++checking_;
  boost::asio::post(verifiers_, [this, device, record, candidate] {
    name_thread("verify");
    HashResult hash = hashimoto_light(*record->cache, record->job.header, candidate.nonce);
    boost::asio::post(loop_, [this, device, record, candidate, hash] { on_verified(device, record, candidate, hash); });
  });
}

void ShareRouter::on_verified(const std::string& device, std::shared_ptr<const JobRecord> record, Candidate candidate,
                              HashResult hash) {
  --checking_;
  const Job& job = record->job;
  if (hash.mix_hash != candidate.mix_hash) {
    ledger_.hardware_error(job.pool, device);
    spdlog::warn("device {}: hardware error: nonce {} for job {} of pool {} fails CPU verification (mix {} expected {})", device,
                 to_hex_u64(candidate.nonce), job.id, job.pool, to_hex(candidate.mix_hash), to_hex(hash.mix_hash));
    return;
  }
  if (!meets_target(hash.final_hash, job.target)) {
    // Passed the 64-bit boundary but not the full 256-bit target: not a share.
    spdlog::debug("device {}: nonce {} meets the 64-bit boundary but not the full target", device, to_hex_u64(candidate.nonce));
    return;
  }
  Share share{job.pool,
              job.id,
              job.header,
              candidate.nonce,
              hash.mix_hash,
              hash.final_hash,
              difficulty_of(hash.final_hash),
              device,
              Clock::now(),
              difficulty_of(job.target)};
  ledger_.found(job.pool, device);
  stratum::JobSource* source = sources_(job.pool);
  if (!record->valid || !source) {
    settle(share, {ShareOutcome::stale, 0, !record->valid ? "job replaced by a clean job" : "pool removed", {}});
    return;
  }
  const std::uint64_t id = source->submit(share);
  pending_[{job.pool, id}] = std::move(share);
}

void ShareRouter::on_share_result(const std::string& pool, std::uint64_t id, const ShareResult& result) {
  auto it = pending_.find({pool, id});
  if (it == pending_.end()) return;
  const Share share = std::move(it->second);
  pending_.erase(it);
  settle(share, result);
}

void ShareRouter::abandon(const std::string& pool, const std::string& why) {
  const stratum::JobSource* source = sources_(pool);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->first.first != pool) {
      ++it;
      continue;
    }
    // A share held while the pool was down never reached it: stale, not waiting for an answer.
    if (source && source->holds(it->first.second))
      settle(it->second, {ShareOutcome::stale, 0, "never sent: the pool was down at " + why, {}});
    else settle(it->second, {ShareOutcome::timed_out, 0, why + " before the pool answered", {}});
    it = pending_.erase(it);
  }
}

void ShareRouter::settle(const Share& share, const ShareResult& result) {
  ledger_.resolved(share.pool, share.device, result, share.job_difficulty);
  journal_.record(share, result);
  recent_.push({unix_seconds(std::chrono::system_clock::now()), share, result});
  const auto line = fmt::format("pool {}: share {} (job {}, nonce {}, difficulty {:.4g} of {:.4g}, device {}, {} ms){}{} [{}]",
                                share.pool, to_string(result.outcome), share.job_id, to_hex_u64(share.nonce), share.difficulty,
                                share.job_difficulty, share.device, result.round_trip.count(), result.reason.empty() ? "" : ": ",
                                result.reason, format_shares(ledger_.pool(share.pool)));
  if (result.outcome == ShareOutcome::accepted) spdlog::info("{}", line);
  else spdlog::warn("{}", line);
  if (settled_) settled_(share, result);
}

}  // namespace dagminer
