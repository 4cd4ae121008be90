// The light-cache provider under a hostile pool's requests (issue 16, rows 3 and 4): one build per
// epoch, a memory budget, and builds that a stop cancels.
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "dagminer/daemon/epoch_provider.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer::test {
namespace {

TEST(EpochProvider, AStopCancelsABuildAndNothingIsStored) {
  TempDir dir;
  boost::asio::io_context io;
  boost::asio::thread_pool workers(1);
  EpochProvider epochs(io.get_executor(), workers, LightCacheStore(dir.path()), 1ull << 30);
  int calls = 0;
  epochs.get(Algorithm::ethash, 400, [&](auto) { ++calls; });  // seconds to build
  epochs.get(Algorithm::ethash, 400, [&](auto) { ++calls; });
  EXPECT_TRUE(epochs.pending(Algorithm::ethash, 400));
  epochs.cancel_all();
  workers.join();  // returns once the build has seen the stop
  io.run();
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(epochs.pending(Algorithm::ethash, 400));
  EXPECT_FALSE(std::filesystem::exists(LightCacheStore(dir.path()).path_for(Algorithm::ethash, 400)));
}

TEST(EpochProvider, BuildCancelledThrowsFromCore) {
  std::stop_source stop;
  stop.request_stop();
  EXPECT_THROW(build_light_cache(Algorithm::ethash, 400, stop.get_token()), LightCacheCancelled);
}

TEST(EpochProvider, ABuildOverTheMemoryBudgetIsRefused) {
  TempDir dir;
  boost::asio::io_context io;
  boost::asio::thread_pool workers(1);
  EpochProvider epochs(io.get_executor(), workers, LightCacheStore(dir.path()), light_cache_bytes(10));
  bool called = false;
  EXPECT_FALSE(epochs.get(Algorithm::ethash, 30000, [&](auto) { called = true; }));  // 3.9 GB: refused at once
  EXPECT_FALSE(epochs.pending(Algorithm::ethash, 30000));
  workers.join();
  io.run();
  EXPECT_FALSE(called);
}

// A cache that cannot fit even alone frees nothing: the caches kept may be the ones mined now.
TEST(EpochProvider, ARefusedBuildLeavesTheReadyCaches) {
  shared_light_cache(Algorithm::ethash, 0);  // stored in the shared directory: loaded below
  boost::asio::io_context io;
  boost::asio::thread_pool workers(1);
  EpochProvider epochs(io.get_executor(), workers, LightCacheStore(shared_cache_directory()), light_cache_bytes(0));
  std::shared_ptr<const LightCache> zero;
  ASSERT_TRUE(epochs.get(Algorithm::ethash, 0, [&](auto cache) { zero = std::move(cache); }));
  workers.join();  // the load is done and posted
  io.run();
  ASSERT_NE(zero, nullptr);
  EXPECT_FALSE(epochs.get(Algorithm::ethash, 1, [](auto) { ADD_FAILURE() << "over the budget"; }));
  EXPECT_NE(epochs.find(Algorithm::ethash, 0), nullptr);
}

// Epoch 0's cache held by a job, in a budget with room for one cache of epoch 1's size.
class OneCacheInUse : public ::testing::Test {
 protected:
  void SetUp() override {
    shared_light_cache(Algorithm::ethash, 0);  // stored in the shared directory: loaded below
    ASSERT_TRUE(epochs.get(Algorithm::ethash, 0, [&](auto cache) { zero = std::move(cache); }));
    workers.join();
    io.run();
    ASSERT_NE(zero, nullptr);
  }
  void TearDown() override { epochs.cancel_all(); }

  boost::asio::io_context io;
  boost::asio::thread_pool workers{1};
  EpochProvider epochs{io.get_executor(), workers, LightCacheStore(shared_cache_directory()), light_cache_bytes(1)};
  std::shared_ptr<const LightCache> zero;
};

// The next epoch prepared ahead may not push out a cache a job still holds (that pool's next job
// would load it again); once nobody holds it, it makes room.
TEST_F(OneCacheInUse, AnEpochWantedAheadLeavesIt) {
  const auto refused = [](auto) { ADD_FAILURE() << "no room beside the cache in use"; };
  EXPECT_FALSE(epochs.get(Algorithm::ethash, 1, refused, EpochProvider::Need::ahead));
  EXPECT_FALSE(epochs.pending(Algorithm::ethash, 1));
  EXPECT_NE(epochs.find(Algorithm::ethash, 0), nullptr);

  zero.reset();  // the job is gone: only the provider holds it
  const auto ready = [](auto) {};
  EXPECT_TRUE(epochs.get(Algorithm::ethash, 1, ready, EpochProvider::Need::ahead));
  EXPECT_EQ(epochs.find(Algorithm::ethash, 0), nullptr);
}

// A job's own epoch takes its room: mining what the pool sends comes first.
TEST_F(OneCacheInUse, AnEpochAJobNeedsTakesItsRoom) {
  EXPECT_TRUE(epochs.get(Algorithm::ethash, 1, [](auto) {}));
  EXPECT_EQ(epochs.find(Algorithm::ethash, 0), nullptr);
}

// Past the count of caches kept, one a job still holds stays: dropping it would free nothing and
// load it again at that job's next share.
TEST(EpochProvider, PastItsCountACacheInUseIsKept) {
  shared_light_cache(Algorithm::ethash, 0);
  shared_light_cache(Algorithm::ethash, 1);
  boost::asio::io_context io;
  boost::asio::thread_pool workers(1);
  EpochProvider epochs(io.get_executor(), workers, LightCacheStore(shared_cache_directory()), 1ull << 30, 1);
  std::shared_ptr<const LightCache> zero, one;
  ASSERT_TRUE(epochs.get(Algorithm::ethash, 0, [&](auto cache) { zero = std::move(cache); }));
  ASSERT_TRUE(epochs.get(Algorithm::ethash, 1, [&](auto cache) { one = std::move(cache); }));
  workers.join();  // both loads are done and posted
  io.run();
  ASSERT_NE(zero, nullptr);
  ASSERT_NE(one, nullptr);
  EXPECT_NE(epochs.find(Algorithm::ethash, 0), nullptr);
  EXPECT_NE(epochs.find(Algorithm::ethash, 1), nullptr);
}

}  // namespace
}  // namespace dagminer::test
