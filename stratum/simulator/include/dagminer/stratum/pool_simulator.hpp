// A pool server for tests and `dagminer poolsim`: serves EthProxy, EthereumStratum/1.0.0 and
// EthereumStratum/2.0.0 (over TCP or TLS) on the caller's io_context, hands out jobs at a chosen
// algorithm, epoch and difficulty with a distinct extranonce per session, verifies every share with
// the light hashimoto, and misbehaves on command or on a schedule. Not thread-safe: call it from
// the thread that runs the io_context (or before that runs).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "dagminer/core/ethash.hpp"
#include "dagminer/core/job.hpp"
#include "dagminer/stratum/pool_client.hpp"

namespace dagminer::stratum {

struct SimulatorConfig {
  std::string name = "poolsim";
  std::string address = "127.0.0.1";               // IPv4 or IPv6 literal
  std::uint16_t port = 0;                          // 0: a free port, see PoolSimulator::port()
  PoolProtocol dialect = PoolProtocol::automatic;  // automatic: whichever the miner speaks first
  std::string tls_cert;                            // PEM files: TLS when both are given
  std::string tls_key;
  Algorithm algo = Algorithm::ethash;
  int epoch = 0;  // DAG epoch
  double difficulty = 1.0;
  std::chrono::milliseconds job_interval{0};  // 0: new jobs only on command
  std::size_t extranonce_bytes = 2;           // 0..3 (EthereumStratum/1.0.0 allows at most 3)
  std::string first_extranonce;               // hex; later sessions count up from it
  std::shared_ptr<const LightCache> cache;    // of (algo, epoch); built when absent
  std::string light_cache_dir;                // where to keep a built cache (empty: not kept)
  bool es2_resume = true;                     // EthereumStratum/2.0.0: sessions may be resumed after a reconnect
};

enum class Fault {
  drop_connections,   // close every session
  pause_listening,    // close the listening socket for the duration
  malformed_line,     // send a line that is not JSON
  overlong_line,      // send a line longer than the 64 KiB limit
  delay_replies,      // answer requests only after the duration
  reject_all,         // refuse authorization and every share (code 24) for the duration
  reuse_job_ids,      // new jobs keep the previous job's id for the duration
  request_reconnect,  // ask miners to reconnect (client.reconnect / mining.reconnect)
  go_silent,          // read but neither answer nor send jobs for the duration
};
const char* to_string(Fault fault) noexcept;
std::optional<Fault> parse_fault(std::string_view name) noexcept;
// Faults that last for a duration; the others happen at once.
bool fault_has_duration(Fault fault) noexcept;

struct FaultSchedule {
  Fault fault;
  std::chrono::milliseconds every{0};
  std::chrono::milliseconds duration{0};
};

struct SessionStats {
  std::uint64_t id = 0;
  std::string peer;
  PoolProtocol dialect = PoolProtocol::automatic;  // automatic until the miner's first request
  std::string extranonce;                          // hex, as last assigned
  std::string worker;
  bool authorized = false;
  bool resumed = false;  // EthereumStratum/2.0.0: a session resumed, without mining.authorize
  bool open = true;
  std::uint64_t jobs = 0;
  std::uint64_t accepted = 0, stale = 0, duplicate = 0, low_difficulty = 0, unauthorized = 0, invalid = 0;
  double hashrate = 0;  // as last reported, H/s
};

class PoolSimulator {
 public:
  // Listens at once; throws std::runtime_error when it cannot (address in use, bad TLS files).
  PoolSimulator(boost::asio::io_context& io, SimulatorConfig config);
  ~PoolSimulator();
  PoolSimulator(const PoolSimulator&) = delete;
  PoolSimulator& operator=(const PoolSimulator&) = delete;

  std::uint16_t port() const noexcept;
  // A URL a client can use, e.g. stratum2+tcp://127.0.0.1:4444 (stratum+ for automatic).
  std::string url() const;
  // SHA-256 of the TLS certificate (empty without TLS), for fingerprint pinning.
  std::string fingerprint() const;
  std::shared_ptr<const LightCache> light_cache() const noexcept;  // of the current epoch
  void stop();

  // Work. A new job goes to every authorized session; difficulty and extranonce changes are
  // announced at once and apply to the next job.
  void new_job(bool clean = true);
  void push_job(std::string id, const Hash256& header, bool clean = true);
  void set_difficulty(double difficulty);
  void change_extranonces();  // every session gets a new distinct extranonce
  // The pool moves to another epoch of its algorithm: a clean job on it goes out at once
  // (EthereumStratum/2.0.0 sessions get mining.set with the epoch first). Each job keeps the
  // cache of its own epoch for its shares. Throws std::invalid_argument when `cache` is not that
  // of (algo, epoch).
  void set_epoch(int epoch, std::shared_ptr<const LightCache> cache);
  int epoch() const noexcept;
  std::string job_id() const;  // the current job's

  // Faults: at once, for a duration where the fault has one, or on a schedule.
  void inject(Fault fault, std::chrono::milliseconds duration = {});
  void schedule(const FaultSchedule& schedule);

  std::vector<SessionStats> sessions() const;
  SessionStats totals() const;  // summed over all sessions
  std::string summary() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dagminer::stratum
