// A node for tests and `dagminer poolsim --getwork`: speaks HTTP JSON-RPC as core-geth does to a
// remote miner (eth_getWork, eth_submitWork, eth_submitHashrate), checks every solution with the
// light hashimoto against the network target it hands out, pushes new work to notify URLs like
// --miner.notify (and --miner.notify.full), and misbehaves on command: syncing, slow answers,
// HTTP errors, down. Not thread-safe: call it from the thread that runs the io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "dagminer/core/ethash.hpp"
#include "dagminer/core/job.hpp"

namespace dagminer::stratum {

struct GetworkNodeConfig {
  std::string name = "node";
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: a free port, see GetworkNode::port()
  std::string tls_cert;    // PEM files: HTTPS when both are given
  std::string tls_key;
  Algorithm algo = Algorithm::ethash;
  int epoch = 0;                            // DAG epoch of the blocks handed out
  double difficulty = 1.0;                  // the network's: the boundary is its target
  bool three_element_work = false;          // eth_getWork without the block number, as older nodes answer
  std::string basic_auth;                   // "user:password" the node requires; empty: none
  std::vector<std::string> notify_urls;     // http://host:port/path, POSTed each new block
  bool notify_full = false;                 // --miner.notify.full: the block header as JSON
  std::shared_ptr<const LightCache> cache;  // of (algo, epoch); built when absent
};

struct GetworkNodeStats {
  std::uint64_t requests = 0;  // HTTP requests, answered or not
  std::uint64_t get_work = 0;  // eth_getWork calls answered with work
  std::uint64_t blocks_accepted = 0, stale = 0, invalid = 0;
  std::uint64_t unauthorized = 0;      // requests without the right credentials
  std::vector<std::string> hashrates;  // eth_submitHashrate's rate as sent
  std::vector<std::string> hashrate_ids;
  std::uint64_t pushes = 0;  // notifications the miner answered with 200
};

class GetworkNode {
 public:
  // Listens at once; throws std::runtime_error when it cannot.
  GetworkNode(boost::asio::io_context& io, GetworkNodeConfig config);
  ~GetworkNode();
  GetworkNode(const GetworkNode&) = delete;
  GetworkNode& operator=(const GetworkNode&) = delete;

  std::uint16_t port() const noexcept;
  std::string url() const;  // getwork+http://127.0.0.1:PORT (credentials not included)
  std::shared_ptr<const LightCache> light_cache() const noexcept;
  std::uint64_t block() const noexcept;  // the number of the block being mined
  Hash256 header() const noexcept;       // its seal hash

  // The next block: new work (pushed to the notify URLs); solutions for older blocks are stale.
  void new_block();
  // eth_getWork answers "syncing" errors while true.
  void set_syncing(bool syncing);
  // Every answer waits this long first (0: at once).
  void set_reply_delay(std::chrono::milliseconds delay);
  // Every request is answered with this HTTP status and no JSON-RPC (0: normal answers).
  void set_http_error(unsigned status);
  // Every request is carried out, then its connection closed unanswered (a node that fails
  // between its work and its answer).
  void set_close_unanswered(bool close);
  // Down: not listening and every connection closed; up: listening again on the same port.
  void set_down(bool down);

  const GetworkNodeStats& stats() const noexcept;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dagminer::stratum
