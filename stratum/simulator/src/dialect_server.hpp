// The server side of each dialect (EthProxy, EthereumStratum/1.0.0, EthereumStratum/2.0.0): how
// it answers a miner's requests and how it tells the miner of jobs, difficulty, extranonce and
// reconnects. The pool's state and policy (authorization, share checking, reply delays) stay with
// the simulator, behind PoolServices.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "dagminer/stratum/protocol.hpp"
#include "miner_session.hpp"

namespace dagminer::stratum {

// What a dialect's server side asks of the pool.
class PoolServices {
 public:
  virtual const PoolWork& work() const = 0;
  // Authorizes the session's worker unless the pool is refusing everyone.
  virtual bool authorize(MinerSession& s, const std::string& worker) = 0;
  // Judges a share from `worker` and counts its outcome; nullopt when accepted.
  virtual std::optional<RpcError> check_share(MinerSession& s, const std::string& worker, const Submission& share) = 0;
  // Answers a request in the session's dialect (late while delay_replies holds).
  virtual void reply(MinerSession& s, const boost::json::value& id, const boost::json::value& result,
                     const std::optional<RpcError>& error) = 0;

 protected:
  ~PoolServices() = default;
};

class DialectServer {
 public:
  virtual ~DialectServer() = default;
  // A request; throws (ProtocolError and the like) when its parameters are malformed.
  virtual void handle(MinerSession& s, const Message& request) = 0;
  // The pool's current job, with the session's target and extranonce.
  virtual void send_job(MinerSession& s) = 0;
  // The new difficulty (already in s.next_target), for the next job.
  virtual void announce_difficulty(MinerSession& s) = 0;
  // The session's new extranonce (already in s.stats.extranonce), for the next job.
  virtual void announce_extranonce(MinerSession& s) = 0;
  virtual void request_reconnect(MinerSession& s, const std::string& host, std::uint16_t port) = 0;
};

std::unique_ptr<DialectServer> make_ethproxy_server(PoolServices& pool);
std::unique_ptr<DialectServer> make_es1_server(PoolServices& pool);
// `resume`: sessions may be resumed on a later connection (mining.hello says so).
std::unique_ptr<DialectServer> make_es2_server(PoolServices& pool, bool resume);

// --- Shared by the dialects -----------------------------------------------------------------

// The request's parameters, at least `count` of them; throws ProtocolError otherwise.
const boost::json::array& params_of(const Message& request, std::size_t count);
// A parameter as text: strings as they are, anything else as JSON.
std::string text(const boost::json::value& v);
// A reported hashrate: hex of up to 32 bytes, or EIP-1571's minimal hex; ignored when neither.
void record_hashrate(SessionStats& stats, const boost::json::value& rate);
RpcError unknown_method(const Message& request);
// client.reconnect [host, port, wait], as EthProxy and EthereumStratum/1.0.0 pools send it.
void send_client_reconnect(MinerSession& s, const std::string& host, std::uint16_t port);

}  // namespace dagminer::stratum
