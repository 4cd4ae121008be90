// The simulator's small parts on their own: fault names and windows, its URL and its summary.
#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

#include "dagminer/stratum/protocol.hpp"
#include "faults.hpp"
#include "report.hpp"

namespace dagminer::stratum {
namespace {

using namespace std::chrono_literals;

constexpr Fault every_fault[] = {Fault::drop_connections, Fault::pause_listening,   Fault::malformed_line,
                                 Fault::overlong_line,    Fault::delay_replies,     Fault::reject_all,
                                 Fault::reuse_job_ids,    Fault::request_reconnect, Fault::go_silent};

TEST(FaultNames, RoundTripAndSayWhichLast) {
  for (Fault f : every_fault) EXPECT_EQ(parse_fault(to_string(f)), f) << to_string(f);
  EXPECT_FALSE(parse_fault("bogus"));
  EXPECT_TRUE(fault_has_duration(Fault::pause_listening));
  EXPECT_TRUE(fault_has_duration(Fault::go_silent));
  EXPECT_FALSE(fault_has_duration(Fault::drop_connections));
  EXPECT_FALSE(fault_has_duration(Fault::request_reconnect));
}

TEST(FaultWindows, HoldForTheirDurationAndALaterOneReplacesIt) {
  FaultWindows w;
  const auto t0 = Clock::now();
  EXPECT_FALSE(w.active(Fault::reject_all, t0));
  w.open(Fault::reject_all, t0, 100ms);
  EXPECT_TRUE(w.active(Fault::reject_all, t0 + 99ms));
  EXPECT_FALSE(w.active(Fault::reject_all, t0 + 100ms));
  EXPECT_FALSE(w.active(Fault::go_silent, t0 + 1ms));
  w.open(Fault::reject_all, t0 + 10ms, 10ms);
  EXPECT_FALSE(w.active(Fault::reject_all, t0 + 50ms));

  w.open(Fault::delay_replies, t0, 3s);
  EXPECT_EQ(w.reply_delay(), 3s);
}

TEST(FaultWindows, OverlappingPausesLastUntilTheLaterEnd) {
  FaultWindows w;
  const auto t0 = Clock::now();
  w.open(Fault::pause_listening, t0, 1s);
  w.open(Fault::pause_listening, t0 + 10ms, 100ms);
  EXPECT_TRUE(w.active(Fault::pause_listening, t0 + 500ms));
  EXPECT_FALSE(w.active(Fault::pause_listening, t0 + 1s));
}

TEST(FaultLines, MalformedIsNotJsonAndOverlongPassesTheLimit) {
  EXPECT_THROW(decode_message(malformed_line()), ProtocolError);
  EXPECT_EQ(malformed_line().back(), '\n');
  EXPECT_GT(overlong_line().size(), max_line_bytes);
  EXPECT_EQ(overlong_line().back(), '\n');
}

TEST(SimulatorUrl, NamesTheDialectTransportAndAddress) {
  const auto v4 = boost::asio::ip::make_address("127.0.0.1");
  const auto v6 = boost::asio::ip::make_address("::1");
  EXPECT_EQ(simulator_url(PoolProtocol::ethproxy, false, v4, 4444), "stratum1+tcp://127.0.0.1:4444");
  EXPECT_EQ(simulator_url(PoolProtocol::ethereum_stratum_1, true, v4, 1), "stratum2+tls://127.0.0.1:1");
  EXPECT_EQ(simulator_url(PoolProtocol::ethereum_stratum_2, false, v6, 3333), "stratum3+tcp://[::1]:3333");
  EXPECT_EQ(simulator_url(PoolProtocol::automatic, false, v4, 5), "stratum+tcp://127.0.0.1:5");
}

TEST(Summary, ListsEverySessionAndTheTotals) {
  SessionStats a;
  a.id = 1;
  a.peer = "127.0.0.1:5000";
  a.dialect = PoolProtocol::ethereum_stratum_1;
  a.extranonce = "0001";
  a.worker = "rig";
  a.authorized = true;
  a.jobs = 3;
  a.accepted = 2;
  a.stale = 1;
  a.hashrate = 10;
  SessionStats b = a;
  b.id = 2;
  b.open = false;
  b.authorized = false;
  b.accepted = 5;
  b.invalid = 4;
  b.hashrate = 100;  // closed: not counted

  const SessionStats total = sum_sessions({a, b});
  EXPECT_TRUE(total.open);
  EXPECT_TRUE(total.authorized);
  EXPECT_EQ(total.jobs, 6u);
  EXPECT_EQ(total.accepted, 7u);
  EXPECT_EQ(total.stale, 2u);
  EXPECT_EQ(total.invalid, 4u);
  EXPECT_EQ(total.hashrate, 10);
  EXPECT_FALSE(sum_sessions({}).open);

  const std::string text = format_summary("p", Algorithm::etchash, 7, {a, b});
  EXPECT_EQ(text.substr(0, text.find('\n')), "poolsim p: 2 sessions, etchash epoch 7");
  EXPECT_NE(text.find("  session 1 127.0.0.1:5000 "), std::string::npos);
  EXPECT_NE(text.find("extranonce '0001' worker 'rig' jobs 3: accepted 2, stale 1, duplicate 0, low difficulty 0, unauthorized "
                      "0, invalid 0 (open)\n"),
            std::string::npos);
  EXPECT_NE(text.find("  total: accepted 7, stale 2, duplicate 0, low difficulty 0, unauthorized 0, invalid 4\n"),
            std::string::npos);
  EXPECT_NE(format_summary("p", Algorithm::ethash, 0, {a}).find("1 session, ethash epoch 0"), std::string::npos);
}

}  // namespace
}  // namespace dagminer::stratum
