// EthereumStratum/1.0.0's server side (NiceHash): mining.subscribe with the session's extranonce,
// mining.authorize, mining.submit of the miner's part of the nonce; mining.set_difficulty,
// mining.set_extranonce and mining.notify [job, seed, header, clean].
#include "dagminer/core/hex.hpp"
#include "dialect_server.hpp"

namespace dagminer::stratum {
namespace json = boost::json;
namespace {

class Es1Server final : public DialectServer {
 public:
  explicit Es1Server(PoolServices& pool) : pool_(pool) {}

  void handle(MinerSession& s, const Message& m) override {
    if (m.method == "mining.subscribe") {
      const json::array result{json::array{"mining.notify", hex_number(s.stats.id), "EthereumStratum/1.0.0"},
                               json::string(s.stats.extranonce)};
      return pool_.reply(s, m.id, result, std::nullopt);
    }
    if (m.method == "mining.extranonce.subscribe") return pool_.reply(s, m.id, true, std::nullopt);
    if (m.method == "mining.authorize") {
      if (!pool_.authorize(s, text(params_of(m, 1)[0]))) return pool_.reply(s, m.id, false, unauthorized_error());
      pool_.reply(s, m.id, true, std::nullopt);
      announce_difficulty(s);
      return send_job(s);
    }
    if (m.method == "mining.submit") {
      const auto& p = params_of(m, 3);
      const auto error = pool_.check_share(s, text(p[0]), Submission{text(p[1]), std::nullopt, text(p[2]), std::nullopt});
      return pool_.reply(s, m.id, !error, error);
    }
    if (m.method == "eth_submitHashrate") {
      record_hashrate(s.stats, params_of(m, 1)[0]);
      return pool_.reply(s, m.id, true, std::nullopt);
    }
    pool_.reply(s, m.id, false, unknown_method(m));
  }

  void send_job(MinerSession& s) override {
    const PoolWork& w = pool_.work();
    const bool clean = is_clean_for(s, w);
    issue_job(s, w, clean);
    s.notify("mining.notify",
             json::array{json::string(w.job_id), json::string(to_hex(w.seed)), json::string(to_hex(w.header)), clean});
  }

  void announce_difficulty(MinerSession& s) override { s.notify("mining.set_difficulty", json::array{pool_.work().difficulty}); }
  void announce_extranonce(MinerSession& s) override {
    s.notify("mining.set_extranonce", json::array{json::string(s.stats.extranonce)});
  }
  void request_reconnect(MinerSession& s, const std::string& host, std::uint16_t port) override {
    send_client_reconnect(s, host, port);
  }

 private:
  PoolServices& pool_;
};

}  // namespace

std::unique_ptr<DialectServer> make_es1_server(PoolServices& pool) { return std::make_unique<Es1Server>(pool); }

}  // namespace dagminer::stratum
