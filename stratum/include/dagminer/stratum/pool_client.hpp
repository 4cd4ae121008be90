// A Stratum client for one pool: connects (TCP or TLS), speaks one of the three Ethash dialects,
// turns the pool's messages into Jobs, submits Shares and reports their outcomes. Runs on the
// caller's io_context (one thread); every callback is invoked on that context, never from inside
// a call into the client (submit's result always arrives later).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "dagminer/core/job.hpp"
#include "dagminer/core/pool_config.hpp"

namespace dagminer::stratum {

enum class PoolState { connecting, connected, authorized, disconnected, auth_failed };
const char* to_string(PoolState state) noexcept;

// The wire dialect. `automatic` (stratum+tcp) tries EthereumStratum/1.0.0 and falls back to
// EthProxy; dialect() reports what was found once the pool has answered.
enum class Dialect { automatic, ethproxy, ethereum_stratum_1, ethereum_stratum_2 };
const char* to_string(Dialect dialect) noexcept;

struct PoolClientCounters {
  std::uint64_t protocol_errors = 0;  // malformed or unexpected lines, in total
  std::uint64_t reconnects = 0;       // connections lost or dropped after the first attempt
  std::uint64_t jobs = 0;
  std::uint64_t shares_sent = 0;
};

class PoolClient {
 public:
  struct Callbacks {
    std::function<void(Job)> on_job;
    std::function<void(PoolState, const std::string& reason)> on_state;
    std::function<void(std::uint64_t share_id, const ShareResult&)> on_share_result;
  };

  // Throws std::invalid_argument when the URL cannot be parsed (the message names the pool).
  PoolClient(boost::asio::io_context& io, PoolConfig config, Callbacks callbacks);
  PoolClient(boost::asio::any_io_executor executor, PoolConfig config, Callbacks callbacks);
  // Stops (without waiting) and drops the callbacks: none is called after destruction.
  ~PoolClient();
  PoolClient(const PoolClient&) = delete;
  PoolClient& operator=(const PoolClient&) = delete;

  void start();  // connects, and keeps reconnecting until stop(); may be called again after stop()
  // Graceful: closes the connection, stops reconnecting; shares still waiting for a reply or
  // for a reconnect are reported timed_out / stale.
  void stop();

  // Queues a verified share for its pool and returns its id; the outcome arrives through
  // on_share_result. A share whose job a clean job replaced is reported stale without being sent;
  // one submitted while disconnected is held and sent after the reconnect if the pool sends its
  // job again, else reported stale.
  std::uint64_t submit(const Share& share);
  // Hashrate reported to the pool every PoolConfig::hashrate_interval.
  void set_hashrate(double hashes_per_second);

  const PoolConfig& config() const noexcept;
  PoolState state() const noexcept;
  bool alive() const noexcept;  // authorized and holding a job from this connection
  Dialect dialect() const noexcept;
  // Round trip of the last answered request on this connection.
  std::optional<std::chrono::milliseconds> latency() const noexcept;
  PoolClientCounters counters() const noexcept;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dagminer::stratum
