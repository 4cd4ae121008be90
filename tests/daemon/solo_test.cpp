// Solo mining in the engine: a simulated getwork node mined like any pool (blocks counted in the
// books and the pool status, pushed work timed to its first launch like a notify line), and
// failover from the node to a Stratum pool while the node is down, and back.
#include <gtest/gtest.h>

#include "daemon_harness.hpp"
#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/daemon/engine.hpp"
#include "dagminer/stratum/getwork_node.hpp"

namespace dagminer::test {
namespace {

PoolConfig pool_config(std::string name, std::string url, int priority) {
  PoolConfig p;
  p.name = std::move(name);
  p.url = std::move(url);
  p.user = "testwallet";
  p.priority = priority;
  p.job_timeout = std::chrono::seconds(6);
  p.response_timeout = std::chrono::seconds(2);
  p.backoff.initial = std::chrono::milliseconds(200);
  p.backoff.max = std::chrono::milliseconds(1000);
  return p;
}

class SoloTest : public ::testing::Test {
 protected:
  SoloTest() {
    stratum::GetworkNodeConfig c;
    c.difficulty = easy_difficulty;
    c.cache = shared_light_cache(Algorithm::ethash, 0);
    c.notify_urls = {"http://127.0.0.1:" + std::to_string(notify_port_) + "/"};
    node_ = std::make_unique<stratum::GetworkNode>(io_, c);
  }

  Engine& start(std::vector<PoolConfig> pools) {
    Config c;
    c.pools = std::move(pools);
    c.strategy = Strategy::failover;
    c.fallback_after = std::chrono::seconds(2);
    c.light_cache_dir = shared_cache_directory();
    c.summary_interval = std::chrono::seconds(5);
    std::vector<std::unique_ptr<SearchDevice>> devices;
    devices.push_back(std::make_unique<CpuSearchDevice>(1, 16, "cpu0"));
    engine_ = std::make_unique<Engine>(io_, std::move(c), std::move(devices));
    engine_->start();
    return *engine_;
  }
  bool run_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!cond()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (io_.stopped()) io_.restart();
      io_.run_for(20ms);
    }
    return true;
  }
  bool stop() {
    bool done = false;
    engine_->stop(std::chrono::seconds(3), [&] { done = true; });
    return run_until([&] { return done; }, 10s);
  }
  const PoolStatus status(const std::string& name) const {
    for (const auto& p : engine_->pools())
      if (p.name == name) return p;
    throw std::out_of_range(name);
  }
  PoolConfig node_pool() const {
    PoolConfig p = pool_config("node", node_->url(), 0);
    p.getwork_poll = std::chrono::milliseconds(300);
    // The node's one header lasts until new_block(): mine it at its own easy target from the start
    // rather than at the share-rate bound the engine derives before it has measured a hashrate.
    p.max_share_rate = 100000;
    p.notify_listen = ListenAddress{"127.0.0.1", notify_port_};
    return p;
  }

  boost::asio::io_context io_;
  std::uint16_t notify_port_ = free_loopback_port();
  std::unique_ptr<stratum::GetworkNode> node_;
  SimulatedPools pools_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(SoloTest, BlocksFoundAreInTheBooksAndPushedWorkIsTimed) {
  Engine& engine = start({node_pool()});
  ASSERT_TRUE(run_until([&] { return engine.ledger().pool("node").accepted >= 2; }, 60s));
  const std::uint64_t switches = engine.devices().at(0).job_switch.count();
  node_->new_block();  // pushed to notify_listen
  ASSERT_TRUE(run_until([&] { return engine.devices().at(0).job_switch.count() > switches; }, 10s));
  const std::uint64_t blocks_shown = status("node").blocks_found;
  ASSERT_TRUE(stop());
  const auto books = engine.ledger().pool("node");
  EXPECT_TRUE(books.balanced());
  EXPECT_EQ(books.accepted, node_->stats().blocks_accepted);
  EXPECT_GE(blocks_shown, 2u);
  EXPECT_LE(blocks_shown, books.accepted);
  EXPECT_GE(node_->stats().pushes, 1u);
}

TEST_F(SoloTest, FailsOverToAStratumPoolWhileTheNodeIsDownAndBack) {
  const auto backup = pools_.add(simulator("backup"));
  Engine& engine = start({node_pool(), pool_config("backup", pools_.url(backup), 1)});
  ASSERT_TRUE(run_until([&] { return engine.ledger().pool("node").accepted >= 1; }, 60s));
  EXPECT_FALSE(status("backup").mining);

  node_->set_down(true);
  ASSERT_TRUE(run_until([&] { return engine.ledger().pool("backup").accepted >= 2; }, 60s));
  EXPECT_FALSE(status("node").alive);
  EXPECT_TRUE(status("backup").mining);

  node_->set_down(false);
  const std::uint64_t blocks = engine.ledger().pool("node").accepted;
  ASSERT_TRUE(run_until([&] { return status("node").mining && engine.ledger().pool("node").accepted > blocks; }, 60s));
  EXPECT_FALSE(status("backup").mining);
  ASSERT_TRUE(stop());
  EXPECT_TRUE(engine.ledger().total().balanced());
  EXPECT_EQ(engine.ledger().total().pending, 0u);
}

}  // namespace
}  // namespace dagminer::test
