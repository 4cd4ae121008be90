#include "dagminer/daemon/epoch_provider.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace dagminer {

EpochProvider::EpochProvider(boost::asio::any_io_executor loop, boost::asio::thread_pool& workers, LightCacheStore store,
                             std::size_t keep)
    : loop_(std::move(loop)), workers_(workers), store_(std::move(store)), keep_(std::max<std::size_t>(1, keep)) {}

std::shared_ptr<const LightCache> EpochProvider::find(Algorithm algo, int epoch) const {
  auto it = ready_.find({algo, epoch});
  return it == ready_.end() ? nullptr : it->second;
}

void EpochProvider::get(Algorithm algo, int epoch, Ready ready) {
  const Key key{algo, epoch};
  if (auto cache = find(algo, epoch)) {
    std::erase(recent_, key);
    recent_.push_back(key);
    ready(std::move(cache));
    return;
  }
  auto& waiters = waiting_[key];
  waiters.push_back(std::move(ready));
  if (waiters.size() > 1) return;  // already being built
  boost::asio::post(workers_, [this, key] {
    const auto start = std::chrono::steady_clock::now();
    auto result = store_.get(key.first, key.second);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    const char* how = result.source == LightCacheStore::Source::loaded  ? "loaded"
                      : result.source == LightCacheStore::Source::built ? "built"
                                                                        : "rebuilt (the stored copy was damaged)";
    spdlog::info("light cache {} epoch {}: {} in {} ms ({})", to_string(key.first), key.second, how, ms,
                 store_.path_for(key.first, key.second).string());
    if (!result.save_error.empty()) spdlog::warn("light cache not stored, it will be rebuilt next start: {}", result.save_error);
    boost::asio::post(loop_, [this, key, cache = std::move(result.cache)]() mutable { finished(key, std::move(cache)); });
  });
}

void EpochProvider::finished(Key key, std::shared_ptr<const LightCache> cache) {
  ready_[key] = cache;
  std::erase(recent_, key);
  recent_.push_back(key);
  while (recent_.size() > keep_) {  // devices keep their own reference while they mine it
    ready_.erase(recent_.front());
    recent_.erase(recent_.begin());
  }
  auto waiters = std::move(waiting_[key]);
  waiting_.erase(key);
  for (auto& w : waiters) w(cache);
}

}  // namespace dagminer
