// The client against the simulator over loopback TCP, in each dialect: handshake, jobs,
// difficulty and extranonce changes, shares accepted and rejected with the pool's reasons, stale
// shares, shares held across a reconnect, hashrate reports, and the EthereumStratum/1.0.0
// specification's worked example end to end.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/protocol.hpp"
#include "harness.hpp"

namespace dagminer::stratum {
namespace {

using test::Rig;
using namespace std::chrono_literals;

class Dialects : public ::testing::TestWithParam<PoolProtocol> {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::warn); }
};

bool has_extranonce(PoolProtocol d) { return d != PoolProtocol::ethproxy; }

TEST_P(Dialects, HandshakeGivesAJobWithTheSessionsSettings) {
  Rig rig(test::simulator_config(GetParam()));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Job& job = rig.last_job();
  EXPECT_EQ(job.pool, "sim");
  EXPECT_EQ(job.algo, Algorithm::ethash);
  EXPECT_EQ(job.epoch, 0);
  EXPECT_EQ(job.seed, seed_of_epoch(Algorithm::ethash, 0));
  EXPECT_EQ(job.target, target_from_difficulty(test::easy_difficulty));
  EXPECT_TRUE(job.clean);
  EXPECT_TRUE(job.height.has_value() || GetParam() == PoolProtocol::ethereum_stratum_1);
  EXPECT_EQ(job.nonces.extranonce_bytes(), has_extranonce(GetParam()) ? 2u : 0u);
  EXPECT_TRUE(rig.recorder.has_state(ConnectionState::connecting));
  EXPECT_TRUE(rig.recorder.has_state(ConnectionState::connected));
  EXPECT_TRUE(rig.recorder.has_state(ConnectionState::authorized));
  EXPECT_TRUE(rig.client->alive());
  EXPECT_EQ(rig.client->protocol(), GetParam());
  EXPECT_TRUE(rig.client->latency().has_value());
  const auto sessions = rig.sim->sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].dialect, GetParam());
  EXPECT_EQ(sessions[0].worker, "0xwallet.rig1");
}

TEST_P(Dialects, SharesAreAcceptedOrRejectedWithThePoolsReason) {
  Rig rig(test::simulator_config(GetParam()));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Share good = rig.share_for_last_job(true);
  auto r = rig.submit(good);
  EXPECT_EQ(r.outcome, ShareOutcome::accepted) << r.reason;

  r = rig.submit(good);
  EXPECT_EQ(r.outcome, ShareOutcome::rejected);
  EXPECT_EQ(r.code, 22) << r.reason;

  r = rig.submit(rig.share_for_last_job(false));
  EXPECT_EQ(r.outcome, ShareOutcome::rejected);
  EXPECT_EQ(r.code, 23) << r.reason;

  // The pool replaces the job before our share reaches it: its "job not found" is a stale share.
  const Share late = rig.share_for_last_job(true, good.nonce - rig.last_job().nonces.first() + 1);
  const std::uint64_t id = rig.client->submit(late);
  rig.sim->new_job(true);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.result(id) != nullptr; }));
  EXPECT_EQ(rig.recorder.result(id)->outcome, ShareOutcome::stale);
  EXPECT_EQ(rig.recorder.result(id)->code, 21);

  ASSERT_TRUE(rig.wait_jobs(2));
  rig.sim->inject(Fault::reject_all, 1h);
  r = rig.submit(rig.share_for_last_job(true));
  EXPECT_EQ(r.outcome, ShareOutcome::rejected);
  EXPECT_EQ(r.code, 24) << r.reason;

  const auto t = rig.sim->totals();
  EXPECT_EQ(t.accepted, 1u);
  EXPECT_EQ(t.duplicate, 1u);
  EXPECT_EQ(t.low_difficulty, 1u);
  EXPECT_EQ(t.stale, 1u);
  EXPECT_EQ(t.unauthorized, 1u);
  EXPECT_EQ(rig.client->counters().shares_sent, 5u);
}

TEST_P(Dialects, DifficultyAndExtranonceChangesApplyToTheNextJob) {
  Rig rig(test::simulator_config(GetParam()));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Job first = rig.last_job();
  rig.sim->set_difficulty(4 * test::easy_difficulty);
  rig.sim->change_extranonces();
  test::run_for(rig.io, 200ms);
  // The current job keeps what was in force when it came: a share at the old difficulty counts.
  Share old_target = test::find_share(*rig.sim->light_cache(), first, true);
  Job stricter = first;
  stricter.target = target_from_difficulty(4 * test::easy_difficulty);
  for (std::uint64_t start = 0; meets_target(old_target.final_hash, stricter.target);)
    old_target = test::find_share(*rig.sim->light_cache(), first, true, start = old_target.nonce - first.nonces.first() + 1);
  EXPECT_EQ(rig.submit(old_target).outcome, ShareOutcome::accepted);

  rig.sim->new_job(false);
  ASSERT_TRUE(rig.wait_jobs(2));
  const Job& next = rig.last_job();
  EXPECT_EQ(next.target, stricter.target);
  EXPECT_EQ(next.clean, GetParam() == PoolProtocol::ethproxy);  // EthProxy work has no clean flag: a new header is a new block
  if (has_extranonce(GetParam())) {
    EXPECT_EQ(next.nonces.extranonce_bytes(), 2u);
    EXPECT_NE(next.nonces.first(), first.nonces.first());
  }
  EXPECT_EQ(rig.submit(rig.share_for_last_job(true)).outcome, ShareOutcome::accepted);
}

TEST_P(Dialects, ShareForAReplacedJobIsStaleAndNotSent) {
  Rig rig(test::simulator_config(GetParam()));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Share old = rig.share_for_last_job(true);
  rig.sim->new_job(true);
  ASSERT_TRUE(rig.wait_jobs(2));
  const auto r = rig.submit(old);
  EXPECT_EQ(r.outcome, ShareOutcome::stale);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(rig.client->counters().shares_sent, 0u);
  test::run_for(rig.io, 100ms);
  const auto t = rig.sim->totals();
  EXPECT_EQ(t.accepted + t.stale + t.duplicate + t.low_difficulty + t.unauthorized + t.invalid, 0u);
  if (GetParam() == PoolProtocol::ethproxy) return;  // every new EthProxy header is a clean job
  // A non-clean job leaves earlier ones valid.
  const Share current = rig.share_for_last_job(true);
  rig.sim->new_job(false);
  ASSERT_TRUE(rig.wait_jobs(3));
  EXPECT_EQ(rig.submit(current).outcome, ShareOutcome::accepted);
}

TEST_P(Dialects, ReportsHashrate) {
  Rig rig(test::simulator_config(GetParam()));
  rig.connect([](PoolConfig& p) { p.hashrate_interval = 1s; });
  rig.client->set_hashrate(123456789.0);
  ASSERT_TRUE(rig.wait_jobs(1));
  ASSERT_TRUE(test::run_until(
      rig.io, [&] { return rig.sim->totals().hashrate > 0; }, 5s));
  EXPECT_DOUBLE_EQ(rig.sim->totals().hashrate, 123456789.0);
}

INSTANTIATE_TEST_SUITE_P(Stratum, Dialects,
                         ::testing::Values(PoolProtocol::ethproxy, PoolProtocol::ethereum_stratum_1,
                                           PoolProtocol::ethereum_stratum_2),
                         test::dialect_test_name);

TEST(Detection, AutomaticSchemeFindsEthereumStratum1) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
  rig.connect_to("stratum+tcp://127.0.0.1:" + std::to_string(rig.sim->port()));
  ASSERT_TRUE(rig.wait_jobs(1));
  EXPECT_EQ(rig.client->protocol(), PoolProtocol::ethereum_stratum_1);
}

TEST(Detection, AutomaticSchemeFallsBackToEthProxy) {
  Rig rig(test::simulator_config(PoolProtocol::ethproxy));
  rig.connect_to("stratum+tcp://127.0.0.1:" + std::to_string(rig.sim->port()));
  ASSERT_TRUE(rig.wait_jobs(1));
  EXPECT_EQ(rig.client->protocol(), PoolProtocol::ethproxy);
  EXPECT_EQ(rig.client->counters().reconnects, 0u);  // on the same connection
  EXPECT_EQ(rig.submit(rig.share_for_last_job(true)).outcome, ShareOutcome::accepted);
}

// A pool not reached (down at the daemon's start) says nothing of its dialect: once it is up,
// the detection begins with EthereumStratum/1.0.0 again, whatever the count of refused connects.
TEST(Detection, ConnectionsThatNeverReachedThePoolDoNotChangeTheDialect) {
  for (const std::uint64_t refused : {1u, 2u}) {
    Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
    boost::asio::ip::tcp::acceptor squat(rig.io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto port = squat.local_endpoint().port();
    squat.close();  // nothing listens there: connects are refused
    rig.connect_to("stratum+tcp://127.0.0.1:" + std::to_string(port));
    ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.client->counters().reconnects >= refused; }));
    stratum::SimulatorConfig up = test::simulator_config(PoolProtocol::ethereum_stratum_1);
    up.port = port;
    stratum::PoolSimulator pool(rig.io, up);
    ASSERT_TRUE(rig.wait_jobs(1)) << "after " << refused << " refused connects";
    EXPECT_EQ(rig.client->protocol(), PoolProtocol::ethereum_stratum_1);
    EXPECT_FALSE(rig.recorder.has_state(ConnectionState::auth_failed));
    rig.client->stop();
  }
}

TEST(Detection, AWrongExplicitDialectIsReportedAndRetried) {
  Rig rig(test::simulator_config(PoolProtocol::ethproxy));
  rig.connect_to("stratum2+tcp://127.0.0.1:" + std::to_string(rig.sim->port()));
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.client->counters().reconnects >= 2; }));
  EXPECT_TRUE(rig.recorder.jobs.empty());
  ASSERT_TRUE(rig.recorder.has_state(ConnectionState::disconnected));
  bool explained = false;
  for (const auto& [s, why] : rig.recorder.states)
    explained = explained || why.find("mining.subscribe refused") != std::string::npos;
  EXPECT_TRUE(explained);
}

TEST(Addresses, DnsNamesAndIpv6Literals) {
  {
    Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
    rig.connect_to("stratum2+tcp://localhost:" + std::to_string(rig.sim->port()));
    ASSERT_TRUE(rig.wait_jobs(1));
  }
  auto config = test::simulator_config(PoolProtocol::ethereum_stratum_1);
  config.address = "::1";
  std::unique_ptr<Rig> rig;
  try {
    rig = std::make_unique<Rig>(config);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  EXPECT_EQ(rig->sim->url(), "stratum2+tcp://[::1]:" + std::to_string(rig->sim->port()));
  rig->connect();
  ASSERT_TRUE(rig->wait_jobs(1));
}

TEST(HeldShares, ASharesJobRenewedAfterAReconnectIsSent) {
  Rig rig(test::simulator_config(PoolProtocol::ethproxy));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Share share = rig.share_for_last_job(true);
  rig.sim->inject(Fault::pause_listening, 800ms);
  rig.sim->inject(Fault::drop_connections);
  // Found during the outage, after attempts that were refused: still held, not stale.
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.client->counters().reconnects >= 3; }));
  const std::uint64_t id = rig.client->submit(share);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.result(id) != nullptr; }));
  EXPECT_EQ(rig.recorder.result(id)->outcome, ShareOutcome::accepted) << rig.recorder.result(id)->reason;
  EXPECT_EQ(rig.sim->totals().accepted, 1u);
}

// A pool that asks every connection to reconnect at once (or drops it after its job) is backed
// off from, not called again every backoff.initial for ever.
TEST(Reconnects, APoolThatEndsEveryConnectionAtOnceIsBackedOffFrom) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
  rig.sim->schedule({Fault::request_reconnect, 20ms, 0ms});
  rig.connect([](PoolConfig& p) {
    p.backoff.initial = 50ms;
    p.backoff.max = 10s;
    p.backoff.jitter = 0;
  });
  test::run_for(rig.io, 2500ms);
  // Waits of 50, 100, 200, 400, 800 and 1600 ms: 5 or 6 reconnects; at 50 ms each, over 30.
  EXPECT_GE(rig.client->counters().reconnects, 3u);
  EXPECT_LE(rig.client->counters().reconnects, 8u);
  EXPECT_FALSE(rig.recorder.jobs.empty());
}

TEST(HeldShares, AJobReplacedDuringTheOutageMakesItStale) {
  Rig rig(test::simulator_config(PoolProtocol::ethproxy));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Share share = rig.share_for_last_job(true);
  rig.sim->inject(Fault::pause_listening, 300ms);
  rig.sim->inject(Fault::drop_connections);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.has_state(ConnectionState::disconnected); }));
  const std::uint64_t id = rig.client->submit(share);
  rig.sim->new_job(true);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.result(id) != nullptr; }));
  EXPECT_EQ(rig.recorder.result(id)->outcome, ShareOutcome::stale);
  EXPECT_EQ(rig.sim->totals().accepted + rig.sim->totals().stale, 0u);  // never sent
}

TEST(HeldShares, ANewExtranonceAfterTheReconnectMakesItStale) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Share share = rig.share_for_last_job(true);
  rig.sim->inject(Fault::drop_connections);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.has_state(ConnectionState::disconnected); }));
  const std::uint64_t id = rig.client->submit(share);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.result(id) != nullptr; }));
  EXPECT_EQ(rig.recorder.result(id)->outcome, ShareOutcome::stale);
  EXPECT_NE(rig.recorder.result(id)->reason.find("extranonce"), std::string::npos);
}

TEST(Stop, ReportsHeldSharesAndStopsReconnecting) {
  Rig rig(test::simulator_config(PoolProtocol::ethproxy));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Share share = rig.share_for_last_job(true);
  rig.sim->inject(Fault::pause_listening, 10s);
  rig.sim->inject(Fault::drop_connections);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.has_state(ConnectionState::disconnected); }));
  const std::uint64_t id = rig.client->submit(share);
  rig.client->stop();
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.result(id) != nullptr; }));
  EXPECT_EQ(rig.recorder.result(id)->outcome, ShareOutcome::stale);
  const auto reconnects = rig.client->counters().reconnects;
  test::run_for(rig.io, 500ms);
  EXPECT_EQ(rig.client->counters().reconnects, reconnects);
}

TEST(Stop, StartAgainReconnects) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_2));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  rig.client->stop();
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.has_state(ConnectionState::disconnected); }));
  EXPECT_FALSE(rig.client->alive());
  rig.client->start();
  ASSERT_TRUE(rig.wait_jobs(2));
  EXPECT_TRUE(rig.client->alive());
  EXPECT_EQ(rig.sim->sessions().size(), 2u);
}

// Etchash (ECIP-1099): the pool sends the seed of Ethash epoch 2E (EthereumStratum/1.0.0) or the
// epoch and algorithm (EthereumStratum/2.0.0); the DAG epoch is E, and shares verify against it.
class Etchash : public ::testing::TestWithParam<PoolProtocol> {};

TEST_P(Etchash, JobsCarryTheDagEpochAndSharesVerify) {
  auto config = test::simulator_config(GetParam());
  config.algo = Algorithm::etchash;
  config.epoch = 1;
  config.cache = test::shared_light_cache(Algorithm::etchash, 1);
  Rig rig(config);
  // EthereumStratum/2.0.0 announces the algorithm; the others rely on the configuration.
  rig.connect(
      [&](PoolConfig& p) { p.algo = GetParam() == PoolProtocol::ethereum_stratum_2 ? Algorithm::ethash : Algorithm::etchash; });
  ASSERT_TRUE(rig.wait_jobs(1));
  const Job& job = rig.last_job();
  EXPECT_EQ(job.algo, Algorithm::etchash);
  EXPECT_EQ(job.epoch, 1);
  EXPECT_EQ(job.seed, ethash_seed(2));
  EXPECT_EQ(rig.submit(rig.share_for_last_job(true)).outcome, ShareOutcome::accepted);
}

INSTANTIATE_TEST_SUITE_P(Stratum, Etchash, ::testing::Values(PoolProtocol::ethereum_stratum_1, PoolProtocol::ethereum_stratum_2),
                         test::dialect_test_name);

// EthereumStratum/1.0.0 section IV: extranonce a2eea0, job bf0488aa, difficulty 1; the miner
// submits cfae7df760 and the pool accepts it (share difficulty about 1.863).
TEST(WorkedExample, EthereumStratum1SpecificationScenario) {
  auto config = test::simulator_config(PoolProtocol::ethereum_stratum_1, 1.0);
  config.epoch = 50;
  config.cache = test::shared_light_cache(Algorithm::ethash, 50);
  config.first_extranonce = "a2eea0";
  Rig rig(config);
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const auto header = *parse_hex_array<32>("fc12eb20c58158071c956316cdcd12a22dd8bf126ac4aee559f0ffe4df11f279");
  rig.sim->push_job("bf0488aa", header, true);
  ASSERT_TRUE(rig.wait_jobs(2));
  const Job& job = rig.last_job();
  EXPECT_EQ(job.id, "bf0488aa");
  EXPECT_EQ(job.epoch, 50);
  EXPECT_EQ(to_hex(job.seed), "abad8f99f3918bf903c6a909d9bbc0fdfa5a2f4b9cb1196175ec825c6610126c");
  EXPECT_EQ(job.target, target_from_difficulty(1.0));
  EXPECT_EQ(job.nonces.first(), 0xa2eea00000000000ull);

  const std::uint64_t nonce = job.nonces.compose(0xcfae7df760ull);
  EXPECT_EQ(nonce, 0xa2eea0cfae7df760ull);
  EXPECT_EQ(job.nonces.miner_part_hex(nonce), "cfae7df760");
  const HashResult h = hashimoto_light(*rig.sim->light_cache(), header, nonce);
  EXPECT_EQ(to_hex(h.final_hash), "000000008967835bc523bf58c952df82be871ba937996c86b9419bcc967028a0");
  Share share{"sim", "bf0488aa", header, nonce, h.mix_hash, h.final_hash, difficulty_of(h.final_hash), "cpu", Clock::now()};
  EXPECT_NEAR(share.difficulty, 1.863, 0.001);
  const auto r = rig.submit(share);
  EXPECT_EQ(r.outcome, ShareOutcome::accepted) << r.reason;
  EXPECT_EQ(rig.sim->totals().accepted, 1u);
}

}  // namespace
}  // namespace dagminer::stratum

namespace dagminer::stratum {
namespace {

// EthereumStratum/2.0.0 over loopback: a dropped connection resumes its session, keeping the
// extranonce and the worker without authorizing again; a pool that does not resume gives a new one.
class Es2Resume : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::warn); }
};

TEST_P(Es2Resume, AReconnectKeepsTheSessionWhereThePoolAllows) {
  const bool resumes = GetParam();
  auto config = test::simulator_config(PoolProtocol::ethereum_stratum_2);
  config.es2_resume = resumes;
  test::Rig rig(config);
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const NonceSpace before = rig.last_job().nonces;
  rig.sim->inject(Fault::drop_connections);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.count_state(ConnectionState::authorized) >= 2; }));
  ASSERT_TRUE(rig.wait_jobs(2));
  const auto sessions = rig.sim->sessions();
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[1].resumed, resumes);
  EXPECT_TRUE(sessions[1].authorized);
  EXPECT_EQ(sessions[1].extranonce == sessions[0].extranonce, resumes);
  EXPECT_EQ(rig.last_job().nonces.first() == before.first(), resumes);
  const ShareResult r = rig.submit(rig.share_for_last_job(true));
  EXPECT_EQ(r.outcome, ShareOutcome::accepted) << r.reason;
}

INSTANTIATE_TEST_SUITE_P(Pools, Es2Resume, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Resuming" : "NotResuming"; });

}  // namespace
}  // namespace dagminer::stratum
