// Where a pool's jobs come from and its shares go: the seam between the engine and the pool
// protocols. The engine holds one JobSource per configured pool and never knows which protocol
// is behind it: a Stratum client today (EthProxy, EthereumStratum/1.0.0 or 2.0.0 over TCP or
// TLS) or a getwork poller against a node (solo mining). Every callback runs on the source's executor,
// never from inside a call into the source.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "dagminer/core/job.hpp"
#include "dagminer/core/pool_config.hpp"
#include "dagminer/core/pool_url.hpp"

namespace dagminer::stratum {

enum class ConnectionState { connecting, connected, authorized, disconnected, auth_failed };
const char* to_string(ConnectionState state) noexcept;

struct JobSourceCounters {
  std::uint64_t protocol_errors = 0;  // malformed or unexpected messages, in total
  std::uint64_t reconnects = 0;       // connections lost or dropped after the first attempt
  std::uint64_t jobs = 0;
  std::uint64_t shares_sent = 0;
  std::uint64_t blocks_found = 0;  // getwork: solutions the node accepted (each is a block)
};

class JobSource {
 public:
  struct Callbacks {
    std::function<void(Job)> on_job;
    std::function<void(ConnectionState, const std::string& reason)> on_state;
    std::function<void(std::uint64_t share_id, const ShareResult&)> on_share_result;
  };

  virtual ~JobSource() = default;

  virtual void start() = 0;  // connects, and keeps reconnecting until stop(); may be called again after stop()
  // Graceful: closes the connection, stops reconnecting; shares still waiting for a reply or
  // for a reconnect are reported timed_out / stale.
  virtual void stop() = 0;

  // Queues a verified share for its pool and returns its id; the outcome arrives through
  // on_share_result. A share whose job a clean job replaced is reported stale without being
  // sent; one submitted while disconnected is held and sent after the reconnect if the pool
  // sends its job again, else reported stale.
  virtual std::uint64_t submit(const Share& share) = 0;
  // Whether `share_id` is held while the pool is down: found and submitted, never sent.
  virtual bool holds(std::uint64_t share_id) const noexcept = 0;
  // Hashrate reported to the pool every PoolConfig::hashrate_interval.
  virtual void set_hashrate(double hashes_per_second) = 0;

  virtual const PoolConfig& config() const noexcept = 0;
  virtual ConnectionState state() const noexcept = 0;
  virtual bool alive() const noexcept = 0;  // authorized and holding a job from this connection
  // The protocol spoken: the URL's, or for stratum+tcp the one found once the pool answered.
  virtual PoolProtocol protocol() const noexcept = 0;
  // Round trip of the last answered request on this connection.
  virtual std::optional<std::chrono::milliseconds> latency() const noexcept = 0;
  virtual JobSourceCounters counters() const noexcept = 0;
};

// The owner's side of a source whose state outlives it in pending asynchronous operations, which
// share the state. Every call is passed on to the state; destruction stops the source without
// waiting and drops its callbacks, so none is called after it.
class JobSourceHandle : public JobSource {
 public:
  class State;  // a protocol's source: the calls above, and dropping its callbacks

  ~JobSourceHandle() override;
  JobSourceHandle(const JobSourceHandle&) = delete;
  JobSourceHandle& operator=(const JobSourceHandle&) = delete;

  void start() override;
  void stop() override;
  std::uint64_t submit(const Share& share) override;
  bool holds(std::uint64_t share_id) const noexcept override;
  void set_hashrate(double hashes_per_second) override;
  const PoolConfig& config() const noexcept override;
  ConnectionState state() const noexcept override;
  bool alive() const noexcept override;
  PoolProtocol protocol() const noexcept override;
  std::optional<std::chrono::milliseconds> latency() const noexcept override;
  JobSourceCounters counters() const noexcept override;

 protected:
  explicit JobSourceHandle(std::shared_ptr<State> state) noexcept;

 private:
  std::shared_ptr<State> state_;
};

// The source for a pool's URL. Throws std::invalid_argument naming the pool when its settings
// cannot be used (the configuration loader checks the same things first).
std::unique_ptr<JobSource> make_job_source(boost::asio::any_io_executor executor, PoolConfig config,
                                           JobSource::Callbacks callbacks);

}  // namespace dagminer::stratum
