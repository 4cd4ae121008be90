#include "report.hpp"

#include <cstdio>

namespace dagminer::stratum {
namespace {

std::string scheme_of(PoolProtocol d) {
  switch (d) {
    case PoolProtocol::ethproxy: return "stratum1";
    case PoolProtocol::ethereum_stratum_1: return "stratum2";
    case PoolProtocol::ethereum_stratum_2: return "stratum3";
    default: return "stratum";
  }
}

std::string share_counts(const SessionStats& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "accepted %llu, stale %llu, duplicate %llu, low difficulty %llu, unauthorized %llu, invalid %llu",
                static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.stale),
                static_cast<unsigned long long>(s.duplicate), static_cast<unsigned long long>(s.low_difficulty),
                static_cast<unsigned long long>(s.unauthorized), static_cast<unsigned long long>(s.invalid));
  return buf;
}

}  // namespace

std::string simulator_url(PoolProtocol dialect, bool tls, const boost::asio::ip::address& address, std::uint16_t port) {
  std::string host = address.to_string();
  if (address.is_v6()) host = '[' + host + ']';
  return scheme_of(dialect) + (tls ? "+tls://" : "+tcp://") + host + ":" + std::to_string(port);
}

SessionStats sum_sessions(const std::vector<SessionStats>& sessions) {
  SessionStats t;
  t.open = false;
  for (const auto& x : sessions) {
    t.open = t.open || x.open;
    t.authorized = t.authorized || x.authorized;
    t.jobs += x.jobs;
    t.accepted += x.accepted;
    t.stale += x.stale;
    t.duplicate += x.duplicate;
    t.low_difficulty += x.low_difficulty;
    t.unauthorized += x.unauthorized;
    t.invalid += x.invalid;
    if (x.open) t.hashrate += x.hashrate;
  }
  return t;
}

std::string format_summary(const std::string& name, Algorithm algo, int epoch, const std::vector<SessionStats>& sessions) {
  std::string out = "poolsim " + name + ": " + std::to_string(sessions.size()) +
                    (sessions.size() == 1 ? " session, " : " sessions, ") + std::string(dagminer::to_string(algo)) + " epoch " +
                    std::to_string(epoch) + "\n";
  for (const auto& x : sessions)
    out += "  session " + std::to_string(x.id) + " " + x.peer + " " + to_string(x.dialect) + " extranonce '" + x.extranonce +
           "' worker '" + x.worker + "' jobs " + std::to_string(x.jobs) + ": " + share_counts(x) + (x.open ? " (open)" : "") +
           "\n";
  out += "  total: " + share_counts(sum_sessions(sessions)) + "\n";
  return out;
}

}  // namespace dagminer::stratum
