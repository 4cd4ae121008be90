// Light caches for the epochs the pools ask for, built or loaded off the event loop (a build
// takes seconds) and kept for reuse. Callbacks run on the event loop. At most one build per
// (algorithm, epoch) runs at a time; the caches held and being built stay within a memory
// budget; a build can be cancelled (a stop, or newer jobs that no longer need its epoch).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stop_token>
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
  using Key = std::pair<Algorithm, int>;
  // Why a cache is wanted: a job mines it now, or the next epoch is prepared ahead. A cache
  // prepared ahead only takes the room of caches no job or device holds.
  enum class Need { mine, ahead };

  EpochProvider(boost::asio::any_io_executor loop, boost::asio::thread_pool& workers, LightCacheStore store,
                std::uint64_t memory_budget, std::size_t keep = 4);

  // The cache if it is ready now, else nullptr.
  std::shared_ptr<const LightCache> find(Algorithm algo, int epoch) const;
  // True while the cache is being built or loaded.
  bool pending(Algorithm algo, int epoch) const { return builds_.count({algo, epoch}) > 0; }
  // Calls ready(cache) on the loop once the cache exists (at once if it does already). A build
  // that is cancelled calls no one. False, calling no one, when the build is refused because it
  // would exceed the memory budget (logged); a later get tries again.
  bool get(Algorithm algo, int epoch, Ready ready, Need need = Need::mine);
  // Cancels the builds whose key is not in `wanted`; their waiters are dropped.
  void cancel_except(const std::set<Key>& wanted);
  void cancel_all() { cancel_except({}); }
  void set_memory_budget(std::uint64_t bytes) noexcept { memory_budget_ = bytes; }

 private:
  struct Build {
    std::uint64_t id = 0;
    std::stop_source stop;
    std::vector<Ready> waiters;
  };
  bool make_room(Key key, Need need);
  void start_build(Key key, std::uint64_t id, std::stop_token stop);
  void finished(Key key, std::uint64_t id, std::shared_ptr<const LightCache> cache);

  boost::asio::any_io_executor loop_;
  boost::asio::thread_pool& workers_;
  LightCacheStore store_;
  std::uint64_t memory_budget_;
  std::size_t keep_;
  std::map<Key, std::shared_ptr<const LightCache>> ready_;
  std::vector<Key> recent_;      // most recently used last
  std::map<Key, Build> builds_;  // in flight and who waits for them
  std::uint64_t next_build_id_ = 1;
};

}  // namespace dagminer
