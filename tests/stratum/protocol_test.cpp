// The pure protocol parts: backoff, framing, message and dialect decoding, with the
// examples of the EthereumStratum/1.0.0 and EIP-1571 specifications as known answers.
#include <gtest/gtest.h>

#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/protocol.hpp"

namespace dagminer::stratum {
namespace {

namespace json = boost::json;

TEST(Backoff, GrowsExponentiallyWithinJitterAndNeverPassesTheCap) {
  BackoffConfig c;
  c.initial = std::chrono::milliseconds(1000);
  c.max = std::chrono::milliseconds(60000);
  c.multiplier = 2;
  c.jitter = 0.2;
  for (unsigned n = 1; n <= 12; ++n) {
    const double base = std::min(1000.0 * (1u << (n - 1)), 60000.0);
    for (double r : {0.0, 0.25, 0.5, 0.75, 0.999}) {
      const auto d = backoff_delay(c, n, r).count();
      EXPECT_GE(d, static_cast<long>(base * 0.8) - 1) << n << " " << r;
      EXPECT_LE(d, std::min<long>(static_cast<long>(base * 1.2) + 1, 60000)) << n << " " << r;
    }
  }
  EXPECT_EQ(backoff_delay(c, 1, 0.5).count(), 1000);
  EXPECT_EQ(backoff_delay(c, 3, 0.5).count(), 4000);
  EXPECT_EQ(backoff_delay(c, 1000, 0.5).count(), 60000);  // no overflow for long outages
  EXPECT_EQ(backoff_delay(c, 1000, 0.999).count(), 60000);
  c.jitter = 0;
  EXPECT_EQ(backoff_delay(c, 2, 0.9).count(), 2000);
  c.jitter = std::numeric_limits<double>::quiet_NaN();  // no jitter, not a delay of -2^63 ms
  EXPECT_EQ(backoff_delay(c, 2, 0.9).count(), 2000);
}

std::vector<LineFramer::Event> drain(LineFramer& f) {
  std::vector<LineFramer::Event> out;
  while (auto e = f.next()) out.push_back(*e);
  return out;
}

TEST(LineFramer, SplitsLinesAcrossReadsAndDropsCrAndBlankLines) {
  LineFramer f;
  f.append("{\"a\":1}\r\n\n  \n{\"b\"");
  auto e = drain(f);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].text, "{\"a\":1}");
  f.append(":2}\n");
  e = drain(f);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].text, "{\"b\":2}");
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(LineFramer, ReportsAnOverlongLineOnceAndResumesAfterIt) {
  LineFramer f(16);
  f.append(std::string(10, 'x'));
  EXPECT_TRUE(drain(f).empty());
  f.append(std::string(10, 'x'));  // now past the limit without a LF: reported at once
  auto e = drain(f);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].kind, LineFramer::Event::overlong);
  f.append(std::string(100, 'y'));  // still the same line: discarded silently
  EXPECT_TRUE(drain(f).empty());
  EXPECT_EQ(f.buffered(), 0u);
  f.append("yy\nok\n");
  e = drain(f);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].text, "ok");
  // A complete over-long line in one read.
  f.append(std::string(17, 'z') + "\nfine\n");
  e = drain(f);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].kind, LineFramer::Event::overlong);
  EXPECT_EQ(e[1].text, "fine");
}

TEST(Message, DecodesRequestsResponsesAndErrorForms) {
  auto m = decode_message(R"({"id":7,"method":"mining.submit","params":["a"]})");
  EXPECT_FALSE(m.is_response());
  EXPECT_EQ(m.method, "mining.submit");
  EXPECT_EQ(m.numeric_id(), 7u);
  m = decode_message(R"({"id":"12","result":true,"error":null})");
  EXPECT_TRUE(m.is_response());
  EXPECT_EQ(m.numeric_id(), 12u);
  EXPECT_FALSE(m.error);
  m = decode_message(R"({"id":3,"result":false,"error":[23,"Low difficulty share",null]})");
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->code, 23);
  EXPECT_EQ(m.error->message, "Low difficulty share");
  m = decode_message(R"({"id":3,"error":{"code":406,"message":"Bad nonce"}})");
  EXPECT_EQ(m.error->code, 406);
  m = decode_message(R"({"id":3,"result":null,"error":"stale share"})");
  EXPECT_EQ(m.error->message, "stale share");
  EXPECT_EQ(m.error->code, 0);
  m = decode_message(R"({"id":3,"error":[1e300,{"x":1}]})");
  EXPECT_EQ(m.error->message, R"({"x":1})");
}

TEST(Message, RejectsMalformedLines) {
  for (const char* bad : {"{not json", "[1,2]", "42", R"({"method":5})", R"({"method":""})", R"({"foo":1})", "{}"})
    EXPECT_THROW(decode_message(bad), ProtocolError) << bad;
}

TEST(Message, LinesFollowEachDialect) {
  const auto es1 = json::parse(request_line(PoolProtocol::ethereum_stratum_1, 5, "mining.subscribe", nullptr));
  EXPECT_EQ(es1.at("params"), json::array());
  EXPECT_FALSE(es1.as_object().contains("jsonrpc"));
  const auto proxy = json::parse(request_line(PoolProtocol::ethproxy, 5, "eth_getWork", json::array()));
  EXPECT_EQ(proxy.at("jsonrpc"), "2.0");
  const auto es2 = json::parse(request_line(PoolProtocol::ethereum_stratum_2, 5, "mining.noop", nullptr));
  EXPECT_FALSE(es2.as_object().contains("params"));
  EXPECT_EQ(json::parse(response_line(PoolProtocol::ethereum_stratum_2, 31, nullptr, std::nullopt)), json::parse(R"({"id":31})"));
  EXPECT_EQ(json::parse(response_line(PoolProtocol::ethereum_stratum_1, 4, false, RpcError{21, "Job not found"})),
            json::parse(R"({"id":4,"result":false,"error":[21,"Job not found",null]})"));
  EXPECT_FALSE(
      json::parse(notification_line(PoolProtocol::ethereum_stratum_2, "mining.bye", nullptr)).as_object().contains("id"));
  // Ids that are not strings or numbers, or would not survive writing, are answered as null.
  EXPECT_EQ(json::parse(response_line(PoolProtocol::ethereum_stratum_1, json::array{1}, true, std::nullopt)).at("id"), nullptr);
  EXPECT_EQ(json::parse(response_line(PoolProtocol::ethereum_stratum_1, json::parse("1e400"), true, std::nullopt)).at("id"),
            nullptr);
  EXPECT_EQ(json::parse(response_line(PoolProtocol::ethereum_stratum_1, "abc", true, std::nullopt)).at("id"), "abc");
}

// The EthereumStratum/1.0.0 specification's real-world scenario.
TEST(Es1, DecodesTheSpecificationsMessages) {
  const auto sub = decode_es1_subscribe_result(
      json::parse(R"([["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f","EthereumStratum/1.0.0"],"a2eea0"])"));
  EXPECT_EQ(sub.protocol, "EthereumStratum/1.0.0");
  EXPECT_EQ(sub.nonces.extranonce_bytes(), 3u);
  EXPECT_EQ(sub.nonces.first(), 0xa2eea00000000000ull);
  const auto w = decode_es1_notify(json::parse(
      R"(["bf0488aa","abad8f99f3918bf903c6a909d9bbc0fdfa5a2f4b9cb1196175ec825c6610126c","fc12eb20c58158071c956316cdcd12a22dd8bf126ac4aee559f0ffe4df11f279",true])"));
  EXPECT_EQ(w.job_id, "bf0488aa");
  EXPECT_EQ(to_hex(*w.seed), "abad8f99f3918bf903c6a909d9bbc0fdfa5a2f4b9cb1196175ec825c6610126c");
  EXPECT_EQ(epoch_of_seed(Algorithm::ethash, *w.seed), 50);
  EXPECT_TRUE(w.clean);
  EXPECT_DOUBLE_EQ(decode_es1_difficulty(json::parse("[0.5]")), 0.5);
  EXPECT_EQ(decode_es1_extranonce(json::parse(R"(["af4c"])")).first(), 0xaf4c000000000000ull);
}

TEST(Es1, RejectsWrongTypes) {
  EXPECT_THROW(decode_es1_subscribe_result(json::parse("true")), ProtocolError);
  EXPECT_THROW(decode_es1_subscribe_result(json::parse(R"([[], "zz"])")), ProtocolError);
  EXPECT_THROW(decode_es1_subscribe_result(json::parse(R"([[], "00112233445566"])")), ProtocolError);  // 7 bytes
  EXPECT_THROW(decode_es1_notify(json::parse(R"(["a","00",""])")), ProtocolError);
  EXPECT_THROW(decode_es1_notify(json::parse(R"({"a":1})")), ProtocolError);
  EXPECT_THROW(decode_es1_notify(json::parse(R"([1.5,"ab","cd",true])")), ProtocolError);
  EXPECT_THROW(decode_es1_difficulty(json::parse("[0]")), ProtocolError);
  EXPECT_THROW(decode_es1_difficulty(json::parse(R"(["1"])")), ProtocolError);
  EXPECT_THROW(decode_es1_difficulty(json::parse("[-2]")), ProtocolError);
  EXPECT_THROW(decode_es1_extranonce(json::parse("[7]")), ProtocolError);
}

TEST(EthProxy, DecodesWorkWithShortBoundariesAndHeights) {
  const auto w = decode_ethproxy_work(json::parse(
      R"(["0x645cf20198c2f3861e947d4f67e3ab63b7b2e24dcc9095bd9123e7b33371f6cc","0xabad8f99f3918bf903c6a909d9bbc0fdfa5a2f4b9cb1196175ec825c6610126c","0x0000000394427b08175efa9a9eb59b9123e2969bf19bf272b20787ed022fbe6c","0x5a0bd2"])"));
  EXPECT_EQ(w.job_id, "645cf20198c2f386");
  EXPECT_EQ(to_hex(*w.target), "0000000394427b08175efa9a9eb59b9123e2969bf19bf272b20787ed022fbe6c");
  EXPECT_EQ(w.height, 0x5a0bd2u);
  EXPECT_TRUE(w.clean);
  const auto short_boundary = decode_ethproxy_work(json::parse(
      R"(["645cf20198c2f3861e947d4f67e3ab63b7b2e24dcc9095bd9123e7b33371f6cc","abad8f99f3918bf903c6a909d9bbc0fdfa5a2f4b9cb1196175ec825c6610126c","0xffff",17])"));
  EXPECT_EQ(to_hex(*short_boundary.target), std::string(60, '0') + "ffff");
  EXPECT_EQ(short_boundary.height, 17u);
  EXPECT_TRUE(looks_like_ethproxy_work(json::parse(R"(["a","b","c"])")));
  EXPECT_FALSE(looks_like_ethproxy_work(json::parse(R"([["a"],"b","c"])")));
  EXPECT_THROW(decode_ethproxy_work(json::parse(R"(["0x12","0x34","0x56"])")), ProtocolError);
}

// EIP-1571's examples.
TEST(Es2, DecodesTheEipsMessages) {
  const auto s = decode_es2_set(json::parse(
      R"({"epoch":"dc","target":"0112e0be826d694b2e62d01511f12a6061fbaec8bc02357593e70e52ba","algo":"ethash","extranonce":"af4c"})"));
  EXPECT_EQ(s.epoch, 0xdc);
  EXPECT_EQ(to_hex(*s.target), "0000000112e0be826d694b2e62d01511f12a6061fbaec8bc02357593e70e52ba");  // 58 digits, left-padded
  EXPECT_EQ(s.algo, Algorithm::ethash);
  EXPECT_EQ(s.nonces->first(), 0xaf4c000000000000ull);
  EXPECT_EQ(decode_es2_set(json::parse(R"({"extranonce":""})")).nonces->extranonce_bytes(), 0u);
  EXPECT_FALSE(decode_es2_set(json::parse("{}")).epoch);
  EXPECT_THROW(decode_es2_set(json::parse(R"({"algo":"progpow"})")), ProtocolError);
  EXPECT_THROW(decode_es2_set(json::parse(R"({"epoch":"zz"})")), ProtocolError);
  EXPECT_THROW(decode_es2_set(json::parse(R"(["dc"])")), ProtocolError);

  const auto w = decode_es2_notify(
      json::parse(R"(["bf0488aa","6526d5","645cf20198c2f3861e947d4f67e3ab63b7b2e24dcc9095bd9123e7b33371f6cc","0"])"));
  EXPECT_EQ(w.job_id, "bf0488aa");
  EXPECT_EQ(w.height, 0x6526d5u);
  EXPECT_FALSE(w.clean);
  EXPECT_FALSE(w.seed);
  EXPECT_THROW(decode_es2_notify(json::parse(R"(["a","1","00","2"])")), ProtocolError);
}

TEST(Reconnect, ReadsBothForms) {
  auto r = decode_reconnect(json::parse(R"(["other.example", 4444, 5])"));
  EXPECT_EQ(r.host, "other.example");
  EXPECT_EQ(r.port, 4444);
  EXPECT_EQ(r.wait, std::chrono::seconds(5));
  r = decode_reconnect(json::parse(R"({"host":"someotherhost.com","port":"d80","resume":"1"})"));
  EXPECT_EQ(r.port, 0xd80);
  r = decode_reconnect(json::parse("[]"));
  EXPECT_FALSE(r.host);
  EXPECT_FALSE(r.port);
  EXPECT_THROW(decode_reconnect(json::parse(R"(["h", 0])")), ProtocolError);
  EXPECT_THROW(decode_reconnect(json::parse(R"(["h", 1, -4])")), ProtocolError);
}

TEST(HexNumber, IsMinimalLowerCase) {
  EXPECT_EQ(hex_number(456), "1c8");
  EXPECT_EQ(hex_number(0), "0");
  EXPECT_EQ(decode_hex_number(json::string("1c8"), "x"), 456u);
  EXPECT_THROW(decode_hex_number(json::string("-1"), "x"), ProtocolError);
}

TEST(Reconnect, WaitIsCappedAtTheBackoffMaximum) {
  BackoffConfig b;
  b.initial = std::chrono::milliseconds(500);
  b.max = std::chrono::seconds(60);
  EXPECT_EQ(reconnect_wait(b, std::chrono::seconds(600)), std::chrono::seconds(60));
  EXPECT_EQ(reconnect_wait(b, std::chrono::seconds(5)), std::chrono::seconds(5));
  EXPECT_EQ(reconnect_wait(b, std::chrono::seconds(0)), std::chrono::milliseconds(500));
}

TEST(PoolText, ControlCharactersAreEscapedAndLengthIsCapped) {
  EXPECT_EQ(printable("x\n[info] FORGED\x1b[31m\r\t"), "x\\n[info] FORGED\\x1b[31m\\r\\t");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe6\xb1\xa0"), "caf\xc3\xa9 \xe6\xb1\xa0");  // UTF-8 is kept
  EXPECT_EQ(printable("\xff\xc3(\xc2\x9b"), "\\xff\\xc3(\\xc2\\x9b");            // not UTF-8, or a C1 control
  EXPECT_EQ(printable(std::string(60000, 'a')), std::string(168, 'a') + "...(59832 more bytes)");
  EXPECT_EQ(printable(std::string(200, 'a')), std::string(200, 'a'));  // what fits is kept whole
  // Never longer than the limit, and sanitizing twice changes nothing (found by the fuzzer: a
  // decoded error message must survive being sent and decoded again).
  for (const std::string& x : {std::string(60000, '\x7f'), std::string(150, 'a') + std::string(30, '\n')}) {
    EXPECT_LE(printable(x).size(), 200u);
    EXPECT_EQ(printable(printable(x)), printable(x));
  }
  EXPECT_EQ(printable("\x7f", 200), "\\x7f");
}

TEST(PoolText, EntersSanitizedOrIsRefused) {
  EXPECT_EQ(decode_error(json::parse(R"([23,"x\n\u001b[31m"])")).message, "x\\n\\x1b[31m");
  EXPECT_EQ(decode_error(json::parse(R"({"code":23,"message":"a\u0007"})")).message, "a\\x07");
  EXPECT_EQ(decode_error(json::parse(R"("\r")")).message, "\\r");
  const std::string seed(64, '0'), header(64, '1');
  auto notify = [&](const std::string& id) { return json::array{json::string(id), json::string(seed), json::string(header)}; };
  EXPECT_EQ(decode_es1_notify(notify(std::string(max_job_id_bytes, 'f'))).job_id, std::string(max_job_id_bytes, 'f'));
  EXPECT_THROW(decode_es1_notify(notify(std::string(max_job_id_bytes + 1, 'f'))), ProtocolError);
  EXPECT_THROW(decode_es1_notify(notify("j\n1")), ProtocolError);
  EXPECT_THROW(decode_reconnect(json::parse(R"(["evil\nhost",3333,0])")), ProtocolError);
  EXPECT_THROW(decode_reconnect(json::parse(R"(["a b",3333,0])")), ProtocolError);
  EXPECT_EQ(decode_reconnect(json::parse(R"(["pool.example.org",3333,0])")).host, "pool.example.org");
}

}  // namespace
}  // namespace dagminer::stratum
