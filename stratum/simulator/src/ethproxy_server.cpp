// EthProxy's server side: eth_submitLogin, eth_getWork, eth_submitWork and eth_submitHashrate;
// jobs pushed as method-less responses with id 0 carrying the work array.
#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/error_codes.hpp"
#include "dialect_server.hpp"

namespace dagminer::stratum {
namespace json = boost::json;
namespace {

class EthProxyServer final : public DialectServer {
 public:
  explicit EthProxyServer(PoolServices& pool) : pool_(pool) {}

  void handle(MinerSession& s, const Message& m) override {
    if (m.method == "eth_submitLogin") {
      if (!pool_.authorize(s, text(params_of(m, 1)[0]))) return pool_.reply(s, m.id, false, unauthorized_error());
      return pool_.reply(s, m.id, true, std::nullopt);
    }
    if (m.method == "eth_getWork") {
      if (!s.stats.authorized) return pool_.reply(s, m.id, false, unauthorized_error());
      return pool_.reply(s, m.id, issue_work(s, false), std::nullopt);
    }
    if (m.method == "eth_submitWork") {
      const auto& p = params_of(m, 3);
      const auto header = parse_hex_array<32>(text(p[1]));
      const auto mix = parse_hex_array<32>(text(p[2]));
      if (!header || !mix)
        return pool_.reply(s, m.id, false, RpcError{code(StratumError::other), "malformed header or mix hash"});
      // EthProxy logs in once per connection: its shares carry no worker name.
      const auto error = pool_.check_share(s, s.stats.worker, Submission{{}, *header, text(p[0]), *mix});
      return pool_.reply(s, m.id, !error, error);
    }
    if (m.method == "eth_submitHashrate") {
      record_hashrate(s.stats, params_of(m, 1)[0]);
      return pool_.reply(s, m.id, true, std::nullopt);
    }
    pool_.reply(s, m.id, false, unknown_method(m));
  }

  void send_job(MinerSession& s) override {
    s.outbox->send(response_line(PoolProtocol::ethproxy, 0, issue_work(s, is_clean_for(s, pool_.work())), std::nullopt));
  }

  void announce_difficulty(MinerSession&) override {}  // the boundary comes with each job
  void announce_extranonce(MinerSession&) override {}  // EthProxy miners own the whole nonce

  void request_reconnect(MinerSession& s, const std::string& host, std::uint16_t port) override {
    send_client_reconnect(s, host, port);
  }

 private:
  // Issues the pool's current job to the session; returns its work array [header, seed, boundary, height].
  json::array issue_work(MinerSession& s, bool clean) {
    const PoolWork& w = pool_.work();
    issue_job(s, w, clean);
    return json::array{json::string("0x" + to_hex(w.header)), json::string("0x" + to_hex(w.seed)),
                       json::string("0x" + to_hex(s.next_target)), json::string("0x" + hex_number(w.height))};
  }

  PoolServices& pool_;
};

}  // namespace

std::unique_ptr<DialectServer> make_ethproxy_server(PoolServices& pool) { return std::make_unique<EthProxyServer>(pool); }

}  // namespace dagminer::stratum
