// The Stratum job source: a client for one pool that connects (TCP or TLS), speaks one of the
// three Ethash dialects, turns the pool's messages into Jobs, submits Shares and reports their
// outcomes. Runs on the caller's executor (one thread).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "dagminer/stratum/job_source.hpp"

namespace dagminer::stratum {

class PoolClient final : public JobSourceHandle {
 public:
  // Throws std::invalid_argument when the URL cannot be parsed (the message names the pool).
  PoolClient(boost::asio::io_context& io, PoolConfig config, Callbacks callbacks);
  PoolClient(boost::asio::any_io_executor executor, PoolConfig config, Callbacks callbacks);
};

}  // namespace dagminer::stratum
