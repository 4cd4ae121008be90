#include "share_check.hpp"

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/error_codes.hpp"

namespace dagminer::stratum {
namespace {

ShareCheck invalid(std::string why) { return {ShareVerdict::invalid, std::move(why), {}, 0}; }

}  // namespace

void IssuedJobs::issue(IssuedJob job, bool clean) {
  if (clean)
    for (auto& j : jobs_) j.valid = false;
  jobs_.push_back(std::move(job));
  while (jobs_.size() > remembered) jobs_.pop_front();
}

// The newest job that matches: pools may reuse job ids.
const IssuedJob* IssuedJobs::find(const Submission& share) const {
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it)
    if (share.header ? it->header == *share.header : it->id == share.job_id) return &*it;
  return nullptr;
}

ShareCheck IssuedJobs::check(const Submission& share) {
  const IssuedJob* job = find(share);
  if (!job || !job->valid) return {ShareVerdict::stale, {}, share.job_id, 0};
  const auto number = parse_hex_u64(share.nonce_hex);
  std::uint64_t nonce = 0;
  if (share.header) {  // EthProxy: the full nonce, 0x and 16 digits
    if (!number) return invalid("malformed nonce");
    nonce = *number;
  } else {
    const std::size_t digits = 2 * (8 - job->nonces.extranonce_bytes());
    if (!number || share.nonce_hex.size() != digits)
      return invalid("the nonce must be " + std::to_string(digits) + " hex digits");
    nonce = job->nonces.compose(*number);
  }
  // Recorded before the hash is checked: a share is submitted once, whatever its fate.
  if (!submitted_.insert({job->header, nonce}).second) return {ShareVerdict::duplicate, {}, job->id, nonce};
  const HashResult hash = hashimoto_light(*job->cache, job->header, nonce);
  if (share.mix && *share.mix != hash.mix_hash) return invalid("mix hash does not match");
  if (!meets_target(hash.final_hash, job->target)) return {ShareVerdict::low_difficulty, {}, job->id, nonce};
  return {ShareVerdict::accepted, {}, job->id, nonce};
}

std::optional<RpcError> rejection(const ShareCheck& check) {
  switch (check.verdict) {
    case ShareVerdict::accepted: return std::nullopt;
    case ShareVerdict::stale: return RpcError{code(StratumError::stale), "Job not found"};
    case ShareVerdict::duplicate: return RpcError{code(StratumError::duplicate), "Duplicate share"};
    case ShareVerdict::low_difficulty: return RpcError{code(StratumError::low_difficulty), "Low difficulty share"};
    case ShareVerdict::invalid: return RpcError{code(StratumError::other), check.why};
  }
  return RpcError{code(StratumError::other), "unknown verdict"};
}

RpcError unauthorized_error() { return {code(StratumError::unauthorized), "Unauthorized worker"}; }

}  // namespace dagminer::stratum
