// One miner's connection to the simulator: what it was told and what it sent, and how lines
// reach it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "dagminer/stratum/pool_simulator.hpp"
#include "share_check.hpp"
#include "transport.hpp"

namespace dagminer::stratum {

struct MinerSession {
  SessionStats stats;
  std::shared_ptr<Transport> transport;
  std::shared_ptr<Outbox> outbox;
  NonceSpace next_nonces;  // apply to the next job
  Target next_target{};
  std::string token;         // EthereumStratum/2.0.0 worker token
  std::string session_id;    // EthereumStratum/2.0.0 session, as mining.subscribe answered
  int announced_epoch = -1;  // EthereumStratum/2.0.0: the epoch last sent in mining.set
  IssuedJobs jobs;

  PoolProtocol dialect() const noexcept { return stats.dialect; }
  bool open() const noexcept { return stats.open; }
  void notify(std::string_view method, const boost::json::value& params) const;
};

// Counts a checked share in the session's statistics.
void count_share(SessionStats& stats, ShareVerdict verdict) noexcept;

// The pool's work as the next job announcement carries it.
struct PoolWork {
  std::string job_id;
  Hash256 header{};
  bool clean = true;
  Algorithm algo = Algorithm::ethash;
  int epoch = 0;
  Hash256 seed{};
  std::uint64_t height = 0;
  double difficulty = 1;
  std::shared_ptr<const LightCache> cache;  // of epoch
};

// Whether the pool's current job goes to the session as clean: a session's first job always does.
bool is_clean_for(const MinerSession& s, const PoolWork& work) noexcept;
// Records the pool's current job for the session with the target and extranonce now in force.
void issue_job(MinerSession& s, const PoolWork& work, bool clean);

}  // namespace dagminer::stratum
