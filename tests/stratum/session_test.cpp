// Session: one connection's conversation driven line by line, with a recording owner in place of
// the socket; its deadlines are checked with a hand-set clock.
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"
#include "session.hpp"

namespace dagminer::stratum {
namespace {

using namespace std::chrono_literals;

struct RecordingOwner final : SessionOwner {
  std::vector<Message> written;
  std::vector<Job> jobs;
  std::vector<std::pair<std::uint64_t, ShareResult>> results;
  std::vector<ConnectionState> states;
  std::optional<PoolProtocol> spoken;
  int closes = 0;

  void write(std::string line) override { written.push_back(decode_message(line)); }
  void close() override { ++closes; }
  void publish(Job job) override { jobs.push_back(std::move(job)); }
  void report(std::uint64_t id, ShareResult r) override { results.emplace_back(id, std::move(r)); }
  void set_state(ConnectionState s, std::string) override { states.push_back(s); }
  void authorized(PoolProtocol p) override { spoken = p; }
};

const std::string seed0 = to_hex(seed_of_epoch(Algorithm::ethash, 0));

std::string notify(const std::string& job_id, char header_digit, bool clean = true) {
  return R"({"id":null,"method":"mining.notify","params":[")" + job_id + R"(",")" + seed0 + R"(",")" +
         std::string(64, header_digit) + R"(",)" + (clean ? "true" : "false") + "]}";
}

std::string reply(const Message& request, const std::string& result) {
  return R"({"id":)" + std::to_string(*request.numeric_id()) + R"(,"result":)" + result + R"(,"error":null})";
}

class SessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::off); }

  SessionTest() {
    config.name = "p";
    config.user = "0xwallet";
    config.response_timeout = 1s;
    config.job_timeout = 5s;
    config.max_protocol_errors = 3;
    settings.pool = "p";
    settings.login = "0xwallet";
  }

  std::unique_ptr<Session> session(PoolProtocol protocol) {
    settings.may_fall_back = protocol == PoolProtocol::automatic;
    return std::make_unique<Session>(config, make_dialect(protocol, settings), settings, owner, book, counters);
  }

  // Connects in EthereumStratum/1.0.0 and answers the handshake with extranonce `extranonce`.
  std::unique_ptr<Session> authorized(const std::string& extranonce = "01") {
    auto s = session(PoolProtocol::ethereum_stratum_1);
    s->connected();
    s->on_line(reply(owner.written.at(0), R"([null,")" + extranonce + R"("])"), Clock::now());
    s->on_line(reply(owner.written.at(2), "true"), Clock::now());
    return s;
  }

  PoolConfig config;
  DialectSettings settings;
  RecordingOwner owner;
  PoolJobs book;
  JobSourceCounters counters;
};

TEST_F(SessionTest, HandshakeThenJobs) {
  auto s = authorized();
  EXPECT_EQ(s->phase(), Session::Phase::authorized);
  EXPECT_EQ(owner.spoken, PoolProtocol::ethereum_stratum_1);
  EXPECT_FALSE(s->has_job());
  s->on_line(notify("j1", '1'), Clock::now());
  EXPECT_TRUE(s->has_job());
  ASSERT_EQ(owner.jobs.size(), 1u);
  EXPECT_EQ(owner.jobs[0].nonces.first(), 0x0100000000000000ull);
  EXPECT_EQ(counters.jobs, 1u);
  EXPECT_NE(book.find("j1", owner.jobs[0].header), nullptr);
  EXPECT_TRUE(s->latency().has_value());
}

TEST_F(SessionTest, DetectionFallsBackToEthProxyOnTheSameConnection) {
  auto s = session(PoolProtocol::automatic);
  s->connected();
  s->on_line(R"({"id":1,"result":null,"error":[20,"unknown method",null]})", Clock::now());
  EXPECT_EQ(s->protocol(), PoolProtocol::ethproxy);
  EXPECT_EQ(owner.written.back().method, "eth_submitLogin");
  EXPECT_FALSE(s->closed());
}

TEST_F(SessionTest, AnUnansweredHandshakeRequestEndsTheConnection) {
  auto s = session(PoolProtocol::ethereum_stratum_1);
  s->connected();
  s->tick(Clock::now(), 0);
  EXPECT_FALSE(s->closed());
  s->tick(Clock::now() + 2s, 0);
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(owner.closes, 1);
  EXPECT_EQ(s->finish().reason, "no reply to mining.subscribe within 1 s");
}

TEST_F(SessionTest, AStalledHandshakeEndsAtItsDeadline) {
  auto s = session(PoolProtocol::ethereum_stratum_1);
  s->connected();
  s->on_line(reply(owner.written.at(0), R"([null,"zz"])"), Clock::now());  // unusable: nothing is pending now
  EXPECT_EQ(counters.protocol_errors, 1u);
  s->tick(Clock::now() + 2s, 0);
  EXPECT_FALSE(s->closed());
  s->tick(Clock::now() + 4s, 0);
  EXPECT_EQ(s->finish().reason, "not connected and authorized within 3 s");
}

TEST_F(SessionTest, UnansweredOptionalRequestsAreForgotten) {
  auto s = authorized();  // mining.extranonce.subscribe is never answered
  s->on_line(notify("j1", '1'), Clock::now());
  s->tick(Clock::now() + 2s, 0);
  EXPECT_FALSE(s->closed());
  s->tick(Clock::now() + 6s, 0);
  EXPECT_EQ(s->finish().reason, "no new job within 5 s");
}

TEST_F(SessionTest, UnansweredSharesTimeOutWhenTheConnectionEnds) {
  auto s = authorized();
  s->on_line(notify("j1", '1'), Clock::now());
  Share share;
  share.job_id = "j1";
  share.header = owner.jobs[0].header;
  share.nonce = owner.jobs[0].nonces.first() + 5;
  s->submit(7, share, *book.find("j1", share.header));
  EXPECT_EQ(owner.written.back().method, "mining.submit");
  EXPECT_EQ(counters.shares_sent, 1u);
  share.nonce = 5;  // outside the extranonce: never sent
  s->submit(8, share, *book.find("j1", share.header));
  ASSERT_EQ(owner.results.size(), 1u);
  EXPECT_EQ(owner.results[0].second.outcome, ShareOutcome::stale);
  const auto end = s->finish();
  EXPECT_EQ(end.reason, "connection closed by the pool");
  EXPECT_TRUE(end.got_job);
  ASSERT_EQ(owner.results.size(), 2u);
  EXPECT_EQ(owner.results[1].first, 7u);
  EXPECT_EQ(owner.results[1].second.outcome, ShareOutcome::timed_out);
}

TEST_F(SessionTest, HeldSharesAreDecidedByTheFirstJob) {
  Share renewed;
  renewed.job_id = "j1";
  renewed.header = *parse_hex_array<32>(std::string(64, '1'));
  renewed.nonce = 0x0100000000000001ull;
  Share gone = renewed;
  gone.job_id = "j0";
  for (const Share* held : {&gone, &renewed}) {
    Job job;
    job.id = held->job_id;
    job.header = held->header;
    book.add(job);
  }
  book.end_connection(true);
  ASSERT_TRUE(book.hold(1, renewed));
  ASSERT_TRUE(book.hold(2, gone));
  auto s = authorized();
  s->on_line(notify("j1", '1'), Clock::now());
  EXPECT_EQ(owner.written.back().method, "mining.submit");
  EXPECT_EQ(counters.shares_sent, 1u);
  ASSERT_EQ(owner.results.size(), 1u);
  EXPECT_EQ(owner.results[0].first, 2u);
  EXPECT_EQ(owner.results[0].second.outcome, ShareOutcome::stale);
  EXPECT_EQ(book.held(), 0u);
}

TEST_F(SessionTest, ARunOfProtocolErrorsEndsTheConnection) {
  auto s = authorized();
  s->on_line("not json", Clock::now());
  s->on_line(R"({"id":77,"method":"mining.frobnicate","params":[]})", Clock::now());
  EXPECT_EQ(owner.written.back().error->message, "method not found");
  EXPECT_FALSE(s->closed());
  s->on_overlong_line();
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(counters.protocol_errors, 3u);
  EXPECT_NE(s->finish().reason.find("3 protocol errors in a row"), std::string::npos);
}

TEST_F(SessionTest, ReconnectRequestRedirects) {
  auto s = authorized();
  s->on_line(R"({"id":null,"method":"client.reconnect","params":["other.example",3333,5]})", Clock::now());
  const auto end = s->finish();
  EXPECT_EQ(end.reason, "the pool asked to reconnect");
  ASSERT_TRUE(end.redirect);
  EXPECT_EQ(end.redirect->host, "other.example");
  EXPECT_EQ(end.redirect->port, 3333);
  EXPECT_EQ(end.redirect->wait, 5s);
}

TEST_F(SessionTest, ARefusedUserIsReportedOnce) {
  auto s = session(PoolProtocol::ethereum_stratum_1);
  s->connected();
  s->on_line(reply(owner.written.at(0), R"([null,"01"])"), Clock::now());
  s->on_line(reply(owner.written.at(2), "false"), Clock::now());
  EXPECT_EQ(owner.states, std::vector<ConnectionState>{ConnectionState::auth_failed});
  const auto end = s->finish();
  EXPECT_TRUE(end.user_refused);
  EXPECT_NE(end.reason.find("refused user '0xwallet'"), std::string::npos);
}

}  // namespace
}  // namespace dagminer::stratum
