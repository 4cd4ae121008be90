// Share checking: the jobs a session was given, and a submitted share judged against them with
// the light hashimoto (job known and current, nonce well formed, not seen before, mix hash as
// computed, final hash within the job's target). Authorization is the session's business.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "dagminer/core/ethash.hpp"
#include "dagminer/core/job.hpp"
#include "dagminer/stratum/protocol.hpp"

namespace dagminer::stratum {

// A job as one session received it: the session's target and extranonce at the time.
struct IssuedJob {
  std::string id;
  Hash256 header{};
  Target target{};
  NonceSpace nonces;
  std::shared_ptr<const LightCache> cache;  // of the job's epoch
  bool valid = true;                        // false once a clean job replaced it
};

// A share as submitted. EthereumStratum names the job by id and sends only the miner's part of
// the nonce; EthProxy names it by header and sends the whole nonce and the mix hash.
struct Submission {
  std::string job_id;
  std::optional<Hash256> header;
  std::string nonce_hex;
  std::optional<Hash256> mix;
};

enum class ShareVerdict { accepted, stale, duplicate, low_difficulty, invalid };

struct ShareCheck {
  ShareVerdict verdict = ShareVerdict::accepted;
  std::string why;          // for invalid shares: what was wrong
  std::string job_id;       // the job the share was for, when found
  std::uint64_t nonce = 0;  // the full nonce, when well formed
};

class IssuedJobs {
 public:
  // Only the most recent jobs are remembered; shares for older ones are stale.
  static constexpr std::size_t remembered = 16;

  // A clean job makes every earlier one stale.
  void issue(IssuedJob job, bool clean);
  ShareCheck check(const Submission& share);
  std::size_t size() const noexcept { return jobs_.size(); }
  bool empty() const noexcept { return jobs_.empty(); }

 private:
  const IssuedJob* find(const Submission& share) const;
  std::deque<IssuedJob> jobs_;
  std::set<std::pair<Hash256, std::uint64_t>> submitted_;  // (header, nonce)
};

// The pool's answer to a share it refuses (with a Stratum error code); nullopt when accepted.
std::optional<RpcError> rejection(const ShareCheck& check);
// The error for a worker that is not authorized (or a share while the pool rejects everything).
RpcError unauthorized_error();

}  // namespace dagminer::stratum
