// The three dialects on their own, without a connection: the handshake each drives, the jobs it
// builds from what the pool announced, the submissions it writes and how it reads the answers.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/error_codes.hpp"
#include "dialect.hpp"

namespace dagminer::stratum {
namespace {

using Verdict = Reaction::Verdict;
using namespace std::chrono_literals;

DialectSettings settings(bool may_fall_back = false) {
  DialectSettings s;
  s.pool = "p";
  s.login = "0xwallet.rig";
  s.password = "secret";
  s.host = "pool.example";
  s.port = 4444;
  s.may_fall_back = may_fall_back;
  return s;
}

const std::string seed0 = to_hex(seed_of_epoch(Algorithm::ethash, 0));
const std::string header1 = std::string(62, '1') + "ab";

std::string params(const Outgoing& o) { return boost::json::serialize(o.params); }

std::vector<Request> kinds(const Reaction& r) {
  std::vector<Request> out;
  for (const auto& o : r.requests) out.push_back(o.kind);
  return out;
}

Share share(const std::string& job_id, std::uint64_t nonce) {
  Share s;
  s.job_id = job_id;
  s.nonce = nonce;
  s.header = *parse_hex_array<32>(header1);
  return s;
}

TEST(EthereumStratum1, HandshakeSubscribesThenAuthorizes) {
  auto d = make_dialect(PoolProtocol::ethereum_stratum_1, settings());
  EXPECT_EQ(d->protocol(), PoolProtocol::ethereum_stratum_1);
  const Reaction start = d->begin();
  ASSERT_EQ(kinds(start), std::vector<Request>{Request::subscribe});
  EXPECT_EQ(start.requests[0].method, "mining.subscribe");

  const Reaction subscribed =
      d->on_reply(Request::subscribe,
                  decode_message(R"({"id":1,"result":[["mining.notify","x","EthereumStratum/1.0.0"],"a2eea0"],"error":null})"));
  EXPECT_EQ(kinds(subscribed), (std::vector<Request>{Request::extranonce_subscribe, Request::authorize}));
  EXPECT_EQ(params(subscribed.requests[1]), R"(["0xwallet.rig","secret"])");
  EXPECT_EQ(d->on_reply(Request::authorize, decode_message(R"({"id":3,"result":true,"error":null})")).verdict,
            Verdict::authorized);

  const auto refused = d->on_reply(Request::authorize, decode_message(R"({"id":3,"result":null,"error":[24,"bad user",null]})"));
  EXPECT_EQ(refused.verdict, Verdict::user_refused);
  EXPECT_EQ(refused.reason, "bad user (code 24)");
}

TEST(EthereumStratum1, DifficultyAndExtranonceApplyToTheNextJob) {
  auto d = make_dialect(PoolProtocol::ethereum_stratum_1, settings());
  (void)d->on_reply(Request::subscribe, decode_message(R"({"id":1,"result":[null,"a2eea0"],"error":null})"));
  auto notify = [&](const std::string& id) {
    return d->on_method(decode_message(R"({"id":null,"method":"mining.notify","params":[")" + id + R"(",")" + seed0 + R"(",")" +
                                       header1 + R"(",true]})"));
  };
  const auto first = notify("j1");
  ASSERT_TRUE(first && first->job);
  EXPECT_EQ(first->job->pool, "p");
  EXPECT_EQ(first->job->target, target_from_difficulty(1.0));
  EXPECT_EQ(first->job->nonces.first(), 0xa2eea00000000000ull);
  EXPECT_TRUE(first->job->clean);

  ASSERT_TRUE(d->on_method(decode_message(R"({"id":null,"method":"mining.set_difficulty","params":[2]})")));
  ASSERT_TRUE(d->on_method(decode_message(R"({"id":null,"method":"mining.set_extranonce","params":["0102"]})")));
  const auto second = notify("j2");
  ASSERT_TRUE(second && second->job);
  EXPECT_EQ(second->job->target, target_from_difficulty(2.0));
  EXPECT_EQ(second->job->nonces.first(), 0x0102000000000000ull);
  EXPECT_FALSE(d->on_method(decode_message(R"({"id":null,"method":"mining.set","params":{}})")));
}

TEST(EthereumStratum1, SubmitsTheMinerPartOfTheNonce) {
  auto d = make_dialect(PoolProtocol::ethereum_stratum_1, settings());
  const auto nonces = *NonceSpace::from_extranonce_hex("a2eea0");
  const Outgoing o = d->submit(share("bf0488aa", 0xa2eea0cfae7df760ull), nonces);
  EXPECT_EQ(o.kind, Request::submit);
  EXPECT_EQ(o.method, "mining.submit");
  EXPECT_EQ(params(o), R"(["0xwallet.rig","bf0488aa","cfae7df760"])");
}

TEST(EthereumStratum1, AnotherProtocolFallsBackOnlyWhenDetecting) {
  const auto reply = decode_message(R"({"id":1,"result":null,"error":[20,"unknown method",null]})");
  EXPECT_EQ(make_dialect(PoolProtocol::automatic, settings(true))->on_reply(Request::subscribe, reply).verdict,
            Verdict::fall_back);
  const auto refused = make_dialect(PoolProtocol::ethereum_stratum_1, settings())->on_reply(Request::subscribe, reply);
  EXPECT_EQ(refused.verdict, Verdict::wrong_dialect);
  EXPECT_NE(refused.reason.find("mining.subscribe refused"), std::string::npos);
}

TEST(EthProxy, LoginThenGetWorkThenPushedWork) {
  auto d = make_dialect(PoolProtocol::ethproxy, settings());
  ASSERT_EQ(kinds(d->begin()), std::vector<Request>{Request::login});
  const Reaction logged_in = d->on_reply(Request::login, decode_message(R"({"id":1,"result":true,"error":null})"));
  EXPECT_EQ(logged_in.verdict, Verdict::authorized);
  EXPECT_EQ(kinds(logged_in), std::vector<Request>{Request::get_work});

  const std::string work = R"({"id":0,"result":["0x)" + header1 + R"(","0x)" + seed0 + R"(","0x00000000ffff"]})";
  const auto pushed = d->on_unsolicited(decode_message(work));
  ASSERT_TRUE(pushed && pushed->job);
  EXPECT_TRUE(pushed->job->clean);
  EXPECT_EQ(pushed->job->id, header1.substr(0, 16));
  // The same header again (a new boundary): the work already running stays valid.
  const auto repeated = d->on_unsolicited(decode_message(work));
  ASSERT_TRUE(repeated && repeated->job);
  EXPECT_FALSE(repeated->job->clean);
  EXPECT_FALSE(d->on_unsolicited(decode_message(R"({"id":0,"result":true})")));
}

// Automatic detection: a connection begun in EthProxy as a guess that the pool refuses is the
// wrong dialect, not a refused user; one handed over by EthereumStratum/1.0.0 is a refused user.
TEST(EthProxy, ARefusedLoginOfAGuessIsTheWrongDialect) {
  const auto refusal = decode_message(R"({"id":1,"result":null,"error":[20,"Unsupported method eth_submitLogin",null]})");
  DialectSettings guessed = settings(true);
  guessed.ethproxy_guessed = true;
  const auto wrong = make_dialect(PoolProtocol::ethproxy, guessed)->on_reply(Request::login, refusal);
  EXPECT_EQ(wrong.verdict, Verdict::wrong_dialect);
  EXPECT_NE(wrong.reason.find("not EthProxy"), std::string::npos) << wrong.reason;
  EXPECT_EQ(make_dialect(PoolProtocol::ethproxy, settings(true))->on_reply(Request::login, refusal).verdict,
            Verdict::user_refused);
}

TEST(EthProxy, SubmitsNonceHeaderAndMix) {
  auto d = make_dialect(PoolProtocol::ethproxy, settings());
  const Outgoing o = d->submit(share("x", 0x0102030405060708ull), {});
  EXPECT_EQ(o.method, "eth_submitWork");
  EXPECT_EQ(params(o), R"(["0x0102030405060708","0x)" + header1 + R"(","0x)" + std::string(64, '0') + R"("])");
  const Outgoing rate = d->hashrate_report(256);
  EXPECT_EQ(rate.method, "eth_submitHashrate");
  EXPECT_EQ(std::string(rate.params.as_array()[0].as_string()), "0x" + std::string(60, '0') + "0100");
}

TEST(EthereumStratum2, HelloSubscribeAuthorizeGivesTheToken) {
  auto d = make_dialect(PoolProtocol::ethereum_stratum_2, settings());
  const Reaction hello = d->begin();
  ASSERT_EQ(kinds(hello), std::vector<Request>{Request::hello});
  EXPECT_EQ(hello.requests[0].params.as_object().at("port").as_string(), "115c");
  const Reaction subscribe = d->on_reply(
      Request::hello, decode_message(R"({"id":1,"result":{"proto":"EthereumStratum/2.0.0","encoding":"plain","timeout":"a"}})"));
  ASSERT_EQ(kinds(subscribe), std::vector<Request>{Request::subscribe});
  EXPECT_EQ(kinds(d->on_reply(Request::subscribe, decode_message(R"({"id":2,"result":"s-123"})"))),
            std::vector<Request>{Request::authorize});
  EXPECT_EQ(d->on_reply(Request::authorize, decode_message(R"({"id":3,"result":"token-1"})")).verdict, Verdict::authorized);

  const auto nonces = *NonceSpace::from_extranonce_hex("0102");
  EXPECT_EQ(params(d->submit(share("j", 0x0102aabbccddeeffull), nonces)), R"(["j","aabbccddeeff","token-1"])");
  EXPECT_EQ(params(d->hashrate_report(255)), R"(["ff","token-1"])");
  // mining.hello's timeout (10 s): a noop once half of it passed in silence.
  EXPECT_FALSE(d->keepalive(4s));
  ASSERT_TRUE(d->keepalive(5s));
  EXPECT_EQ(d->keepalive(5s)->method, "mining.noop");
  EXPECT_EQ(d->max_request_id(), 0xffffu);
}

TEST(EthereumStratum2, AnyTimeoutIsHeldToADay) {
  for (const char* timeout : {"ffffffffffffffff", "20c49ba5e353f8", "15181"}) {  // 2^64 - 1, past nanoseconds, a day
    auto d = make_dialect(PoolProtocol::ethereum_stratum_2, settings());
    d->on_reply(Request::hello, decode_message(std::string(R"({"id":1,"result":{"proto":"EthereumStratum/2.0.0","timeout":")") +
                                               timeout + R"("}})"));
    EXPECT_FALSE(d->keepalive(10s)) << timeout;
    EXPECT_FALSE(d->keepalive(12h - 1s)) << timeout;
    EXPECT_TRUE(d->keepalive(12h)) << timeout;
  }
}

TEST(EthereumStratum2, RefusesAnotherProtocolOrEncoding) {
  auto d = make_dialect(PoolProtocol::ethereum_stratum_2, settings());
  EXPECT_EQ(d->on_reply(Request::hello, decode_message(R"({"id":1,"result":{"proto":"EthereumStratum/1.0.0"}})")).verdict,
            Verdict::wrong_dialect);
  const auto gzip =
      d->on_reply(Request::hello, decode_message(R"({"id":1,"result":{"proto":"EthereumStratum/2.0.0","encoding":"gzip"}})"));
  EXPECT_EQ(gzip.verdict, Verdict::wrong_dialect);
  EXPECT_NE(gzip.reason.find("gzip"), std::string::npos);
  EXPECT_EQ(d->on_method(decode_message(R"({"method":"mining.bye"})"))->verdict, Verdict::goodbye);
}

TEST(EthereumStratum2, TheEpochComesFromMiningSet) {
  auto d = make_dialect(PoolProtocol::ethereum_stratum_2, settings());
  const auto notify = decode_message(R"({"method":"mining.notify","params":["j1","10",")" + header1 + R"(",true]})");
  EXPECT_THROW(d->on_method(notify), ProtocolError);
  ASSERT_TRUE(
      d->on_method(decode_message(R"({"method":"mining.set","params":{"epoch":"1","algo":"etchash","extranonce":"0102"}})")));
  const auto job = d->on_method(notify)->job;
  ASSERT_TRUE(job);
  EXPECT_EQ(job->algo, Algorithm::etchash);
  EXPECT_EQ(job->epoch, 1);
  EXPECT_EQ(job->seed, seed_of_epoch(Algorithm::etchash, 1));
  EXPECT_EQ(job->height, 0x10u);
  EXPECT_EQ(job->nonces.extranonce_bytes(), 2u);
}

TEST(EthereumStratum2, ResumesTheSessionWhereThePoolAllows) {
  DialectSettings with_memory = settings();
  with_memory.es2_resume = std::make_shared<Es2Resume>();
  const auto hello = [](const char* resume) {
    return decode_message(std::string(R"({"id":1,"result":{"proto":"EthereumStratum/2.0.0","resume":")") + resume + R"("}})");
  };
  auto first = make_dialect(PoolProtocol::ethereum_stratum_2, with_memory);
  first->begin();
  EXPECT_EQ(params(first->on_reply(Request::hello, hello("1")).requests.at(0)), "null");  // nothing to resume yet
  first->on_reply(Request::subscribe, decode_message(R"({"id":2,"result":"s-1"})"));
  first->on_reply(Request::authorize, decode_message(R"({"id":3,"result":"token-1"})"));
  first->on_method(decode_message(R"({"method":"mining.set","params":{"epoch":"0","target":"ff","extranonce":"0a0b"}})"));

  // The next connection asks for s-1 and, given it, mines on without authorizing, with the
  // extranonce, epoch and target of the session.
  auto second = make_dialect(PoolProtocol::ethereum_stratum_2, with_memory);
  second->begin();
  EXPECT_EQ(params(second->on_reply(Request::hello, hello("1")).requests.at(0)), R"("s-1")");
  const Reaction resumed = second->on_reply(Request::subscribe, decode_message(R"({"id":2,"result":"s-1"})"));
  EXPECT_EQ(resumed.verdict, Verdict::authorized);
  EXPECT_TRUE(resumed.requests.empty());
  const auto job =
      second->on_method(decode_message(R"({"method":"mining.notify","params":["j1","10",")" + header1 + R"(",true]})"))->job;
  ASSERT_TRUE(job);
  EXPECT_EQ(job->nonces.extranonce_bytes(), 2u);
  EXPECT_EQ(job->nonces.first(), 0x0a0b000000000000ull);
  EXPECT_EQ(job->target, *target_from_hex("ff"));
  EXPECT_EQ(params(second->submit(share("j1", 0x0a0b000000000001ull), job->nonces)), R"(["j1","000000000001","token-1"])");

  // A pool that gives a new session id: authorize again.
  auto third = make_dialect(PoolProtocol::ethereum_stratum_2, with_memory);
  third->begin();
  third->on_reply(Request::hello, hello("1"));
  EXPECT_EQ(kinds(third->on_reply(Request::subscribe, decode_message(R"({"id":2,"result":"s-2"})"))),
            std::vector<Request>{Request::authorize});
  // A pool that does not resume is not asked to; a bye forgets the session.
  auto fourth = make_dialect(PoolProtocol::ethereum_stratum_2, with_memory);
  fourth->begin();
  EXPECT_EQ(params(fourth->on_reply(Request::hello, hello("0")).requests.at(0)), "null");
  fourth->on_method(decode_message(R"({"method":"mining.bye"})"));
  EXPECT_TRUE(with_memory.es2_resume->session.empty());
}

TEST(SubmitReplies, RejectionsAreClassifiedByCodeAndWords) {
  auto es1 = make_dialect(PoolProtocol::ethereum_stratum_1, settings());
  auto es2 = make_dialect(PoolProtocol::ethereum_stratum_2, settings());
  auto error = [](int code, const std::string& text) {
    return decode_message(R"({"id":5,"result":null,"error":[)" + std::to_string(code) + R"(,")" + text + R"(",null]})");
  };
  EXPECT_EQ(es1->read_submit_reply(decode_message(R"({"id":5,"result":true,"error":null})"), 3ms).outcome,
            ShareOutcome::accepted);
  EXPECT_EQ(es1->read_submit_reply(decode_message(R"({"id":5,"result":false,"error":null})"), 3ms).outcome,
            ShareOutcome::rejected);
  EXPECT_EQ(es1->read_submit_reply(error(code(StratumError::stale), "old"), 3ms).outcome, ShareOutcome::stale);
  EXPECT_EQ(es1->read_submit_reply(error(code(StratumError::other), "Job not found"), 3ms).outcome, ShareOutcome::stale);
  const ShareResult duplicate = es1->read_submit_reply(error(code(StratumError::duplicate), "duplicate"), 3ms);
  EXPECT_EQ(duplicate.outcome, ShareOutcome::rejected);
  EXPECT_EQ(duplicate.code, code(StratumError::duplicate));
  EXPECT_EQ(duplicate.reason, "duplicate (code 22)");
  EXPECT_EQ(duplicate.round_trip, 3ms);
  // EthereumStratum/2.0.0: no result is acceptance, and 2xx codes accept with a remark.
  EXPECT_EQ(es2->read_submit_reply(decode_message(R"({"id":5})"), 3ms).outcome, ShareOutcome::accepted);
  EXPECT_EQ(es2->read_submit_reply(error(201, "accepted, but slow"), 3ms).outcome, ShareOutcome::accepted);
  EXPECT_EQ(es2->read_submit_reply(error(202, "stale"), 3ms).outcome, ShareOutcome::stale);
  EXPECT_EQ(es1->read_submit_reply(error(201, "something"), 3ms).outcome, ShareOutcome::rejected);
}

}  // namespace
}  // namespace dagminer::stratum
