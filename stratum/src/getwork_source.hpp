// The getwork job source: solo mining against a node's HTTP JSON-RPC (core-geth, geth). Internal
// to stratum/; make_job_source picks it for getwork+http:// and getwork+https:// URLs.
#pragma once

#include "dagminer/stratum/job_source.hpp"

namespace dagminer::stratum {

// eth_getWork is polled every getwork_poll and each new header is a clean job, its epoch taken
// from the block number; solutions go back with eth_submitWork and, meeting the network's target,
// are blocks; eth_submitHashrate reports the rate. With notify_listen, the node's --miner.notify
// POSTs make a job at once. Any failed request makes the node dead until a poll succeeds, polls
// backing off meanwhile; shares found while it is dead are held for its return.
class GetworkSource final : public JobSourceHandle {
 public:
  // Throws std::invalid_argument when the URL is not a getwork URL or the settings cannot be used.
  GetworkSource(boost::asio::any_io_executor executor, PoolConfig config, Callbacks callbacks);
};

}  // namespace dagminer::stratum
