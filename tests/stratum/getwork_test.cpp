// Solo mining against the simulated node over loopback HTTP: pushed work decoded, blocks found and
// accepted, stale work refused, the node's faults (down, syncing, HTTP errors, slow answers) with
// backoff, hashrate reports as core-geth parses them, the epoch from the block number, pushed
// work in both of core-geth's forms, HTTP Basic credentials and HTTPS.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/getwork_node.hpp"
#include "dagminer/stratum/protocol.hpp"
#include "harness.hpp"

namespace dagminer::stratum {
namespace {

using namespace std::chrono_literals;

GetworkNodeConfig node_config(Algorithm algo = Algorithm::ethash, int epoch = 0) {
  GetworkNodeConfig c;
  c.algo = algo;
  c.epoch = epoch;
  c.difficulty = test::easy_difficulty;
  c.cache = test::shared_light_cache(algo, epoch);
  return c;
}

struct SoloRig {
  explicit SoloRig(GetworkNodeConfig config) : node(std::make_unique<GetworkNode>(io, std::move(config))) {}

  void connect(const std::function<void(PoolConfig&)>& tweak = {}) {
    PoolConfig config = test::fast_pool(node->url());
    config.algo = node->light_cache()->algo;
    if (tweak) tweak(config);
    source = make_job_source(io.get_executor(), config, recorder.callbacks());
    source->start();
  }
  bool wait_jobs(std::size_t n, std::chrono::milliseconds limit = 10s) {
    return test::run_until(
        io, [&] { return recorder.jobs.size() >= n; }, limit);
  }
  bool wait_alive(bool alive, std::chrono::milliseconds limit = 10s) {
    // Alive includes the job's callback having run, so that share() has a job to work on.
    return test::run_until(
        io, [&] { return source->alive() == alive && (!alive || !recorder.jobs.empty()); }, limit);
  }
  ShareResult submit(const Share& share) {
    const std::uint64_t id = source->submit(share);
    if (!test::run_until(io, [&] { return recorder.result(id) != nullptr; }))
      throw std::runtime_error("no outcome for share " + std::to_string(id));
    return *recorder.result(id);
  }
  Share share(bool meets = true, std::uint64_t start = 0) const {
    return test::find_share(*node->light_cache(), recorder.jobs.back(), meets, start);
  }

  boost::asio::io_context io;
  std::unique_ptr<GetworkNode> node;
  test::Recorder recorder;
  std::unique_ptr<JobSource> source;
};

class Getwork : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::warn); }
};

TEST(GetworkPush, DecodesBothOfCoreGethsForms) {
  const PushedWork array = decode_pushed_work(R"(["0x)" + std::string(64, 'a') + R"(","0x)" + std::string(64, 'b') + R"(","0x)" +
                                              std::string(64, 'c') + R"(","0x1d4c1"])");
  ASSERT_TRUE(array.work.has_value());
  EXPECT_EQ(array.block, 120001u);
  const PushedWork full = decode_pushed_work(R"({"parentHash":"0x00","number":"0x1d4c1","difficulty":"0x2"})");
  EXPECT_FALSE(full.work.has_value());
  EXPECT_EQ(full.block, 120001u);
  EXPECT_THROW(decode_pushed_work("not json"), ProtocolError);
  EXPECT_THROW(decode_pushed_work(R"({"parentHash":"0x00"})"), ProtocolError);
  EXPECT_THROW(decode_pushed_work("42"), ProtocolError);
}

TEST_F(Getwork, BlocksFoundAreAcceptedAndCounted) {
  SoloRig rig(node_config());
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Job& job = rig.recorder.jobs.back();
  EXPECT_EQ(job.header, rig.node->header());
  EXPECT_EQ(job.height, rig.node->block());
  EXPECT_EQ(job.id, std::to_string(rig.node->block()));
  EXPECT_EQ(job.target, target_from_difficulty(test::easy_difficulty));
  EXPECT_TRUE(job.clean);
  EXPECT_EQ(rig.source->protocol(), PoolProtocol::getwork);
  ASSERT_TRUE(rig.wait_alive(true));
  EXPECT_TRUE(rig.source->latency().has_value());

  const ShareResult r = rig.submit(rig.share());
  EXPECT_EQ(r.outcome, ShareOutcome::accepted) << r.reason;
  EXPECT_EQ(rig.source->counters().blocks_found, 1u);
  EXPECT_EQ(rig.node->stats().blocks_accepted, 1u);

  // A wrong proof of work: the node answers false, its work unchanged.
  const ShareResult bad = rig.submit(rig.share(false));
  EXPECT_EQ(bad.outcome, ShareOutcome::rejected) << bad.reason;
  EXPECT_EQ(rig.source->counters().blocks_found, 1u);

  // Polling brings the next block as a new clean job; the same header polled again is no job.
  const std::size_t jobs = rig.recorder.jobs.size();
  rig.node->new_block();
  ASSERT_TRUE(rig.wait_jobs(jobs + 1));
  test::run_for(rig.io, 1200ms);
  EXPECT_EQ(rig.recorder.jobs.size(), jobs + 1);
  EXPECT_GE(rig.node->stats().get_work, 3u);
}

TEST_F(Getwork, AStaleHeaderIsRefusedByTheNodeAndReportedStale) {
  SoloRig rig(node_config());
  rig.connect([](PoolConfig& p) { p.getwork_poll = 1h; });  // only the first poll and those a refusal asks for
  ASSERT_TRUE(rig.wait_jobs(1));
  const Share old = rig.share();
  rig.node->new_block();  // the source has not seen it: the node judges the stale header
  const ShareResult r = rig.submit(old);
  EXPECT_EQ(r.outcome, ShareOutcome::stale) << r.reason;
  EXPECT_EQ(rig.node->stats().stale, 1u);
  // The refusal made the source ask for work at once.
  ASSERT_TRUE(rig.wait_jobs(2));
  EXPECT_EQ(rig.recorder.jobs.back().header, rig.node->header());
  // Shares for the replaced header are stale without being sent.
  EXPECT_EQ(rig.submit(old).outcome, ShareOutcome::stale);
  EXPECT_EQ(rig.node->stats().stale, 1u);
  EXPECT_EQ(rig.source->counters().blocks_found, 0u);
}

TEST_F(Getwork, NodeDownHoldsSolutionsAndBacksOff) {
  SoloRig rig(node_config());
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  ASSERT_TRUE(rig.wait_alive(true));
  const Share found = rig.share();
  rig.node->set_down(true);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.has_state(ConnectionState::disconnected); }));
  EXPECT_FALSE(rig.source->alive());
  const std::uint64_t id = rig.source->submit(found);
  test::run_for(rig.io, 100ms);
  EXPECT_TRUE(rig.source->holds(id));
  EXPECT_EQ(rig.recorder.result(id), nullptr);
  // Down for a second: attempts back off (50 ms doubling to 200 ms), no busy loop.
  const std::size_t connecting = rig.recorder.count_state(ConnectionState::connecting);
  test::run_for(rig.io, 1s);
  const std::size_t attempts = rig.recorder.count_state(ConnectionState::connecting) - connecting;
  EXPECT_GE(attempts, 3u);
  EXPECT_LE(attempts, 12u);
  // Back with the same work: the held solution goes out and is a block.
  rig.node->set_down(false);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.result(id) != nullptr; }));
  EXPECT_EQ(rig.recorder.result(id)->outcome, ShareOutcome::accepted) << rig.recorder.result(id)->reason;
  EXPECT_FALSE(rig.source->holds(id));
  EXPECT_EQ(rig.source->counters().reconnects, 1u);
}

TEST_F(Getwork, HeldSolutionsForWorkTheNodeLeftAreStale) {
  SoloRig rig(node_config());
  rig.connect();
  ASSERT_TRUE(rig.wait_alive(true));
  const Share found = rig.share();
  rig.node->set_down(true);
  ASSERT_TRUE(rig.wait_alive(false));
  const std::uint64_t id = rig.source->submit(found);
  rig.node->new_block();
  rig.node->set_down(false);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.result(id) != nullptr; }));
  EXPECT_EQ(rig.recorder.result(id)->outcome, ShareOutcome::stale);
  EXPECT_EQ(rig.node->stats().stale, 0u);  // never sent
}

// A solution goes to the node once: when the node carries it out and closes the connection
// without answering, it is not sent again (a second copy of a block is refused, and the first
// would be booked by that refusal); its outcome is unknown, so timed out. It goes on a fresh
// connection, not on one the node may have closed while it was idle.
TEST_F(Getwork, ASolutionWhoseAnswerIsLostIsNotSentTwice) {
  SoloRig rig(node_config());
  rig.connect();
  ASSERT_TRUE(rig.wait_alive(true));
  test::run_for(rig.io, 300ms);  // polls answered: an idle keep-alive connection waits
  const Share share = rig.share();
  rig.node->set_close_unanswered(true);
  const ShareResult r = rig.submit(share);
  EXPECT_EQ(r.outcome, ShareOutcome::timed_out) << r.reason;
  const auto& s = rig.node->stats();
  EXPECT_EQ(s.blocks_accepted, 1u);
  EXPECT_EQ(s.stale + s.invalid, 0u) << "the solution was sent again";
}

// Each fault: the node is dead while it lasts, polls back off, and it is alive again after.
struct NodeFaultCase {
  const char* name;
  std::function<void(GetworkNode&, bool)> apply;
  const char* reason;  // part of the reported state's reason
};

void PrintTo(const NodeFaultCase& c, std::ostream* out) { *out << c.name; }

class GetworkFaults : public ::testing::TestWithParam<NodeFaultCase> {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::off); }
};

TEST_P(GetworkFaults, TheNodeIsDeadWhileItLastsWithBackoff) {
  SoloRig rig(node_config());
  rig.connect();
  ASSERT_TRUE(rig.wait_alive(true));
  GetParam().apply(*rig.node, true);
  ASSERT_TRUE(rig.wait_alive(false));
  const auto named = [&] {
    for (const auto& [state, why] : rig.recorder.states)
      if (state == ConnectionState::disconnected && why.find(GetParam().reason) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(test::run_until(rig.io, named)) << "no state change names '" << GetParam().reason << "'";
  const std::uint64_t before = rig.node->stats().requests;
  test::run_for(rig.io, 1500ms);
  const std::uint64_t requests = rig.node->stats().requests - before;
  EXPECT_LE(requests, 15u) << "polls do not back off";
  GetParam().apply(*rig.node, false);
  ASSERT_TRUE(rig.wait_alive(true));
}

INSTANTIATE_TEST_SUITE_P(
    All, GetworkFaults,
    ::testing::Values(
        NodeFaultCase{"Syncing", [](GetworkNode& n, bool on) { n.set_syncing(on); }, "no mining work available yet"},
        NodeFaultCase{"HttpError", [](GetworkNode& n, bool on) { n.set_http_error(on ? 503 : 0); }, "HTTP 503"},
        NodeFaultCase{"SlowAnswers", [](GetworkNode& n, bool on) { n.set_reply_delay(on ? 1500ms : 0ms); }, "no answer"},
        NodeFaultCase{"Down", [](GetworkNode& n, bool on) { n.set_down(on); }, "refused"}),
    [](const ::testing::TestParamInfo<NodeFaultCase>& info) { return std::string(info.param.name); });

TEST_F(Getwork, HashrateIsMinimalHexWithAFixedId) {
  SoloRig rig(node_config());
  rig.connect([](PoolConfig& p) { p.hashrate_interval = 1s; });
  ASSERT_TRUE(rig.wait_alive(true));
  rig.source->set_hashrate(123456.7);
  ASSERT_TRUE(test::run_until(
      rig.io, [&] { return rig.node->stats().hashrates.size() >= 2; }, 5s));
  const auto& stats = rig.node->stats();
  EXPECT_EQ(stats.hashrates[0], "0x1e240");
  const std::regex hash32("0x[0-9a-f]{64}");
  EXPECT_TRUE(std::regex_match(stats.hashrate_ids[0], hash32)) << stats.hashrate_ids[0];
  EXPECT_EQ(stats.hashrate_ids[0], stats.hashrate_ids[1]);
}

TEST_F(Getwork, EtchashEpochComesFromTheBlockNumber) {
  // Etchash epoch 1's seed is Ethash epoch 2's: the block number says which DAG to build.
  SoloRig rig(node_config(Algorithm::etchash, 1));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Job& job = rig.recorder.jobs.back();
  EXPECT_EQ(job.algo, Algorithm::etchash);
  EXPECT_EQ(job.epoch, 1);
  EXPECT_EQ(job.height, 60001u);
  EXPECT_EQ(job.seed, seed_of_epoch(Algorithm::ethash, 2));
  EXPECT_EQ(rig.submit(rig.share()).outcome, ShareOutcome::accepted);
}

TEST_F(Getwork, ThreeElementWorkFallsBackToTheSeed) {
  GetworkNodeConfig config = node_config(Algorithm::etchash, 1);
  config.three_element_work = true;
  SoloRig rig(config);
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  EXPECT_EQ(rig.recorder.jobs.back().epoch, 1);
  EXPECT_FALSE(rig.recorder.jobs.back().height.has_value());
  EXPECT_EQ(rig.submit(rig.share()).outcome, ShareOutcome::accepted);
}

class GetworkPushes : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::warn); }
};

TEST_P(GetworkPushes, APushedBlockIsAJobAtOnce) {
  const std::uint16_t port = test::free_loopback_port();
  GetworkNodeConfig config = node_config();
  config.notify_urls = {"http://127.0.0.1:" + std::to_string(port) + "/"};
  config.notify_full = GetParam();
  SoloRig rig(config);
  rig.connect([&](PoolConfig& p) {
    p.getwork_poll = 1h;  // only pushes bring new work
    p.notify_listen = ListenAddress{"127.0.0.1", port};
  });
  ASSERT_TRUE(rig.wait_jobs(1));
  const auto pushed_at = Clock::now();
  rig.node->new_block();
  ASSERT_TRUE(rig.wait_jobs(2, 5s));
  const Job& job = rig.recorder.jobs.back();
  EXPECT_EQ(job.header, rig.node->header());
  EXPECT_EQ(job.height, rig.node->block());
  // Stamped when the push arrived: the job-switch latency counts from there, as from a notify line.
  EXPECT_GE(job.received, pushed_at);
  EXPECT_TRUE(test::run_until(rig.io, [&] { return rig.node->stats().pushes == 1; }));
  EXPECT_EQ(rig.submit(rig.share()).outcome, ShareOutcome::accepted);
}

// A push for a block far ahead that the node never gave (pushes are not authenticated) holds only
// until the next poll: the node's own work is taken again though its block is lower, and its next
// block after that.
TEST_F(Getwork, AWrongPushHoldsOnlyUntilTheNextPoll) {
  const std::uint16_t port = test::free_loopback_port();
  SoloRig rig(node_config());
  rig.connect([&](PoolConfig& p) {
    p.getwork_poll = 100ms;
    p.notify_listen = ListenAddress{"127.0.0.1", port};
  });
  ASSERT_TRUE(rig.wait_jobs(1));
  const Hash256 theirs = rig.node->header();
  Hash256 wrong = theirs;
  wrong[0] ^= 0xff;
  const std::string body = "[\"0x" + to_hex(wrong) + "\",\"0x" + to_hex(seed_of_epoch(Algorithm::ethash, 0)) + "\",\"0x" +
                           to_hex(target_from_difficulty(1).be) + "\",\"0x" + hex_number(rig.node->block() + 1000) + "\"]";
  {  // written and closed at once: the listener reads it from the socket when the loop runs
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    boost::asio::write(socket, boost::asio::buffer("POST / HTTP/1.1\r\nHost: miner\r\nContent-Type: application/json\r\n"
                                                   "Connection: close\r\nContent-Length: " +
                                                   std::to_string(body.size()) + "\r\n\r\n" + body));
  }
  const auto current = [&] { return rig.recorder.jobs.back().header; };
  ASSERT_TRUE(test::run_until(rig.io, [&] { return current() == wrong; }));
  ASSERT_TRUE(test::run_until(rig.io, [&] { return current() == theirs; }));
  rig.node->new_block();
  EXPECT_TRUE(test::run_until(rig.io, [&] { return current() == rig.node->header(); }));
}

INSTANTIATE_TEST_SUITE_P(Forms, GetworkPushes, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "FullHeader" : "WorkArray"; });

TEST_F(Getwork, BasicCredentialsFromTheUrl) {
  GetworkNodeConfig config = node_config();
  config.basic_auth = "miner:s3cret";
  SoloRig rig(config);
  const std::string url = rig.node->url();
  const std::string with_auth = "getwork+http://miner:s3cret@" + url.substr(url.find("://") + 3) + "/";
  rig.connect([&](PoolConfig& p) { p.url = with_auth; });
  ASSERT_TRUE(rig.wait_alive(true));

  SoloRig wrong(config);
  const std::string wrong_url = wrong.node->url();
  wrong.connect([&](PoolConfig& p) { p.url = "getwork+http://miner:guess@" + wrong_url.substr(wrong_url.find("://") + 3); });
  ASSERT_TRUE(test::run_until(wrong.io, [&] { return wrong.recorder.has_state(ConnectionState::auth_failed); }));
  EXPECT_FALSE(wrong.source->alive());
  EXPECT_GE(wrong.node->stats().unauthorized, 1u);
}

// A node serving HTTPS with the certificate.
GetworkNodeConfig https_node_config(const test::Certificate& cert) {
  GetworkNodeConfig config = node_config();
  config.tls_cert = cert.cert.string();
  config.tls_key = cert.key.string();
  return config;
}

// How often the source went down for a reason that says `what`.
std::size_t disconnects_saying(const test::Recorder& recorder, std::string_view what) {
  return static_cast<std::size_t>(std::count_if(recorder.states.begin(), recorder.states.end(), [&](const auto& s) {
    return s.first == ConnectionState::disconnected && s.second.find(what) != std::string::npos;
  }));
}

TEST_F(Getwork, HttpsWithThePinnedCertificate) {
  test::TempDir dir;
  const test::Certificate cert = test::make_self_signed(dir.path());
  const GetworkNodeConfig config = https_node_config(cert);
  SoloRig rig(config);
  EXPECT_EQ(rig.node->url().substr(0, 16), "getwork+https://");
  rig.connect([&](PoolConfig& p) { p.tls.fingerprint = cert.fingerprint; });
  ASSERT_TRUE(rig.wait_alive(true));
  EXPECT_EQ(rig.submit(rig.share()).outcome, ShareOutcome::accepted);

  // Without the pin the self-signed certificate is refused, and the reason says so.
  SoloRig unpinned(config);
  unpinned.connect();
  EXPECT_TRUE(test::run_until(unpinned.io, [&] { return disconnects_saying(unpinned.recorder, "certificate") > 0; }));
  EXPECT_FALSE(unpinned.source->alive());
}

// A TLS setting that cannot be used (here a ca_file that is not there) fails each attempt with
// the reason, and polling goes on with backoff: the loop never ends silently.
TEST_F(Getwork, AnUnusableCaFileIsSaidAndRetried) {
  test::TempDir dir;
  SoloRig rig(https_node_config(test::make_self_signed(dir.path())));
  const std::string missing = (dir.path() / "absent-ca.pem").string();
  rig.connect([&](PoolConfig& p) { p.tls.ca_file = missing; });
  ASSERT_TRUE(test::run_until(rig.io, [&] { return disconnects_saying(rig.recorder, "ca_file") > 0; }))
      << "no failure naming the ca_file";
  // Backing off 50 ms doubling to 200 ms: attempts go on.
  EXPECT_TRUE(test::run_until(rig.io, [&] { return rig.recorder.count_state(ConnectionState::connecting) >= 3; }));
  EXPECT_FALSE(rig.source->alive());
  EXPECT_EQ(rig.node->stats().requests, 0u);
}

}  // namespace
}  // namespace dagminer::stratum
