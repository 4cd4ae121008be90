#include "dagminer/daemon/epoch_provider.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace dagminer {
namespace {

constexpr double mib = 1024.0 * 1024.0;

}  // namespace

EpochProvider::EpochProvider(boost::asio::any_io_executor loop, boost::asio::thread_pool& workers, LightCacheStore store,
                             std::uint64_t memory_budget, std::size_t keep)
    : loop_(std::move(loop)),
      workers_(workers),
      store_(std::move(store)),
      memory_budget_(memory_budget),
      keep_(std::max<std::size_t>(1, keep)) {}

std::shared_ptr<const LightCache> EpochProvider::find(Algorithm algo, int epoch) const {
  auto it = ready_.find({algo, epoch});
  return it == ready_.end() ? nullptr : it->second;
}

bool EpochProvider::get(Algorithm algo, int epoch, Ready ready, Need need) {
  const Key key{algo, epoch};
  if (auto cache = find(algo, epoch)) {
    std::erase(recent_, key);
    recent_.push_back(key);
    ready(std::move(cache));
    return true;
  }
  if (auto it = builds_.find(key); it != builds_.end()) {
    it->second.waiters.push_back(std::move(ready));  // one build per epoch: wait for it
    return true;
  }
  if (!make_room(key, need)) return false;
  Build& build = builds_[key];
  build.id = next_build_id_++;
  build.waiters.push_back(std::move(ready));
  start_build(key, build.id, build.stop.get_token());
  return true;
}

// Frees the least recently used caches until the new one fits the budget beside those kept and
// those being built; false (logged) when it cannot fit, and then nothing is freed: the caches
// kept may be those of the jobs mined now. A cache wanted ahead may free only caches that nobody
// else holds: evicting one a job still uses would reload it at that pool's next job.
bool EpochProvider::make_room(Key key, Need need) {
  const std::uint64_t wanted = light_cache_bytes(key.second);
  std::uint64_t held = 0;
  for (const auto& [k, build] : builds_) held += light_cache_bytes(k.second);
  const std::uint64_t building = held;
  std::vector<Key> evictable;  // least recently used first
  std::uint64_t freeable = 0;
  for (const Key& k : recent_) {
    const auto& cache = ready_.at(k);
    held += cache->bytes().size();
    if (need == Need::ahead && cache.use_count() > 1) continue;
    evictable.push_back(k);
    freeable += cache->bytes().size();
  }
  if (held - freeable + wanted > memory_budget_) {
    if (need == Need::mine)  // the preparer says its own, once
      spdlog::error(
          "light cache {} epoch {}: not built: its {:.0f} MiB beside the {:.0f} MiB being built would exceed "
          "light_cache_memory ({:.0f} MiB); raise it, or mine fewer epochs at once",
          to_string(key.first), key.second, wanted / mib, building / mib, memory_budget_ / mib);
    return false;
  }
  for (const Key& k : evictable) {
    if (held + wanted <= memory_budget_) break;
    held -= ready_.at(k)->bytes().size();
    ready_.erase(k);  // devices keep their own reference while they mine it
    std::erase(recent_, k);
  }
  return true;
}

void EpochProvider::start_build(Key key, std::uint64_t id, std::stop_token stop) {
  spdlog::info("light cache {} epoch {}: loading or building ({:.0f} MiB)", to_string(key.first), key.second,
               light_cache_bytes(key.second) / mib);
  boost::asio::post(workers_, [this, key, id, stop = std::move(stop)] {
    const auto start = std::chrono::steady_clock::now();
    std::shared_ptr<const LightCache> cache;
    try {
      auto result = store_.get(key.first, key.second, stop);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
      const char* how = result.source == LightCacheStore::Source::loaded  ? "loaded"
                        : result.source == LightCacheStore::Source::built ? "built"
                                                                          : "rebuilt (the stored copy was damaged)";
      spdlog::info("light cache {} epoch {}: {} in {} ms ({})", to_string(key.first), key.second, how, ms,
                   store_.path_for(key.first, key.second).string());
      if (!result.save_error.empty())
        spdlog::warn("light cache not stored, it will be rebuilt next start: {}", result.save_error);
      cache = std::move(result.cache);
    } catch (const LightCacheCancelled&) {
      spdlog::info("light cache {} epoch {}: cancelled (stopping, or no job needs it any more)", to_string(key.first),
                   key.second);
    }
    boost::asio::post(loop_, [this, key, id, cache = std::move(cache)]() mutable { finished(key, id, std::move(cache)); });
  });
}

void EpochProvider::cancel_except(const std::set<Key>& wanted) {
  for (auto it = builds_.begin(); it != builds_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    it->second.stop.request_stop();
    it = builds_.erase(it);  // its waiters are dropped; a later get starts afresh
  }
}

void EpochProvider::finished(Key key, std::uint64_t id, std::shared_ptr<const LightCache> cache) {
  const auto it = builds_.find(key);
  if (it == builds_.end() || it->second.id != id) return;  // cancelled meanwhile
  auto waiters = std::move(it->second.waiters);
  builds_.erase(it);
  if (!cache) return;
  ready_[key] = cache;
  std::erase(recent_, key);
  recent_.push_back(key);
  // Past keep_ caches the least recently used that no job holds go: dropping one in use would
  // free nothing (its holders keep it) and load it again at its next job; the budget bounds all.
  for (auto k = recent_.begin(); recent_.size() > keep_ && k != recent_.end();) {
    if (ready_.at(*k).use_count() > 1) {
      ++k;
      continue;
    }
    ready_.erase(*k);
    k = recent_.erase(k);
  }
  for (auto& w : waiters) w(cache);
}

}  // namespace dagminer
