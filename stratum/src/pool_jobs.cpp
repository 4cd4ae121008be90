#include "pool_jobs.hpp"

#include <algorithm>
#include <utility>

namespace dagminer::stratum {

namespace {

const PoolJobs::Entry* find_in(const std::deque<PoolJobs::Entry>& jobs, const std::string& id, const Hash256& header) {
  const auto it =
      std::find_if(jobs.begin(), jobs.end(), [&](const PoolJobs::Entry& e) { return e.id == id && e.header == header; });
  return it == jobs.end() ? nullptr : &*it;
}

}  // namespace

void PoolJobs::add(const Job& job) {
  if (job.clean) jobs_.clear();
  std::erase_if(jobs_, [&](const Entry& e) { return e.id == job.id && e.header == job.header; });
  jobs_.push_back({job.id, job.header, job.nonces});
  while (jobs_.size() > jobs_kept) jobs_.pop_front();
}

const PoolJobs::Entry* PoolJobs::find(const std::string& job_id, const Hash256& header) const {
  return find_in(jobs_, job_id, header);
}

bool PoolJobs::hold(std::uint64_t share_id, const Share& share) {
  if (!find(share.job_id, share.header) && !find_in(previous_jobs_, share.job_id, share.header)) return false;
  held_.push_back({share_id, share});
  return true;
}

void PoolJobs::end_connection(bool had_job) {
  if (had_job) previous_jobs_ = std::move(jobs_);
  jobs_.clear();
}

PoolJobs::Release PoolJobs::release() {
  Release out;
  previous_jobs_.clear();
  for (auto& h : std::exchange(held_, {})) {
    if (const Entry* job = find(h.share.job_id, h.share.header)) out.renewed.emplace_back(std::move(h), *job);
    else out.stale.push_back(std::move(h));
  }
  return out;
}

std::vector<PoolJobs::Held> PoolJobs::drop_held() { return std::exchange(held_, {}); }

bool PoolJobs::holds(std::uint64_t share_id) const noexcept {
  return std::any_of(held_.begin(), held_.end(), [&](const Held& h) { return h.share_id == share_id; });
}

}  // namespace dagminer::stratum
