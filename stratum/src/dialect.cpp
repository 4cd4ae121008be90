// What the three dialects share: request names, job building and reading rejections.
#include "dialect.hpp"

#include <stdexcept>

#include <boost/json/serialize.hpp>

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/error_codes.hpp"

namespace dagminer::stratum {

namespace {

// Some pools answer a share for a job they dropped with this code instead of 21.
constexpr int stale_code_variant = 202;

}  // namespace

const char* to_string(Request r) noexcept {
  switch (r) {
    case Request::hello: return "mining.hello";
    case Request::subscribe: return "mining.subscribe";
    case Request::extranonce_subscribe: return "mining.extranonce.subscribe";
    case Request::authorize: return "mining.authorize";
    case Request::login: return "eth_submitLogin";
    case Request::get_work: return "eth_getWork";
    case Request::submit: return "share submission";
    case Request::hashrate: return "hashrate report";
    case Request::noop: return "mining.noop";
  }
  return "request";
}

bool optional_reply(Request r) noexcept { return r == Request::hashrate || r == Request::extranonce_subscribe; }

std::unique_ptr<Dialect> make_dialect(PoolProtocol protocol, const DialectSettings& settings) {
  switch (protocol) {
    case PoolProtocol::ethproxy: return make_ethproxy(settings);
    case PoolProtocol::ethereum_stratum_2: return make_ethereum_stratum_2(settings);
    case PoolProtocol::automatic:
    case PoolProtocol::ethereum_stratum_1: break;
    case PoolProtocol::getwork: throw std::invalid_argument("getwork is a node's HTTP JSON-RPC, not a Stratum dialect");
  }
  return make_ethereum_stratum_1(settings);
}

Job job_from_notice(const WorkNotice& notice, const NextJob& next, const std::string& pool) {
  Job job;
  job.pool = pool;
  job.id = notice.job_id;
  job.algo = next.algo;
  if (notice.seed) {
    const auto epoch = epoch_of_seed(job.algo, *notice.seed);
    if (!epoch)
      throw ProtocolError("seed hash " + to_hex(*notice.seed) + " is not that of any " +
                          std::string(dagminer::to_string(job.algo)) + " epoch");
    job.seed = *notice.seed;
    job.epoch = *epoch;
  } else {
    if (!next.epoch) throw ProtocolError("job before mining.set gave the epoch");
    job.epoch = *next.epoch;
    job.seed = seed_of_epoch(job.algo, job.epoch);
  }
  job.header = notice.header;
  job.target = notice.target.value_or(next.target);
  job.nonces = next.nonces;
  job.height = notice.height;
  job.clean = notice.clean;
  return job;
}

ShareResult classify_rejection(const RpcError& e, std::chrono::milliseconds round_trip) {
  const std::string text = ascii_lower(e.message);
  const bool stale = e.code == code(StratumError::stale) || e.code == stale_code_variant ||
                     text.find("stale") != std::string::npos || text.find("job not found") != std::string::npos;
  std::string reason = e.message.empty() ? "rejected" : e.message;
  if (e.code != 0) reason += " (code " + std::to_string(e.code) + ")";
  return {stale ? ShareOutcome::stale : ShareOutcome::rejected, e.code, std::move(reason), round_trip};
}

ShareResult share_verdict(bool accepted, const Message& reply, std::chrono::milliseconds round_trip) {
  if (accepted) return {ShareOutcome::accepted, 0, {}, round_trip};
  return {ShareOutcome::rejected, 0, "the pool answered " + printable(boost::json::serialize(reply.result)), round_trip};
}

Outgoing eth_submit_hashrate(double hashes_per_second, const Hash256& client_id) {
  Hash256 rate{};
  auto value = static_cast<std::uint64_t>(hashes_per_second);
  for (int i = 31; i >= 24; --i, value >>= 8) rate[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value);
  return {Request::hashrate, "eth_submitHashrate",
          boost::json::array{boost::json::string("0x" + to_hex(rate)), boost::json::string("0x" + to_hex(client_id))}};
}

std::string error_text(const RpcError& e) { return e.message + (e.code ? " (code " + std::to_string(e.code) + ")" : ""); }

}  // namespace dagminer::stratum
