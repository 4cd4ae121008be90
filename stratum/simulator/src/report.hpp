// What the simulator prints: its URL, and the per-session and total share counts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "dagminer/stratum/pool_simulator.hpp"

namespace dagminer::stratum {

// e.g. stratum2+tcp://127.0.0.1:4444, stratum+tls://[::1]:4444 (plain "stratum" for automatic).
std::string simulator_url(PoolProtocol dialect, bool tls, const boost::asio::ip::address& address, std::uint16_t port);

// Counts summed over the sessions; open and authorized when any session is, hashrate of the open ones.
SessionStats sum_sessions(const std::vector<SessionStats>& sessions);

// A header line, one line per session and a total line.
std::string format_summary(const std::string& name, Algorithm algo, int epoch, const std::vector<SessionStats>& sessions);

}  // namespace dagminer::stratum
