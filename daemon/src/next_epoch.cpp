#include "dagminer/daemon/next_epoch.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "thread_name.hpp"

namespace dagminer {

void NextEpochPreparer::schedule_successor(Algorithm algo, int epoch, Clock::time_point now) {
  const int next = epoch + 1;
  if (next > max_epoch || epochs_.find(algo, next) || epochs_.pending(algo, next)) return;
  due_.try_emplace({algo, next}, now + delay);
}

void NextEpochPreparer::start_due(Clock::time_point now) {
  for (auto it = due_.begin(); it != due_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    const bool taken = epochs_.get(
        it->first.first, it->first.second,
        [this](std::shared_ptr<const LightCache> cache) {
          for (SearchDevice* device : devices_)
            boost::asio::post(workers_, [device, cache] {
              name_thread("prepare");
              try {
                device->prepare(cache);
              } catch (const std::exception& e) {
                spdlog::warn("device {}: preparing epoch {} ahead of time failed: {}", device->describe().id, cache->epoch,
                             e.what());
              }
            });
        },
        EpochProvider::Need::ahead);
    // Tried again at the next job's schedule (old jobs let go of their caches); said once.
    if (!taken && said_.insert(it->first).second)
      spdlog::info(
          "light cache {} epoch {}: not prepared ahead: no room in light_cache_memory beside the caches of the jobs in hand; "
          "tried again later, and built when a job needs it",
          to_string(it->first.first), it->first.second);
    it = due_.erase(it);
  }
}

}  // namespace dagminer
