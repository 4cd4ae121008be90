#include "dagminer/daemon/job_book.hpp"

namespace dagminer {

JobTag JobBook::add(const std::string& pool, Job job) {
  PoolJobs& mine = pools_[pool];
  if (const auto current = find(mine.current); current && current->job.same_work(job)) return mine.current;
  if (job.clean)
    for (auto tag : mine.recent)
      if (auto j = jobs_.find(tag); j != jobs_.end()) j->second->valid = false;

  auto record = std::make_shared<JobRecord>();
  record->job = std::move(job);
  record->epoch_since = record->job.received;
  if (const auto previous = find(mine.current)) {
    const Job& p = previous->job;
    if (p.algo == record->job.algo && p.epoch == record->job.epoch) record->epoch_since = previous->epoch_since;
  }
  const JobTag tag = next_tag_++;
  jobs_[tag] = std::move(record);
  mine.recent.push_back(tag);
  while (mine.recent.size() > jobs_kept_per_pool) {
    jobs_.erase(mine.recent.front());
    mine.recent.pop_front();
  }
  mine.current = tag;
  return tag;
}

std::shared_ptr<JobRecord> JobBook::find(JobTag tag) const {
  const auto it = jobs_.find(tag);
  return it == jobs_.end() ? nullptr : it->second;
}

JobTag JobBook::current_tag(const std::string& pool) const {
  const auto it = pools_.find(pool);
  return it == pools_.end() ? 0 : it->second.current;
}

void JobBook::forget(const std::string& pool) {
  const auto it = pools_.find(pool);
  if (it == pools_.end()) return;
  for (auto tag : it->second.recent) jobs_.erase(tag);
  pools_.erase(it);
}

}  // namespace dagminer
