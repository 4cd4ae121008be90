#include "miner_session.hpp"

#include "dagminer/stratum/protocol.hpp"

namespace dagminer::stratum {

void MinerSession::notify(std::string_view method, const boost::json::value& params) const {
  outbox->send(notification_line(dialect(), method, params));
}

void count_share(SessionStats& stats, ShareVerdict verdict) noexcept {
  switch (verdict) {
    case ShareVerdict::accepted: ++stats.accepted; break;
    case ShareVerdict::stale: ++stats.stale; break;
    case ShareVerdict::duplicate: ++stats.duplicate; break;
    case ShareVerdict::low_difficulty: ++stats.low_difficulty; break;
    case ShareVerdict::invalid: ++stats.invalid; break;
  }
}

bool is_clean_for(const MinerSession& s, const PoolWork& work) noexcept { return work.clean || s.jobs.empty(); }

void issue_job(MinerSession& s, const PoolWork& work, bool clean) {
  s.jobs.issue({work.job_id, work.header, s.next_target, s.next_nonces, work.cache, true}, clean);
  ++s.stats.jobs;
}

}  // namespace dagminer::stratum
