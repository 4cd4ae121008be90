// The engine in process: CPU devices and simulated pools over loopback, the engine on the
// test's own event loop (run in steps between checks, so the test reads the engine's state on
// the engine's thread). Shares accepted with the books balanced, failover, split by weight,
// stale shares kept from the pool, every share settled at stop, a pool no source can use; solo
// mining against a simulated getwork node (blocks in the books, pushed work timed, failover to a
// Stratum pool and back).
#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <random>
#include <set>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "captured_log.hpp"
#include "daemon_harness.hpp"
#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/daemon/api_json.hpp"
#include "dagminer/daemon/engine.hpp"
#include "dagminer/daemon/metrics.hpp"
#include "dagminer/stratum/getwork_node.hpp"
#include "reporting_device.hpp"

namespace dagminer::test {
namespace {

constexpr auto shutdown_grace = std::chrono::seconds(3);

struct PoolSpec {
  std::string name;
  std::string url;
  int priority = 0;
  unsigned weight = 1;
};

Config engine_config(const std::vector<PoolSpec>& pools, Strategy strategy) {
  Config c;
  for (const auto& spec : pools) {
    PoolConfig p;
    p.name = spec.name;
    p.url = spec.url;
    p.user = "testwallet";
    p.worker = "rig";
    p.priority = spec.priority;
    p.weight = spec.weight;
    p.job_timeout = std::chrono::seconds(6);
    p.response_timeout = std::chrono::seconds(3);
    p.hashrate_interval = std::chrono::seconds(2);
    p.backoff.initial = std::chrono::milliseconds(200);
    p.backoff.max = std::chrono::milliseconds(1000);
    c.pools.push_back(p);
  }
  c.strategy = strategy;
  c.fallback_after = std::chrono::seconds(3);
  c.light_cache_dir = test::shared_cache_directory();
  c.summary_interval = std::chrono::seconds(2);
  return c;
}

std::vector<std::unique_ptr<SearchDevice>> cpu_devices(unsigned count) {
  std::vector<std::unique_ptr<SearchDevice>> out;
  for (unsigned i = 0; i < count; ++i) out.push_back(std::make_unique<CpuSearchDevice>(1, 16, "cpu" + std::to_string(i)));
  return out;
}

const PoolStatus& status_of(const std::vector<PoolStatus>& pools, const std::string& name) {
  for (const auto& p : pools)
    if (p.name == name) return p;
  throw std::out_of_range(name);
}

// The CPU backend, its candidates held back until stop(): as a GPU's last launches complete in
// its drain, after the engine has begun to stop.
class LastLaunchesDevice final : public SearchDevice {
 public:
  DeviceInfo describe() const override { return cpu_.describe(); }
  void prepare(std::shared_ptr<const LightCache> epoch) override { cpu_.prepare(std::move(epoch)); }
  void set_work(std::vector<WorkItem> work) override { cpu_.set_work(std::move(work)); }
  void start(DeviceSinks sinks) override {
    deliver_ = std::move(sinks.candidate);
    sinks.candidate = [this](const Candidate& c) {
      std::lock_guard lock(mutex_);
      held_.push_back(c);
    };
    cpu_.start(std::move(sinks));
  }
  void stop() override {
    cpu_.stop();
    std::lock_guard lock(mutex_);
    for (const auto& c : held_) deliver_(c);
    delivered_ += held_.size();
    held_.clear();
  }
  DeviceCounters counters() const override { return cpu_.counters(); }
  DeviceStatusReport status() const override { return cpu_.status(); }
  std::size_t held() const {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  std::size_t delivered() const {
    std::lock_guard lock(mutex_);
    return delivered_;
  }

 private:
  CpuSearchDevice cpu_{1, 16, "gpu0"};
  std::function<void(const Candidate&)> deliver_;
  mutable std::mutex mutex_;
  std::vector<Candidate> held_;
  std::size_t delivered_ = 0;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { shared_light_cache(Algorithm::ethash, 0); }

  Engine& start(Config config, unsigned devices = 1) {
    engine_ = std::make_unique<Engine>(io_, std::move(config), cpu_devices(devices));
    engine_->start();
    return *engine_;
  }
  // Runs the engine's loop until cond() holds (checked between steps) or the timeout passes.
  bool run_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!cond()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (io_.stopped()) io_.restart();
      io_.run_for(20ms);
    }
    return true;
  }
  // Stops the engine as `dagminer run` does and runs the loop until it is done.
  bool stop(std::chrono::milliseconds grace = shutdown_grace) {
    bool done = false;
    engine_->stop(grace, [&] { done = true; });
    return run_until([&] { return done; }, grace + 5s);
  }
  std::uint64_t accepted(const std::string& pool) const { return engine_->ledger().pool(pool).accepted; }

  boost::asio::io_context io_;
  SimulatedPools pools_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, SharesAreAcceptedWithTheBooksBalanced) {
  const auto pool = pools_.add(simulator("solo"));
  Engine& engine = start(engine_config({{"solo", pools_.url(pool)}}, Strategy::failover));
  ASSERT_TRUE(run_until([&] { return accepted("solo") >= 3; }, 60s));
  EXPECT_TRUE(engine.ledger().pool("solo").balanced());
  EXPECT_TRUE(engine.ledger().total().balanced());
  EXPECT_TRUE(engine.mining());
  EXPECT_TRUE(status_of(engine.pools(), "solo").alive);
  EXPECT_TRUE(status_of(engine.pools(), "solo").mining);
  ASSERT_TRUE(stop());

  const auto books = engine.ledger().pool("solo");
  const auto pool_side = pools_.totals(pool);
  EXPECT_EQ(books.pending, 0u);
  EXPECT_TRUE(books.balanced());
  EXPECT_TRUE(engine.ledger().total().balanced());
  EXPECT_EQ(books.hardware_errors, 0u);
  // Every share accepted here was accepted there; one the pool accepted without an answer in
  // time is timed out here, never lost.
  EXPECT_LE(books.accepted, pool_side.accepted);
  EXPECT_LE(pool_side.accepted, books.accepted + books.timed_out);
  EXPECT_EQ(pool_side.invalid + pool_side.low_difficulty, 0u);
}

// A pool at difficulty 1e-300 would make every hash a share: the engine mines at a difficulty
// that keeps the shares under max_share_rate for the measured hashrate, and every share found
// still meets the pool's target. The raise is said once, at the measured rate (not the one
// assumed before the first measurement).
TEST_F(EngineTest, ATinyPoolDifficultyIsRaisedToTheMaximumShareRate) {
  const CapturedLog log;
  const auto pool = pools_.add(simulator("tiny", 1e-300));
  Config config = engine_config({{"tiny", pools_.url(pool)}}, Strategy::failover);
  config.pools[0].max_share_rate = 2;
  Engine& engine = start(std::move(config));
  const auto began = std::chrono::steady_clock::now();
  run_until([] { return false; }, 9s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  const auto books = engine.ledger().pool("tiny");
  EXPECT_GT(engine.hashrate(), 0.0);
  EXPECT_LE(static_cast<double>(books.found), 2 * seconds + 10) << books.found << " shares in " << seconds << " s";
  ASSERT_TRUE(stop());
  EXPECT_TRUE(engine.ledger().pool("tiny").balanced());
  EXPECT_EQ(pools_.totals(pool).invalid + pools_.totals(pool).low_difficulty, 0u);
  EXPECT_EQ(log.count("pool tiny: its difficulty"), 1u) << log.text();
  EXPECT_EQ(log.count("at 1e+06 H/s"), 0u) << "the rate assumed before a measurement was named: " << log.text();
}

// Before the rate is measured the share target is set for a rate above any device's; once it is,
// the devices take the measured one within the job: a pool that sends one job and no other still
// gets max_share_rate shares.
TEST_F(EngineTest, TheMeasuredRatesTargetReachesTheDevicesWithinAJob) {
  auto one_job = simulator("one-job", 1e-300);
  one_job.job_interval = 0ms;  // the first job only
  const auto pool = pools_.add(one_job);
  Config config = engine_config({{"one-job", pools_.url(pool)}}, Strategy::failover);
  config.pools[0].max_share_rate = 2;
  config.pools[0].job_timeout = std::chrono::seconds(60);  // no reconnect, which would bring the job again
  Engine& engine = start(std::move(config));
  EXPECT_TRUE(run_until([&] { return engine.ledger().pool("one-job").found >= 4; }, 30s))
      << engine.ledger().pool("one-job").found << " shares";
  ASSERT_TRUE(stop());
  EXPECT_EQ(pools_.totals(pool).jobs, 1u);
}

TEST_F(EngineTest, FailsOverToTheBackupWhenTheMainPoolDies) {
  const auto primary = pools_.add(simulator("primary"));
  const auto backup = pools_.add(simulator("backup"));
  Engine& engine =
      start(engine_config({{"primary", pools_.url(primary), 0}, {"backup", pools_.url(backup), 1}}, Strategy::failover));
  ASSERT_TRUE(run_until([&] { return accepted("primary") >= 2; }, 60s));
  EXPECT_EQ(accepted("backup"), 0u);
  EXPECT_FALSE(status_of(engine.pools(), "backup").mining);

  pools_.with(primary, [](stratum::PoolSimulator& p) {
    p.inject(stratum::Fault::pause_listening, 60s);
    p.inject(stratum::Fault::drop_connections);
    return 0;
  });
  ASSERT_TRUE(run_until([&] { return accepted("backup") >= 2; }, 30s));
  const auto pools = engine.pools();
  EXPECT_FALSE(status_of(pools, "primary").alive);
  EXPECT_FALSE(status_of(pools, "primary").mining);
  EXPECT_TRUE(status_of(pools, "backup").mining);
  ASSERT_TRUE(stop());
  EXPECT_TRUE(engine.ledger().total().balanced());
  EXPECT_EQ(engine.ledger().total().pending, 0u);
}

TEST_F(EngineTest, SplitSharesHashesByWeight) {
  const auto heavy = pools_.add(simulator("heavy"));
  const auto light = pools_.add(simulator("light"));
  Config config = engine_config({{"heavy", pools_.url(heavy), 0, 3}, {"light", pools_.url(light), 1, 1}}, Strategy::split);
  for (auto& p : config.pools) p.max_share_rate = 100000;  // the pools' target: about one hash in 9 a share
  Engine& engine = start(std::move(config));
  ASSERT_TRUE(run_until([&] { return accepted("heavy") + accepted("light") >= 600; }, 120s));
  const auto pools = engine.pools();
  EXPECT_TRUE(status_of(pools, "heavy").mining);
  EXPECT_TRUE(status_of(pools, "light").mining);
  ASSERT_TRUE(stop());
  const double h = static_cast<double>(accepted("heavy"));
  const double total = h + static_cast<double>(accepted("light"));
  // Expect 0.75; the binomial standard deviation at n = 600 is 0.018: allow 4.5 of them (a
  // chance failure about once in 10^5 runs).
  EXPECT_NEAR(h / total, 0.75, 0.08) << h << " of " << total;
  EXPECT_TRUE(engine.ledger().total().balanced());
}

// About one hash in four is a share and clean jobs come fast: shares found for a job its pool
// has replaced are settled stale by the engine without being sent.
TEST_F(EngineTest, StaleSharesAreNotSentAfterACleanJob) {
  auto churn = simulator("churn", 1e-9);
  churn.job_interval = 300ms;
  const auto pool = pools_.add(churn);
  std::random_device rd;
  const auto journal = std::filesystem::temp_directory_path() / ("dagminer-engine-test-" + std::to_string(rd()) + ".jsonl");
  auto config = engine_config({{"churn", pools_.url(pool)}}, Strategy::failover);
  config.share_journal = journal;
  // Lifted, so the share found by the hash in flight at each clean job is common: at the
  // default's 10 a second it comes once in tens of seconds.
  config.pools[0].max_share_rate = 100000;
  Engine& engine = start(std::move(config));
  auto kept_back = [&] {
    std::size_t n = 0;
    std::ifstream in(journal);
    for (std::string line; std::getline(in, line);) {
      const auto v = boost::json::parse(line).as_object();
      n += v.at("outcome").as_string() == "stale" && v.contains("reason") &&
           v.at("reason").as_string() == "job replaced by a clean job";
    }
    return n;
  };
  ASSERT_TRUE(run_until([&] { return kept_back() >= 3; }, 60s));
  ASSERT_TRUE(stop());
  const auto books = engine.ledger().pool("churn");
  const auto pool_side = pools_.totals(pool);
  const auto received = pool_side.accepted + pool_side.stale + pool_side.duplicate + pool_side.low_difficulty +
                        pool_side.unauthorized + pool_side.invalid;
  EXPECT_GT(books.accepted, 0u);
  EXPECT_GE(books.stale, kept_back());
  EXPECT_LE(received + kept_back(), books.found) << "a share of a replaced job reached the pool";
  EXPECT_TRUE(books.balanced());
  std::filesystem::remove(journal);
}

// The pool stops answering: at stop, after the grace period, the shares still waiting for an
// answer are settled as timed out, so nothing stays pending.
TEST_F(EngineTest, StopSettlesEveryShare) {
  const auto pool = pools_.add(simulator("slow"));
  Engine& engine = start(engine_config({{"slow", pools_.url(pool)}}, Strategy::failover));
  ASSERT_TRUE(run_until([&] { return accepted("slow") >= 1; }, 60s));
  pools_.with(pool, [](stratum::PoolSimulator& p) {
    p.inject(stratum::Fault::delay_replies, 30s);
    return 0;
  });
  ASSERT_TRUE(run_until([&] { return engine.ledger().total().pending >= 2; }, 30s));
  ASSERT_TRUE(stop(200ms));
  const auto books = engine.ledger().pool("slow");
  EXPECT_EQ(books.pending, 0u);
  EXPECT_GE(books.timed_out, 2u);
  EXPECT_TRUE(books.balanced());
  EXPECT_TRUE(engine.ledger().total().balanced());
}

// A pool whose settings no source can use is logged and left down; the event loop and the
// other pools carry on.
TEST_F(EngineTest, APoolNoSourceCanUseDoesNotStopTheOthers) {
  const auto pool = pools_.add(simulator("good"));
  Engine& engine =
      start(engine_config({{"broken", "carrier-pigeon://nowhere:1", 0}, {"good", pools_.url(pool), 1}}, Strategy::failover));
  ASSERT_TRUE(run_until([&] { return accepted("good") >= 2; }, 60s));
  EXPECT_FALSE(status_of(engine.pools(), "broken").alive);
  EXPECT_TRUE(engine.set_pool_enabled("broken", false));
  EXPECT_TRUE(engine.set_pool_enabled("broken", true));  // tries again, fails again, runs on
  ASSERT_TRUE(run_until([&] { return accepted("good") >= 3; }, 60s));
  ASSERT_TRUE(stop());
  EXPECT_TRUE(engine.ledger().total().balanced());
}

// The grace that keeps the last jobs mined while their pool reconnects is not for a pool the user
// disabled: no client would hold its shares.
TEST_F(EngineTest, ADisabledPoolsJobIsNotMinedOn) {
  const auto pool = pools_.add(simulator("only"));
  Engine& engine = start(engine_config({{"only", pools_.url(pool)}}, Strategy::failover));
  ASSERT_TRUE(run_until([&] { return accepted("only") >= 2; }, 60s));
  ASSERT_TRUE(engine.set_pool_enabled("only", false));
  run_until([] { return false; }, 1s);  // a batch under way completes
  const auto hashes = engine.devices().at(0).counters.hashes;
  run_until([] { return false; }, 1500ms);
  EXPECT_EQ(engine.devices().at(0).counters.hashes, hashes) << "the disabled pool's job is still mined";
  EXPECT_FALSE(engine.mining());
  ASSERT_TRUE(stop());
  EXPECT_TRUE(engine.ledger().total().balanced());
}

// A pool whose epoch's light cache cannot fit light_cache_memory is passed over: the backup is
// mined (the devices waited for the refused cache for ever).
TEST_F(EngineTest, APoolWhoseLightCacheCannotFitIsPassedOver) {
  auto big = simulator("main");
  big.epoch = 1;
  const auto main = pools_.add(big);
  const auto backup = pools_.add(simulator("backup"));
  Config config = engine_config({{"main", pools_.url(main), 0}, {"backup", pools_.url(backup), 1}}, Strategy::failover);
  config.light_cache_memory = light_cache_bytes(0);  // epoch 0's fits, epoch 1's does not
  config.prepare_next_epoch = false;
  Engine& engine = start(std::move(config));
  ASSERT_TRUE(run_until([&] { return accepted("backup") >= 2; }, 60s));
  EXPECT_FALSE(status_of(engine.pools(), "main").mining);
  ASSERT_TRUE(stop());
}

// A pool at max_epoch: the epoch after it, which would be refused, is not prepared ahead.
TEST_F(EngineTest, TheEpochPastMaxEpochIsNotPreparedAhead) {
  const CapturedLog log;
  const auto pool = pools_.add(simulator("last-epoch"));
  Config config = engine_config({{"last-epoch", pools_.url(pool)}}, Strategy::failover);
  config.max_epoch = 0;
  config.prepare_next_epoch = true;
  start(std::move(config));
  ASSERT_TRUE(run_until([&] { return accepted("last-epoch") >= 1; }, 60s));
  run_until([] { return false; }, NextEpochPreparer::delay + 2s);
  ASSERT_TRUE(stop());
  EXPECT_EQ(log.count("epoch 1"), 0u) << log.text();
}

// With room for one light cache, the next epoch is not prepared at the cost of the one mined:
// it is said, and the mined epoch's cache is not loaded again at the next jobs.
TEST_F(EngineTest, TheNextEpochIsNotPreparedInTheRoomOfTheMinedOne) {
  const CapturedLog log;
  auto small = simulator("small");
  small.job_interval = 1000ms;
  const auto pool = pools_.add(small);
  Config config = engine_config({{"small", pools_.url(pool)}}, Strategy::failover);
  config.light_cache_memory = light_cache_bytes(1);
  config.prepare_next_epoch = true;
  start(std::move(config));
  ASSERT_TRUE(run_until([&] { return accepted("small") >= 1; }, 60s));
  const auto jobs = pools_.totals(pool).jobs;
  run_until([] { return false; }, NextEpochPreparer::delay + 3s);
  ASSERT_TRUE(stop());
  EXPECT_GT(pools_.totals(pool).jobs, jobs + 1) << "jobs after the preparation was due";
  EXPECT_EQ(log.count("epoch 1: not prepared ahead"), 1u) << log.text();
  EXPECT_EQ(log.count("epoch 0: loading or building"), 1u) << log.text();
}

// Candidates a device delivers while it stops are checked, sent and answered before the pools
// close: none is dropped with the event loop.
TEST_F(EngineTest, CandidatesDeliveredAtTheStopAreSettled) {
  auto last = simulator("last");
  last.job_interval = 0ms;  // one job: every candidate held is a share of the current job
  const auto pool = pools_.add(last);
  Config config = engine_config({{"last", pools_.url(pool)}}, Strategy::failover);
  config.pools[0].max_share_rate = 100000;
  std::vector<std::unique_ptr<SearchDevice>> devices;
  devices.push_back(std::make_unique<LastLaunchesDevice>());
  const auto& device = static_cast<const LastLaunchesDevice&>(*devices.back());
  engine_ = std::make_unique<Engine>(io_, std::move(config), std::move(devices));
  engine_->start();
  ASSERT_TRUE(run_until([&] { return device.held() >= 5; }, 60s));
  EXPECT_EQ(engine_->ledger().total().found, 0u);  // none delivered yet
  ASSERT_TRUE(stop());
  const auto& books = engine_->ledger().pool("last");
  EXPECT_GE(device.delivered(), 5u);
  EXPECT_EQ(books.found, device.delivered()) << "candidates dropped at the stop";
  EXPECT_EQ(books.accepted, books.found) << "checked after the pools closed";
  EXPECT_EQ(books.accepted, pools_.totals(pool).accepted);
}

// EthProxy has no extranonce: after a reconnect the pool sends the same job, whose nonces the
// devices go on after, so no share is found and sent twice (the simulator's duplicate check is
// per connection, so the journal is what tells).
TEST_F(EngineTest, TheSameJobAfterAReconnectIsNotSearchedAgain) {
  const TempDir dir;
  auto proxy = simulator("proxy");
  proxy.dialect = PoolProtocol::ethproxy;
  proxy.job_interval = 0ms;  // one job for the whole test
  const auto pool = pools_.add(proxy);
  Config config = engine_config({{"proxy", pools_.url(pool)}}, Strategy::failover);
  config.pools[0].job_timeout = std::chrono::seconds(60);
  config.pools[0].max_share_rate = 100000;  // the pool's target from the first hash: every share of the nonces searched is found
  config.share_journal = dir.path() / "shares.jsonl";
  start(config);
  ASSERT_TRUE(run_until([&] { return accepted("proxy") >= 3; }, 60s));
  pools_.with(pool, [](stratum::PoolSimulator& p) {
    p.inject(stratum::Fault::drop_connections);
    return 0;
  });
  ASSERT_TRUE(run_until([&] { return pools_.totals(pool).jobs >= 2; }, 30s));  // sent again to the new connection
  const auto before = accepted("proxy");
  ASSERT_TRUE(run_until([&] { return accepted("proxy") >= before + 3; }, 60s));
  ASSERT_TRUE(stop());
  EXPECT_EQ(pools_.totals(pool).jobs, 2u);  // the one job, once a connection
  std::set<std::pair<std::string, std::string>> sent;
  std::ifstream in(dir.path() / "shares.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto v = boost::json::parse(line).as_object();
    EXPECT_TRUE(sent.emplace(v.at("job").as_string(), v.at("nonce").as_string()).second) << "found twice: " << line;
  }
}

TEST_F(EngineTest, AReloadWithAnUnusableJournalKeepsTheRunningOne) {
  const TempDir dir;
  const auto pool = pools_.add(simulator("main"));
  Config config = engine_config({{"main", pools_.url(pool)}}, Strategy::failover);
  config.share_journal = dir.path() / "shares.jsonl";
  Engine& engine = start(config);
  ASSERT_TRUE(run_until([&] { return accepted("main") >= 1; }, 60s));
  config.share_journal = "/nonexistent/d/j.jsonl";
  engine.reload(config);  // threw out of the event loop: the daemon exited
  const auto journaled = [&] {
    std::ifstream in(dir.path() / "shares.jsonl");
    return static_cast<std::uint64_t>(std::count(std::istreambuf_iterator<char>(in), {}, '\n'));
  };
  const auto before = accepted("main");
  ASSERT_TRUE(run_until([&] { return accepted("main") >= before + 2; }, 60s));
  ASSERT_TRUE(stop());
  const auto& t = engine.ledger().total();
  EXPECT_EQ(journaled(), t.accepted + t.rejected + t.stale + t.timed_out);  // every outcome went to the running journal
}

// A pool marked for rejecting every share (an Ethereum Classic pool mined as Ethash) is passed
// over only while another pool can be mined: alone, it keeps the devices busy and its mark.
TEST_F(EngineTest, ARejectingPoolWithNoOtherToMineIsMinedStillAndStaysMarked) {
  auto etc = simulator("etc");
  etc.dialect = PoolProtocol::ethproxy;  // the pool checks the mix hash: no share passes by chance
  etc.algo = Algorithm::etchash;
  etc.epoch = 1;
  const auto pool = pools_.add(etc);
  Config config = engine_config({{"etc", pools_.url(pool)}}, Strategy::failover);
  config.pools[0].rejection_cooldown = std::chrono::seconds(600);
  Engine& engine = start(std::move(config));
  ASSERT_TRUE(run_until([&] { return !status_of(engine.pools(), "etc").problem.empty(); }, 90s));
  const auto marked = status_of(engine.pools(), "etc");
  EXPECT_NE(marked.problem.find("the pool likely computes etchash"), std::string::npos) << marked.problem;
  EXPECT_TRUE(marked.mining);
  ASSERT_TRUE(run_until([&] { return engine.ledger().pool("etc").rejected >= marked.shares.rejected + 5; }, 60s));
  EXPECT_TRUE(status_of(engine.pools(), "etc").mining);
  EXPECT_EQ(status_of(engine.pools(), "etc").problem, marked.problem) << "marked again within the cool-down";
  ASSERT_TRUE(stop());
  EXPECT_EQ(engine.ledger().pool("etc").accepted, 0u);
  EXPECT_TRUE(engine.ledger().pool("etc").balanced());
}

// Hardware health through the engine: devices with telemetry the test sets (gpu0, gpu1, as the
// GPU backend reports it), beside a plain CPU device.
class HealthEngineTest : public EngineTest {
 protected:
  Engine& start_with(Config config) {
    std::vector<std::unique_ptr<SearchDevice>> devices;
    devices.push_back(std::make_unique<ReportingDevice>("gpu0", gpu0_));
    devices.push_back(std::make_unique<ReportingDevice>("gpu1", gpu1_));
    engine_ = std::make_unique<Engine>(io_, std::move(config), std::move(devices));
    engine_->start();
    return *engine_;
  }
  std::uint64_t hashes(std::size_t device) const { return engine_->devices().at(device).counters.hashes; }
  // The device's hash count stays put over a second (a batch in flight, which takes a CPU thread
  // about half a second at epoch 0, may finish first).
  bool idle(std::size_t device) {
    run_until([] { return false; }, 1s);
    const auto before = hashes(device);
    run_until([] { return false; }, 1s);
    return hashes(device) == before;
  }
  ServiceSnapshot snapshot() const {
    ServiceSnapshot s;
    s.devices = engine_->devices();
    return s;
  }
  std::shared_ptr<TestTelemetry> gpu0_ = std::make_shared<TestTelemetry>();
  std::shared_ptr<TestTelemetry> gpu1_ = std::make_shared<TestTelemetry>();
};

TEST_F(HealthEngineTest, AHotDeviceGetsNoWorkUntilItCoolsAndThePoolGoesOnWithTheOther) {
  const auto pool = pools_.add(simulator("solo"));
  Config config = engine_config({{"solo", pools_.url(pool)}}, Strategy::failover);
  config.protection.devices["gpu0"] = {{80, 70}, {95, 85}};  // its own limit; gpu1 has the global 85
  gpu0_->set_temperatures(60, 50);
  gpu1_->set_temperatures(82, 50);
  Engine& engine = start_with(std::move(config));
  ASSERT_TRUE(run_until([&] { return accepted("solo") >= 2 && hashes(0) > 0 && hashes(1) > 0; }, 60s));

  gpu0_->set_temperatures(81, 50);  // over its own limit, under the global one
  ASSERT_TRUE(run_until([&] { return engine.devices()[0].protection.temperature; }, 5s));
  EXPECT_TRUE(idle(0));
  EXPECT_FALSE(idle(1));
  const auto accepted_while_paused = accepted("solo");
  ASSERT_TRUE(run_until([&] { return accepted("solo") >= accepted_while_paused + 2; }, 60s));
  EXPECT_TRUE(status_of(engine.pools(), "solo").mining);

  // What a user sees: the API and /metrics say why.
  const auto api = boost::json::parse(boost::json::serialize(devices_json(snapshot()))).as_object();
  const auto& gpu0 = api.at("devices").as_array().at(0).as_object();
  EXPECT_EQ(gpu0.at("protection").as_object().at("paused").as_bool(), true);
  EXPECT_EQ(gpu0.at("protection").as_object().at("reason").as_string(), "temperature");
  EXPECT_EQ(gpu0.at("telemetry").as_object().at("temperature_c").as_double(), 81);
  EXPECT_TRUE(api.at("devices").as_array().at(1).as_object().at("protection").as_object().at("reason").is_null());
  const std::string metrics = prometheus_metrics(snapshot());
  EXPECT_NE(metrics.find("dagminer_device_protection_paused{device=\"gpu0\",reason=\"temperature\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("dagminer_device_protection_paused{device=\"gpu1\",reason=\"temperature\"} 0"), std::string::npos);
  EXPECT_NE(metrics.find("dagminer_device_temperature_limit_celsius{device=\"gpu0\"} 80"), std::string::npos);
  EXPECT_NE(metrics.find("dagminer_device_temperature_limit_celsius{device=\"gpu1\"} 85"), std::string::npos);

  gpu0_->set_temperatures(72, 50);  // cooler, but above its resume temperature
  EXPECT_TRUE(idle(0));
  EXPECT_TRUE(engine.devices()[0].protection.paused());
  gpu0_->set_temperatures(70, 50);
  ASSERT_TRUE(run_until([&] { return !engine.devices()[0].protection.paused(); }, 5s));
  EXPECT_FALSE(idle(0));

  gpu1_->set_temperatures(60, 95);  // memory at its limit
  ASSERT_TRUE(run_until([&] { return engine.devices()[1].protection.memory_temperature; }, 5s));
  EXPECT_TRUE(idle(1));
  EXPECT_FALSE(idle(0));
  ASSERT_TRUE(stop());
  EXPECT_TRUE(engine.ledger().total().balanced());
}

TEST_F(HealthEngineTest, AStickyFaultAsksForANewProcessUnderRestart) {
  const auto pool = pools_.add(simulator("solo"));
  Engine& engine = start_with(engine_config({{"solo", pools_.url(pool)}}, Strategy::failover));
  ASSERT_TRUE(run_until([&] { return accepted("solo") >= 1; }, 60s));
  EXPECT_EQ(engine.fault_exit(), "");
  gpu1_->set_fault("gpu1: search launch: an illegal memory access was encountered (cudaErrorIllegalAddress)", true);
  ASSERT_TRUE(run_until([&] { return !engine.fault_exit().empty(); }, 5s));
  EXPECT_EQ(engine.fault_exit(), "device gpu1 needs a new process (gpu_fault_action: restart)");
  EXPECT_TRUE(idle(1));
  const std::string metrics = prometheus_metrics(snapshot());
  EXPECT_NE(metrics.find("dagminer_device_faulted{device=\"gpu1\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("dagminer_device_faulted{device=\"gpu0\"} 0"), std::string::npos);
  ASSERT_TRUE(stop());
  EXPECT_EQ(engine.ledger().total().pending, 0u);  // settled before the exit
  EXPECT_TRUE(engine.ledger().total().balanced());
}

TEST_F(HealthEngineTest, UnderContinueTheHealthyDeviceMinesOnUntilNoneIsLeft) {
  const auto pool = pools_.add(simulator("solo"));
  Config config = engine_config({{"solo", pools_.url(pool)}}, Strategy::failover);
  config.gpu_fault_action = GpuFaultAction::continue_;
  Engine& engine = start_with(std::move(config));
  ASSERT_TRUE(run_until([&] { return accepted("solo") >= 1; }, 60s));
  gpu1_->set_fault("gpu1: search launch: an illegal memory access was encountered (cudaErrorIllegalAddress)", true);
  ASSERT_TRUE(run_until([&] { return engine.devices()[1].fault != ""; }, 5s));
  EXPECT_TRUE(idle(1));
  EXPECT_FALSE(idle(0));
  EXPECT_EQ(engine.fault_exit(), "");
  EXPECT_EQ(engine.health_problem(), "");  // the watchdog stays fed: gpu0 mines
  const auto before = accepted("solo");
  ASSERT_TRUE(run_until([&] { return accepted("solo") > before; }, 60s));
  gpu0_->set_fault("gpu0: out of memory", false);  // not sticky, but the last device
  ASSERT_TRUE(run_until([&] { return !engine.fault_exit().empty(); }, 5s));
  EXPECT_EQ(engine.fault_exit(), "every device has faulted");
  ASSERT_TRUE(stop());
}

// A simulated getwork node on the engine's loop, pushing new blocks to the pool's notify_listen.
class SoloTest : public EngineTest {
 protected:
  SoloTest() {
    stratum::GetworkNodeConfig c;
    c.difficulty = easy_difficulty;
    c.cache = shared_light_cache(Algorithm::ethash, 0);
    c.notify_urls = {"http://127.0.0.1:" + std::to_string(notify_port_) + "/"};
    node_ = std::make_unique<stratum::GetworkNode>(io_, c);
  }
  Config solo_config(std::vector<PoolSpec> more = {}) const {
    more.insert(more.begin(), PoolSpec{"node", node_->url(), 0});
    Config c = engine_config(more, Strategy::failover);
    PoolConfig& node = c.pools.front();
    node.getwork_poll = std::chrono::milliseconds(300);
    node.notify_listen = ListenAddress{"127.0.0.1", notify_port_};
    // The node's one header lasts until new_block(): mine it at its own easy target from the
    // start rather than at the share-rate bound the engine derives before it measured a hashrate.
    node.max_share_rate = 100000;
    return c;
  }
  PoolStatus status(const std::string& name) const { return status_of(engine_->pools(), name); }

  std::uint16_t notify_port_ = free_loopback_port();
  std::unique_ptr<stratum::GetworkNode> node_;
};

TEST_F(SoloTest, BlocksFoundAreInTheBooksAndPushedWorkIsTimed) {
  Engine& engine = start(solo_config());
  ASSERT_TRUE(run_until([&] { return accepted("node") >= 2; }, 60s));
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

// The count is a Prometheus counter: closing the pool's connection must not take it back to 0.
TEST_F(SoloTest, BlocksFoundOutliveThePoolsConnection) {
  Engine& engine = start(solo_config());
  ASSERT_TRUE(run_until([&] { return status("node").blocks_found >= 1; }, 60s));
  ASSERT_TRUE(engine.set_pool_enabled("node", false));
  const std::uint64_t blocks = status("node").blocks_found;
  EXPECT_GE(blocks, 1u) << "disabling the pool dropped its blocks";
  ASSERT_TRUE(engine.set_pool_enabled("node", true));
  EXPECT_EQ(status("node").blocks_found, blocks);
  ASSERT_TRUE(run_until([&] { return status("node").blocks_found > blocks; }, 60s));
  Config changed = solo_config();
  changed.pools.front().getwork_poll = std::chrono::milliseconds(400);  // reconnects for its new settings
  engine.reload(changed);
  EXPECT_GE(status("node").blocks_found, blocks + 1) << "a reload that reconnected the pool dropped its blocks";
  ASSERT_TRUE(stop());
  EXPECT_EQ(status("node").blocks_found, engine.ledger().pool("node").accepted);
}

TEST_F(SoloTest, FailsOverToAStratumPoolWhileTheNodeIsDownAndBack) {
  const auto backup = pools_.add(simulator("backup"));
  Engine& engine = start(solo_config({{"backup", pools_.url(backup), 1}}));
  ASSERT_TRUE(run_until([&] { return accepted("node") >= 1; }, 60s));
  EXPECT_FALSE(status("backup").mining);

  node_->set_down(true);
  ASSERT_TRUE(run_until([&] { return accepted("backup") >= 2; }, 60s));
  EXPECT_FALSE(status("node").alive);
  EXPECT_TRUE(status("backup").mining);

  node_->set_down(false);
  const std::uint64_t blocks = accepted("node");
  ASSERT_TRUE(run_until([&] { return status("node").mining && accepted("node") > blocks; }, 60s));
  EXPECT_FALSE(status("backup").mining);
  ASSERT_TRUE(stop());
  EXPECT_TRUE(engine.ledger().total().balanced());
  EXPECT_EQ(engine.ledger().total().pending, 0u);
}

}  // namespace
}  // namespace dagminer::test
