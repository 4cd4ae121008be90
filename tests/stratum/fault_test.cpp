// The client against a misbehaving pool: each simulator fault, a scripted pool sending unknown
// methods, replies to unknown ids and wrong types, and dead-pool detection. Every test checks
// that the client recovers (or stays up) and how it reported what happened.
#include <gtest/gtest.h>

#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/stratum/protocol.hpp"
#include "harness.hpp"

namespace dagminer::stratum {
namespace {

using test::Rig;
using namespace std::chrono_literals;

class Faults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::off); }

  bool reason_contains(const Rig& rig, ConnectionState state, const std::string& text) {
    for (const auto& [s, why] : rig.recorder.states)
      if (s == state && why.find(text) != std::string::npos) return true;
    return false;
  }
};

TEST_F(Faults, DroppedConnectionIsReconnected) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  rig.sim->inject(Fault::drop_connections);
  ASSERT_TRUE(rig.wait_jobs(2));
  EXPECT_EQ(rig.client->counters().reconnects, 1u);
  EXPECT_TRUE(reason_contains(rig, ConnectionState::disconnected, "closed"));
  EXPECT_EQ(rig.recorder.count_state(ConnectionState::authorized), 2u);
  EXPECT_EQ(rig.submit(rig.share_for_last_job(true)).outcome, ShareOutcome::accepted);
}

TEST_F(Faults, PoolNotListeningIsRetriedWithBackoff) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_2));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  rig.sim->inject(Fault::pause_listening, 300ms);
  rig.sim->inject(Fault::pause_listening, 700ms);  // overlapping: listening resumes after the longer
  rig.sim->inject(Fault::drop_connections);
  ASSERT_TRUE(rig.wait_jobs(2));
  // The drop, then retries after 50, 100, 200, 200 ms (+/- 10%) refused until 700 ms have passed.
  EXPECT_GE(rig.client->counters().reconnects, 4u);
  EXPECT_LE(rig.client->counters().reconnects, 12u);
  EXPECT_TRUE(reason_contains(rig, ConnectionState::disconnected, "refused"));
}

TEST_F(Faults, MalformedLinesAreCountedAndOnlyARunOfThemReconnects) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
  rig.connect();  // max_protocol_errors = 3
  ASSERT_TRUE(rig.wait_jobs(1));
  rig.sim->inject(Fault::malformed_line);
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.client->counters().protocol_errors == 1; }));
  rig.sim->new_job(true);  // a good line resets the run
  ASSERT_TRUE(rig.wait_jobs(2));
  rig.sim->inject(Fault::malformed_line);
  rig.sim->inject(Fault::malformed_line);
  test::run_for(rig.io, 200ms);
  EXPECT_EQ(rig.client->counters().protocol_errors, 3u);
  EXPECT_EQ(rig.client->counters().reconnects, 0u);
  EXPECT_TRUE(rig.client->alive());
  rig.sim->inject(Fault::malformed_line);  // the third in a row
  ASSERT_TRUE(
      test::run_until(rig.io, [&] { return reason_contains(rig, ConnectionState::disconnected, "3 protocol errors in a row"); }));
  EXPECT_EQ(rig.client->counters().reconnects, 1u);
  ASSERT_TRUE(rig.wait_jobs(3));
}

TEST_F(Faults, OverlongLineIsDiscardedWithoutDroppingThePool) {
  Rig rig(test::simulator_config(PoolProtocol::ethproxy));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  rig.sim->inject(Fault::overlong_line);
  rig.sim->new_job(true);
  ASSERT_TRUE(rig.wait_jobs(2));
  EXPECT_EQ(rig.client->counters().protocol_errors, 1u);
  EXPECT_EQ(rig.client->counters().reconnects, 0u);
  EXPECT_EQ(rig.submit(rig.share_for_last_job(true)).outcome, ShareOutcome::accepted);
}

TEST_F(Faults, UnansweredSubmitTimesOutAndThePoolIsDropped) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
  rig.connect();  // response_timeout = 1 s
  ASSERT_TRUE(rig.wait_jobs(1));
  rig.sim->inject(Fault::delay_replies, 2500ms);
  const auto r = rig.submit(rig.share_for_last_job(true));
  EXPECT_EQ(rig.client->counters().shares_sent, 1u);
  EXPECT_EQ(r.outcome, ShareOutcome::timed_out);
  EXPECT_NE(r.reason.find("no reply to share submission within 1 s"), std::string::npos) << r.reason;
  ASSERT_TRUE(test::run_until(
      rig.io, [&] { return reason_contains(rig, ConnectionState::disconnected, "no reply to share submission within 1 s"); }));
  ASSERT_TRUE(rig.wait_jobs(2));  // once replies are prompt again
}

TEST_F(Faults, RefusedAuthorizationIsReportedAndRetriedAfterTheBackoffMaximum) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
  rig.sim->inject(Fault::reject_all, 900ms);
  rig.connect([](PoolConfig& p) { p.backoff.max = 300ms; });
  ASSERT_TRUE(rig.wait_jobs(1));
  const auto refusals = rig.recorder.count_state(ConnectionState::auth_failed);
  EXPECT_GE(refusals, 1u);
  EXPECT_LE(refusals, 4u);  // 900 ms / 300 ms between tries, not a tight loop
  EXPECT_TRUE(reason_contains(rig, ConnectionState::auth_failed, "refused user '0xwallet.rig1'"));
  for (const auto& [s, why] : rig.recorder.states) EXPECT_EQ(why.find("secret-password"), std::string::npos);
  EXPECT_FALSE(rig.recorder.has_state(ConnectionState::disconnected));  // reported once, as auth_failed
}

TEST_F(Faults, ReusedJobIdsAreToldApartByHeader) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  const Job first = rig.last_job();
  const Share old = rig.share_for_last_job(true);
  rig.sim->inject(Fault::reuse_job_ids, 1h);
  rig.sim->new_job(true);
  ASSERT_TRUE(rig.wait_jobs(2));
  EXPECT_EQ(rig.last_job().id, first.id);
  EXPECT_NE(rig.last_job().header, first.header);
  EXPECT_EQ(rig.submit(old).outcome, ShareOutcome::stale);
  EXPECT_EQ(rig.submit(rig.share_for_last_job(true)).outcome, ShareOutcome::accepted);
}

TEST_F(Faults, ReconnectRequestIsHonoured) {
  for (PoolProtocol d : {PoolProtocol::ethereum_stratum_1, PoolProtocol::ethereum_stratum_2}) {
    Rig rig(test::simulator_config(d));
    rig.connect();
    ASSERT_TRUE(rig.wait_jobs(1));
    rig.sim->inject(Fault::request_reconnect);
    ASSERT_TRUE(rig.wait_jobs(2));
    EXPECT_EQ(rig.client->counters().reconnects, 1u);
    EXPECT_TRUE(reason_contains(rig, ConnectionState::disconnected, "asked to reconnect"));
    EXPECT_EQ(rig.sim->sessions().size(), 2u);
  }
}

TEST_F(Faults, SilentPoolIsDeclaredDead) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
  rig.connect([](PoolConfig& p) { p.job_timeout = 1s; });
  ASSERT_TRUE(rig.wait_jobs(1));
  rig.sim->inject(Fault::go_silent, 2500ms);
  ASSERT_TRUE(test::run_until(
      rig.io, [&] { return rig.recorder.has_state(ConnectionState::disconnected); }, 3s));
  EXPECT_TRUE(reason_contains(rig, ConnectionState::disconnected, "no new job within 1 s"));
  EXPECT_FALSE(rig.client->alive());
  ASSERT_TRUE(rig.wait_jobs(2, 8s));
}

TEST_F(Faults, ScheduledFaultsKeepTheClientCycling) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_2));
  rig.sim->schedule({Fault::drop_connections, 300ms, {}});
  rig.connect();
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.client->counters().reconnects >= 2; }));
  ASSERT_TRUE(test::run_until(rig.io, [&] { return rig.client->alive(); }));
  EXPECT_GE(rig.sim->sessions().size(), 3u);
  EXPECT_NE(rig.sim->summary().find("session 3"), std::string::npos);
}

// A pool on its own thread that follows a script over one blocking connection, then waits
// until the client goes away. Declare it before the client, so the client closes first.
class ScriptedPool {
 public:
  using Script = std::function<void(ScriptedPool&)>;
  explicit ScriptedPool(Script script)
      : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}), socket_(io_), thread_([this, script] {
          acceptor_.accept(socket_);
          script(*this);
          boost::system::error_code ec;
          boost::asio::read_until(socket_, in_, "never", ec);
        }) {}
  ~ScriptedPool() { thread_.join(); }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const { return "stratum2+tcp://127.0.0.1:" + std::to_string(port()); }
  Message read() {
    boost::asio::read_until(socket_, in_, '\n');
    std::istream is(&in_);
    std::string line;
    std::getline(is, line);
    return decode_message(line);
  }
  void send(const std::string& line) { boost::asio::write(socket_, boost::asio::buffer(line + "\n")); }
  void reply(const Message& request, const std::string& result) {
    send(R"({"id":)" + std::to_string(*request.numeric_id()) + R"(,"result":)" + result + R"(,"error":null})");
  }
  // EthereumStratum/1.0.0 handshake with extranonce 0102, then a job `job_id` at epoch 0.
  void handshake_and_job(const std::string& job_id = "j1") {
    reply(read(), R"([["mining.notify","x","EthereumStratum/1.0.0"],"0102"])");
    (void)read();  // mining.extranonce.subscribe
    reply(read(), "true");
    send(notify(job_id));
  }
  static std::string notify(const std::string& job_id) {
    return R"({"id":null,"method":"mining.notify","params":[")" + job_id +
           R"(","0000000000000000000000000000000000000000000000000000000000000000","1111111111111111111111111111111111111111111111111111111111111111",true]})";
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::streambuf in_;
  std::thread thread_;
};

// After the EthereumStratum/1.0.0 handshake: a reply to an id never used, an unknown method with
// an id, a notify with wrong types, and finally a good job.
TEST_F(Faults, UnknownMethodsUnknownIdsAndWrongTypesAreCountedNotFatal) {
  std::string answer_to_unknown_method;
  ScriptedPool pool([&](ScriptedPool& p) {
    p.reply(p.read(), R"([["mining.notify","x","EthereumStratum/1.0.0"],"0102"])");
    (void)p.read();  // mining.extranonce.subscribe: left unanswered, as some pools do
    p.reply(p.read(), "true");
    p.send(R"({"id":4242,"result":true,"error":null})");
    p.send(R"({"id":77,"method":"mining.frobnicate","params":[]})");
    p.send(R"({"id":null,"method":"mining.notify","params":[1,2,3,4]})");
    p.send(
        R"({"id":null,"method":"mining.notify","params":["j1","0000000000000000000000000000000000000000000000000000000000000000","1111111111111111111111111111111111111111111111111111111111111111",true]})");
    const auto reply = p.read();
    answer_to_unknown_method = reply.error ? reply.error->message : "";
  });
  boost::asio::io_context io;
  test::Recorder rec;
  PoolConfig config = test::fast_pool(pool.url());
  config.max_protocol_errors = 5;
  PoolClient client(io, config, rec.callbacks());
  client.start();
  ASSERT_TRUE(test::run_until(io, [&] { return !rec.jobs.empty() && !answer_to_unknown_method.empty(); }));
  EXPECT_EQ(client.counters().protocol_errors, 3u);
  EXPECT_EQ(client.counters().reconnects, 0u);
  EXPECT_EQ(rec.jobs[0].id, "j1");
  EXPECT_EQ(rec.jobs[0].nonces.first(), 0x0102000000000000ull);
  EXPECT_EQ(rec.jobs[0].target, target_from_difficulty(1.0));  // no set_difficulty: difficulty 1
  EXPECT_EQ(answer_to_unknown_method, "method not found");
}

// A subscription answer the client cannot use leaves nothing pending: the handshake deadline
// still ends the connection.
TEST_F(Faults, StalledHandshakeIsDeclaredDead) {
  ScriptedPool pool([](ScriptedPool& p) { p.reply(p.read(), R"([["mining.notify","x","EthereumStratum/1.0.0"],"zz"])"); });
  boost::asio::io_context io;
  test::Recorder rec;
  PoolClient client(io, test::fast_pool(pool.url()), rec.callbacks());
  client.start();
  auto reported = [&] {
    for (const auto& [s, why] : rec.states)
      if (s == ConnectionState::disconnected && why.find("not connected and authorized within 3 s") != std::string::npos)
        return true;
    return false;
  };
  ASSERT_TRUE(test::run_until(io, reported, 6s));
  EXPECT_EQ(client.counters().protocol_errors, 1u);
  EXPECT_TRUE(rec.jobs.empty());
}

// A pool's words reach the log, the journal and the API: a rejection with a newline and an
// escape sequence must not forge a log line, and a 60 KB job id is refused, not logged.
TEST_F(Faults, HostileTextFromThePoolIsSanitizedWhereItEnters) {
  ScriptedPool pool([](ScriptedPool& p) {
    p.send(ScriptedPool::notify(std::string(60000, 'a')));  // before the handshake: refused all the same
    p.handshake_and_job("j1");
    const Message submit = p.read();
    p.send(R"({"id":)" + std::to_string(*submit.numeric_id()) +
           R"(,"result":null,"error":[23,"x\n2026-01-01 [info] pool main: share accepted (FORGED)\u001b[31m"]})");
  });
  boost::asio::io_context io;
  test::Recorder rec;
  PoolClient client(io, test::fast_pool(pool.url()), rec.callbacks());
  client.start();
  ASSERT_TRUE(test::run_until(io, [&] { return !rec.jobs.empty(); }));
  ASSERT_EQ(rec.jobs.size(), 1u);
  ASSERT_TRUE(rec.jobs[0].id == "j1");  // not printed: it may be 60 KB
  EXPECT_EQ(client.counters().protocol_errors, 1u);
  Share share;
  share.pool = "sim";
  share.job_id = "j1";
  share.header = rec.jobs[0].header;
  share.nonce = rec.jobs[0].nonces.first();
  const std::uint64_t id = client.submit(share);
  ASSERT_TRUE(test::run_until(io, [&] { return rec.result(id) != nullptr; }));
  const std::string reason = rec.result(id)->reason;
  EXPECT_EQ(reason.find('\n'), std::string::npos) << reason;
  EXPECT_EQ(reason.find('\x1b'), std::string::npos) << reason;
  EXPECT_NE(reason.find("x\\n2026-01-01"), std::string::npos) << reason;
  EXPECT_NE(reason.find("\\x1b[31m"), std::string::npos) << reason;
}

// client.reconnect asks for 600 s; the wait is capped at backoff.max (200 ms here).
TEST_F(Faults, ReconnectWaitIsCappedAtTheBackoffMaximum) {
  ScriptedPool pool([](ScriptedPool& p) {
    p.handshake_and_job();
    p.send(R"({"id":null,"method":"client.reconnect","params":["127.0.0.1",)" + std::to_string(p.port()) + ",600]}");
  });
  boost::asio::io_context io;
  test::Recorder rec;
  PoolClient client(io, test::fast_pool(pool.url()), rec.callbacks());
  client.start();
  ASSERT_TRUE(test::run_until(io, [&] { return !rec.jobs.empty(); }));
  EXPECT_TRUE(test::run_until(
      io, [&] { return rec.count_state(ConnectionState::connecting) >= 2; }, 3s));
  client.stop();
}

}  // namespace
}  // namespace dagminer::stratum
