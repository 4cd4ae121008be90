// The Stratum job source: a client for one pool that connects (TCP or TLS), speaks one of the
// three Ethash dialects, turns the pool's messages into Jobs, submits Shares and reports their
// outcomes. Runs on the caller's executor (one thread).
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "dagminer/stratum/job_source.hpp"

namespace dagminer::stratum {

class PoolClient final : public JobSource {
 public:
  // Throws std::invalid_argument when the URL cannot be parsed (the message names the pool).
  PoolClient(boost::asio::io_context& io, PoolConfig config, Callbacks callbacks);
  PoolClient(boost::asio::any_io_executor executor, PoolConfig config, Callbacks callbacks);
  // Stops (without waiting) and drops the callbacks: none is called after destruction.
  ~PoolClient() override;
  PoolClient(const PoolClient&) = delete;
  PoolClient& operator=(const PoolClient&) = delete;

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

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dagminer::stratum
