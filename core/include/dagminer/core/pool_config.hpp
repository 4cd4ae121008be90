// One pool as configured: what the stratum client needs to connect, and what the scheduler
// needs to choose between pools. Filled by the daemon's YAML loader or by code in tests. The
// member initialisers are the defaults, for the loader too.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "dagminer/core/ethash.hpp"

namespace dagminer {

struct BackoffConfig {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds max{60000};
  double multiplier = 2.0;
  double jitter = 0.2;  // +/- fraction applied to each delay
  bool operator==(const BackoffConfig&) const = default;
};

struct TlsConfig {
  bool verify = true;       // verify the certificate chain against the system store (or ca_file)
  std::string ca_file;      // extra trust anchor, PEM
  std::string fingerprint;  // optional SHA-256 of the server certificate (hex, ':' allowed)
  std::string server_name;  // SNI / verification name override
  bool operator==(const TlsConfig&) const = default;
};

// An address to listen on, as the configuration gives it (an IP literal, IPv6 without brackets).
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;  // 0: a free port
  bool operator==(const ListenAddress&) const = default;
};

struct PoolConfig {
  std::string name;  // unique; used in logs, metrics and the API
  std::string url;   // scheme://host:port, e.g. stratum2+tcp://pool.example:4444
  std::string user;  // wallet or account
  std::string password = "x";
  std::string worker;  // appended as user.worker where the dialect expects it
  Algorithm algo = Algorithm::ethash;
  int priority = 0;     // failover order: lower first
  unsigned weight = 1;  // split share
  bool enabled = true;
  TlsConfig tls;
  std::chrono::seconds job_timeout{120};       // no new job for this long: the pool is dead
  std::chrono::seconds response_timeout{30};   // a request unanswered this long: dead
  std::chrono::seconds hashrate_interval{60};  // 0 disables hashrate reports
  BackoffConfig backoff;
  unsigned max_protocol_errors = 20;  // malformed lines in a row before reconnecting
  // Shares a second the pool may ask for: an easier difficulty is raised here (shares still meet
  // the pool's target), so a pool cannot make every hash a share.
  double max_share_rate = 10;
  // After a run of rejected shares that verified here, the pool is not mined for this long.
  std::chrono::seconds rejection_cooldown{300};
  // getwork pools only: how often eth_getWork is asked, and where the node's --miner.notify POSTs
  // land (none: polling alone).
  std::chrono::milliseconds getwork_poll{500};
  std::optional<ListenAddress> notify_listen;
  bool operator==(const PoolConfig&) const = default;
};

}  // namespace dagminer
