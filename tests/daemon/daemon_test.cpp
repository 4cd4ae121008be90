// The daemon end to end on the CPU backend: `dagminer run` as a subprocess against simulated
// pools over real loopback sockets. Failover and fallback, split by weight, reconnects after
// faults with the accounting balanced, stale shares across clean jobs, two epochs at once, and
// configuration reload.
#include <csignal>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "daemon_harness.hpp"

namespace dagminer::test {
namespace {

// About one share per 9 hashes: several shares a second from one CPU thread at epoch 0, which
// does 50-300 light hashes a second depending on the machine's load.

struct PoolSpec {
  std::string name;
  std::string url;
  int priority = 0;
  unsigned weight = 1;
  std::string algorithm = "ethash";
};

std::string daemon_config(const std::vector<PoolSpec>& pools, const std::string& strategy, const std::string& extra = "",
                          const std::string& devices = "cpu",
                          const std::filesystem::path& light_caches = test::shared_cache_directory()) {
  std::ostringstream y;
  y << "pools:\n";
  for (const auto& p : pools)
    y << "  - {name: " << p.name << ", url: '" << p.url << "', user: testwallet, worker: rig, priority: " << p.priority
      << ", weight: " << p.weight << ", algorithm: " << p.algorithm << "}\n";
  y << "strategy: " << strategy << "\n"
    << "devices: " << devices << "\n"
    << "cpu_threads: 1\n"
    << "light_cache_dir: '" << light_caches.string() << "'\n"
    << "summary_interval: 2s\n"
    << "fallback_after: 3s\n"
    << "job_timeout: 6s\n"
    << "response_timeout: 3s\n"
    << "hashrate_interval: 2s\n"
    << "backoff: {initial: 200ms, max: 1s}\n"
    << "share_journal: shares.jsonl\n"
    << "api: {listen: ''}\n"  // tests run in parallel: none takes the default API port
    << extra;
  return y.str();
}

std::vector<boost::json::object> journal_lines(const DaemonProcess& d) {
  std::vector<boost::json::object> out;
  std::ifstream in(d.dir() / "shares.jsonl");
  // A last line without its newline is still being written: read next time.
  for (std::string line; std::getline(in, line) && !in.eof();) out.push_back(boost::json::parse(line).as_object());
  return out;
}

// Outcomes per pool from the daemon's share journal.
std::map<std::string, std::map<std::string, int>> journal(const DaemonProcess& d) {
  std::map<std::string, std::map<std::string, int>> out;
  for (const auto& v : journal_lines(d)) ++out[std::string(v.at("pool").as_string())][std::string(v.at("outcome").as_string())];
  return out;
}

class DaemonTest : public ::testing::Test {
 protected:
  // Built once here, so the daemon and the simulators load it rather than race to build it.
  void SetUp() override { shared_light_cache(Algorithm::ethash, 0); }
  void stop_cleanly(DaemonProcess& d) {
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(10s), 0) << d.log();
  }
  SimulatedPools pools_;
};

TEST_F(DaemonTest, MinesOnePoolAndStopsCleanly) {
  const auto pool = pools_.add(simulator("solo"));
  DaemonProcess d(daemon_config({{"solo", pools_.url(pool)}}, "failover"));
  ASSERT_TRUE(eventually([&] { return pools_.totals(pool).accepted >= 3; }, 60s)) << d.log();
  EXPECT_TRUE(d.wait_for_log("share accepted", 5s));
  stop_cleanly(d);
  // Every share the pool accepted is in the daemon's books, and nothing is left pending.
  const auto j = journal(d);
  EXPECT_EQ(static_cast<std::uint64_t>(j.at("solo").at("accepted")), pools_.totals(pool).accepted);
  EXPECT_EQ(pools_.totals(pool).invalid, 0u);
  EXPECT_EQ(pools_.totals(pool).low_difficulty, 0u);
  EXPECT_EQ(d.count_in_log("hardware error"), 0u);
}

TEST_F(DaemonTest, FailsOverAndFallsBackAfterTheConfiguredTime) {
  const auto primary = pools_.add(simulator("primary"));
  const auto backup = pools_.add(simulator("backup"));
  DaemonProcess d(daemon_config({{"primary", pools_.url(primary), 0}, {"backup", pools_.url(backup), 1}}, "failover"));
  ASSERT_TRUE(eventually([&] { return pools_.totals(primary).accepted >= 2; }, 60s)) << d.log();
  EXPECT_EQ(pools_.totals(backup).accepted, 0u);

  // The primary goes away: its connections drop and it stops listening for 8 s.
  const auto fault_at = std::chrono::steady_clock::now();
  pools_.with(primary, [](stratum::PoolSimulator& p) {
    p.inject(stratum::Fault::pause_listening, 8s);
    p.inject(stratum::Fault::drop_connections);
    return 0;
  });
  ASSERT_TRUE(eventually([&] { return pools_.totals(backup).accepted >= 2; }, 30s)) << d.log();
  EXPECT_EQ(d.count_in_log("mining backup"), 1u);

  // It comes back at ~8 s; after fallback_after (3 s) of being alive it is mined again.
  ASSERT_TRUE(eventually([&] { return d.count_in_log("mining primary") >= 2; }, 40s)) << d.log();
  EXPECT_GE(std::chrono::steady_clock::now() - fault_at, 8s + 3s - 500ms);
  const auto before = pools_.totals(primary).accepted;
  ASSERT_TRUE(eventually([&] { return pools_.totals(primary).accepted >= before + 2; }, 30s)) << d.log();
  stop_cleanly(d);
}

// The primary's light cache takes seconds to build while the backup's is at hand: waiting for
// it is not a failure, so the backup is never mined.
TEST_F(DaemonTest, WaitingForALightCacheDoesNotFailOver) {
  auto slow = simulator("primary");
  slow.epoch = 3;
  const auto primary = pools_.add(slow);
  const auto backup = pools_.add(simulator("backup"));
  const auto caches = std::filesystem::temp_directory_path() / ("dagminer-test-caches-" + std::to_string(::getpid()));
  std::filesystem::create_directories(caches);
  std::filesystem::copy_file(test::shared_cache_directory() / "ethash-0.lightcache", caches / "ethash-0.lightcache",
                             std::filesystem::copy_options::overwrite_existing);
  DaemonProcess d(
      daemon_config({{"primary", pools_.url(primary), 0}, {"backup", pools_.url(backup), 1}}, "failover", "", "cpu", caches));
  ASSERT_TRUE(eventually([&] { return pools_.totals(primary).accepted >= 2; }, 60s)) << d.log();
  EXPECT_TRUE(d.wait_for_log("light cache ethash epoch 3: built", 1s)) << d.log();
  EXPECT_EQ(d.count_in_log("mining backup"), 0u) << d.log();
  EXPECT_EQ(pools_.totals(backup).accepted, 0u);
  stop_cleanly(d);
  std::filesystem::remove_all(caches);
}

TEST_F(DaemonTest, SplitSharesHashesByWeight) {
  const auto a = pools_.add(simulator("heavy"));
  const auto b = pools_.add(simulator("light"));
  // max_share_rate lifted: the pools' target, about one hash in 9 a share.
  DaemonProcess d(
      daemon_config({{"heavy", pools_.url(a), 0, 3}, {"light", pools_.url(b), 1, 1}}, "split", "max_share_rate: 100000\n"));
  ASSERT_TRUE(eventually([&] { return pools_.totals(a).accepted + pools_.totals(b).accepted >= 600; }, 120s)) << d.log();
  stop_cleanly(d);
  const double heavy = static_cast<double>(pools_.totals(a).accepted);
  const double total = heavy + static_cast<double>(pools_.totals(b).accepted);
  // Expect 0.75; the binomial standard deviation at n = 600 is 0.018: allow 4.5 of them (a
  // chance failure about once in 10^5 runs).
  EXPECT_NEAR(heavy / total, 0.75, 0.08) << heavy << " of " << total;
}

TEST_F(DaemonTest, ReconnectsAfterEveryFaultWithTheAccountsBalanced) {
  const auto pool = pools_.add(simulator("flaky"));
  DaemonProcess d(daemon_config({{"flaky", pools_.url(pool)}}, "failover", "max_protocol_errors: 2\n"));
  ASSERT_TRUE(eventually([&] { return pools_.totals(pool).accepted >= 2; }, 60s)) << d.log();
  const std::vector<std::pair<stratum::Fault, std::chrono::milliseconds>> faults = {
      {stratum::Fault::drop_connections, 0ms},  {stratum::Fault::malformed_line, 0ms}, {stratum::Fault::overlong_line, 0ms},
      {stratum::Fault::request_reconnect, 0ms}, {stratum::Fault::go_silent, 8000ms},   {stratum::Fault::delay_replies, 1000ms},
      {stratum::Fault::reject_all, 1500ms}};
  for (const auto& [fault, duration] : faults) {
    pools_.with(pool, [&](stratum::PoolSimulator& p) {
      p.inject(fault, duration);
      return 0;
    });
    const auto before = pools_.totals(pool).accepted;
    EXPECT_TRUE(eventually([&] { return pools_.totals(pool).accepted >= before + 2; }, 60s))
        << "no shares after " << stratum::to_string(fault) << "\n"
        << d.log();
  }
  stop_cleanly(d);
  // The daemon's books agree with the pool's: every share accepted here was accepted there; a
  // share the pool accepted without a reply in time (the silent and slow faults) is timed out
  // here, never lost (the journal holds one line per outcome).
  auto j = journal(d).at("flaky");
  const auto accepted = static_cast<std::uint64_t>(j["accepted"]), timed_out = static_cast<std::uint64_t>(j["timed_out"]);
  EXPECT_LE(accepted, pools_.totals(pool).accepted);
  EXPECT_LE(pools_.totals(pool).accepted, accepted + timed_out);
  EXPECT_TRUE(d.wait_for_log("A/R/S", 1s));
}

TEST_F(DaemonTest, SharesOfAReplacedJobAreStaleAndNotSent) {
  auto config = simulator("churn", 1e-9);  // about one hash in four is a share
  config.job_interval = 300ms;             // clean jobs, fast
  const auto pool = pools_.add(config);
  // max_share_rate lifted, so the share found by the hash in flight at each clean job is common;
  // at the default's 10 a second it comes once in tens of seconds.
  DaemonProcess d(daemon_config({{"churn", pools_.url(pool)}}, "failover", "max_share_rate: 100000\n"));
  // The daemon's own stale shares, never sent; a share the pool answers stale is the pool's doing.
  const auto replaced = [&] {
    int n = 0;
    for (const auto& v : journal_lines(d))
      if (const auto* reason = v.if_contains("reason")) n += *reason == "job replaced by a clean job";
    return n;
  };
  ASSERT_TRUE(eventually([&] { return replaced() >= 3; }, 60s)) << d.log();
  stop_cleanly(d);
  const auto j = journal(d).at("churn");
  EXPECT_GT(j.count("accepted") ? j.at("accepted") : 0, 0);
}

TEST_F(DaemonTest, MinesTwoEpochsAtOnce) {
  auto older = simulator("epoch0");
  auto newer = simulator("epoch1");
  newer.epoch = 1;
  const auto a = pools_.add(older);
  const auto b = pools_.add(newer);
  DaemonProcess d(daemon_config({{"epoch0", pools_.url(a), 0, 1}, {"epoch1", pools_.url(b), 1, 1}}, "split"));
  ASSERT_TRUE(eventually([&] { return pools_.totals(a).accepted >= 3 && pools_.totals(b).accepted >= 3; }, 90s)) << d.log();
  EXPECT_EQ(pools_.totals(a).invalid + pools_.totals(b).invalid, 0u);
  stop_cleanly(d);
}

// The pool moves to the next epoch: the daemon follows it (the new epoch's light cache, then
// shares at that epoch), logs the pause the change cost, and no share is invalid.
TEST_F(DaemonTest, FollowsThePoolToTheNextEpoch) {
  const auto next = shared_light_cache(Algorithm::ethash, 1);
  const auto pool = pools_.add(simulator("mover"));
  DaemonProcess d(daemon_config({{"mover", pools_.url(pool)}}, "failover", "prepare_next_epoch: false\n"));
  ASSERT_TRUE(eventually([&] { return pools_.totals(pool).accepted >= 2; }, 60s)) << d.log();
  pools_.with(pool, [&](stratum::PoolSimulator& s) { s.set_epoch(1, next); });
  const auto before = pools_.totals(pool).accepted;
  ASSERT_TRUE(d.wait_for_log("mining ethash epoch 1 (pool mover", 60s)) << d.log();
  ASSERT_TRUE(eventually([&] { return pools_.totals(pool).accepted >= before + 3; }, 60s)) << d.log();
  EXPECT_EQ(pools_.totals(pool).invalid, 0u);
  EXPECT_EQ(d.count_in_log("hardware error"), 0u);
  stop_cleanly(d);
}

TEST_F(DaemonTest, TwoDevicesSearchDisjointHalvesOfTheNonceSpace) {
  const auto pool = pools_.add(simulator("pair"));  // 2-byte extranonce: 2^48 miner nonces
  DaemonProcess d(daemon_config({{"pair", pools_.url(pool)}}, "failover", "", "[cpu, cpu]"));
  auto by_device = [&] {
    std::map<std::string, std::vector<std::uint64_t>> nonces;
    for (const auto& v : journal_lines(d))
      if (v.at("outcome").as_string() == "accepted")
        nonces[std::string(v.at("device").as_string())].push_back(
            std::stoull(std::string(v.at("nonce").as_string()), nullptr, 16));
    return nonces;
  };
  ASSERT_TRUE(eventually(
      [&] {
        auto n = by_device();
        return n["cpu0"].size() >= 3 && n["cpu1"].size() >= 3;
      },
      60s))
      << d.log();
  stop_cleanly(d);
  constexpr std::uint64_t half = 1ull << 47, miner_bits = (1ull << 48) - 1;
  auto nonces = by_device();
  for (auto nonce : nonces["cpu0"]) EXPECT_LT(nonce & miner_bits, half) << std::hex << nonce;
  for (auto nonce : nonces["cpu1"]) EXPECT_GE(nonce & miner_bits, half) << std::hex << nonce;
  EXPECT_EQ(pools_.totals(pool).duplicate, 0u);
}

TEST_F(DaemonTest, ReloadAppliesOnlyWhatChangedAndRefusesAnInvalidFile) {
  const auto a = pools_.add(simulator("alpha"));
  const auto b = pools_.add(simulator("beta"));
  DaemonProcess d(daemon_config({{"alpha", pools_.url(a)}}, "split"));
  ASSERT_TRUE(eventually([&] { return pools_.totals(a).accepted >= 2; }, 60s)) << d.log();
  auto sessions = [&](std::size_t i) { return pools_.with(i, [](stratum::PoolSimulator& p) { return p.sessions(); }); };
  ASSERT_EQ(sessions(a).size(), 1u);

  // Add a pool: it connects and mines; the other keeps its connection, its new weight too.
  d.rewrite_config(daemon_config({{"alpha", pools_.url(a), 0, 2}, {"beta", pools_.url(b)}}, "split"));
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return pools_.totals(b).accepted >= 2; }, 60s)) << d.log();
  EXPECT_EQ(sessions(a).size(), 1u);
  EXPECT_TRUE(sessions(a)[0].open);

  // An invalid file is refused with its line; the running configuration stays.
  d.rewrite_config("pools:\n  - url: nowhere\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(d.wait_for_log("reload refused", 10s)) << d.log();
  EXPECT_TRUE(d.wait_for_log("dagminer.yaml:2:", 1s)) << d.log();
  const auto before = pools_.totals(a).accepted;
  ASSERT_TRUE(eventually([&] { return pools_.totals(a).accepted >= before + 2; }, 60s)) << d.log();

  // Remove a pool: its connection closes. A setting read only at the start is said to wait for it.
  d.rewrite_config(daemon_config({{"beta", pools_.url(b)}}, "split", "", "cpu", d.dir() / "other-caches"));
  d.signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return !sessions(a)[0].open; }, 10s)) << d.log();
  EXPECT_TRUE(d.wait_for_log("changed: light_cache_dir; this takes effect at the next restart", 5s)) << d.log();
  EXPECT_TRUE(d.running());
  stop_cleanly(d);
}

}  // namespace
}  // namespace dagminer::test
