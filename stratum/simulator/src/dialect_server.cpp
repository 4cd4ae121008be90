#include "dialect_server.hpp"

#include <boost/json/serialize.hpp>

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/error_codes.hpp"

namespace dagminer::stratum {

const boost::json::array& params_of(const Message& request, std::size_t count) {
  if (!request.params.is_array() || request.params.get_array().size() < count)
    throw ProtocolError(request.method + " needs " + std::to_string(count) + " parameters");
  return request.params.get_array();
}

std::string text(const boost::json::value& v) { return v.is_string() ? std::string(v.get_string()) : boost::json::serialize(v); }

void record_hashrate(SessionStats& stats, const boost::json::value& rate) {
  if (const auto hex = parse_hex(text(rate)); hex && hex->size() <= 32) {
    double value = 0;
    for (auto b : *hex) value = value * 256 + b;
    stats.hashrate = value;
  } else if (const auto n = parse_hex_u64(text(rate))) {
    stats.hashrate = static_cast<double>(*n);  // EIP-1571 writes minimal hex, maybe odd-length
  }
}

RpcError unknown_method(const Message& request) { return {code(StratumError::other), "unknown method " + request.method}; }

void send_client_reconnect(MinerSession& s, const std::string& host, std::uint16_t port) {
  s.notify("client.reconnect", boost::json::array{boost::json::string(host), port, 0});
}

}  // namespace dagminer::stratum
