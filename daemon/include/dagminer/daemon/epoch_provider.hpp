// Light caches for the epochs the pools ask for, built or loaded off the event loop (a build
// takes seconds) and kept for reuse. Callbacks run on the event loop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include "dagminer/core/light_cache_store.hpp"

namespace dagminer {

class EpochProvider {
 public:
  using Ready = std::function<void(std::shared_ptr<const LightCache>)>;

  EpochProvider(boost::asio::any_io_executor loop, boost::asio::thread_pool& workers, LightCacheStore store,
                std::size_t keep = 4);

  // The cache if it is ready now, else nullptr.
  std::shared_ptr<const LightCache> find(Algorithm algo, int epoch) const;
  // True while the cache is being built or loaded.
  bool pending(Algorithm algo, int epoch) const { return waiting_.count({algo, epoch}) > 0; }
  // Calls ready(cache) on the loop once the cache exists (at once if it does already).
  void get(Algorithm algo, int epoch, Ready ready);

 private:
  using Key = std::pair<Algorithm, int>;
  void finished(Key key, std::shared_ptr<const LightCache> cache);

  boost::asio::any_io_executor loop_;
  boost::asio::thread_pool& workers_;
  LightCacheStore store_;
  std::size_t keep_;
  std::map<Key, std::shared_ptr<const LightCache>> ready_;
  std::vector<Key> recent_;                    // most recently used last
  std::map<Key, std::vector<Ready>> waiting_;  // builds in flight and who waits for them
};

}  // namespace dagminer
