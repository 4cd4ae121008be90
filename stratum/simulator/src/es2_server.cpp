// EthereumStratum/2.0.0's server side (EIP-1571 draft): mining.hello, mining.subscribe,
// mining.authorize answered with a worker token, mining.submit [job, nonce, token]; settings in
// mining.set (epoch, target, algo, extranonce) and mining.notify [job, height, header, clean].
#include "dagminer/core/hex.hpp"
#include "dialect_server.hpp"

namespace dagminer::stratum {
namespace json = boost::json;
namespace {

class Es2Server final : public DialectServer {
 public:
  explicit Es2Server(PoolServices& pool) : pool_(pool) {}

  void handle(MinerSession& s, const Message& m) override {
    if (m.method == "mining.hello") {
      const json::object result{
          {"proto", "EthereumStratum/2.0.0"}, {"encoding", "plain"}, {"resume", "0"}, {"timeout", "b4"}, {"maxerrors", "5"},
          {"node", "dagminer-poolsim"}};
      return pool_.reply(s, m.id, result, std::nullopt);
    }
    if (m.method == "mining.subscribe") return pool_.reply(s, m.id, json::string("s-" + hex_number(s.stats.id)), std::nullopt);
    if (m.method == "mining.authorize") {
      if (!pool_.authorize(s, text(params_of(m, 1)[0]))) return pool_.reply(s, m.id, nullptr, unauthorized_error());
      s.token = "w-" + hex_number(s.stats.id);
      pool_.reply(s, m.id, json::string(s.token), std::nullopt);
      const PoolWork& w = pool_.work();
      s.announced_epoch = w.epoch;
      s.notify("mining.set", json::object{{"epoch", epoch_number(w.epoch)},
                                          {"target", to_hex(s.next_target)},
                                          {"algo", dagminer::to_string(w.algo)},
                                          {"extranonce", s.stats.extranonce}});
      return send_job(s);
    }
    if (m.method == "mining.submit") {
      const auto& p = params_of(m, 3);
      // The token stands for the worker authorized on this session.
      const std::string worker = text(p[2]) == s.token ? s.stats.worker : std::string();
      const auto error = pool_.check_share(s, worker, Submission{text(p[0]), std::nullopt, text(p[1]), std::nullopt});
      return pool_.reply(s, m.id, nullptr, error);
    }
    if (m.method == "mining.hashrate") {
      record_hashrate(s.stats, params_of(m, 1)[0]);
      return pool_.reply(s, m.id, nullptr, std::nullopt);
    }
    if (m.method == "mining.noop") return pool_.reply(s, m.id, nullptr, std::nullopt);
    pool_.reply(s, m.id, nullptr, unknown_method(m));
  }

  void send_job(MinerSession& s) override {
    const PoolWork& w = pool_.work();
    const bool clean = is_clean_for(s, w);
    if (s.announced_epoch != w.epoch) {  // EIP-1571 jobs carry no seed: the epoch comes first
      s.announced_epoch = w.epoch;
      s.notify("mining.set", json::object{{"epoch", epoch_number(w.epoch)}});
    }
    issue_job(s, w, clean);
    s.notify("mining.notify", json::array{json::string(w.job_id), json::string(hex_number(w.height)),
                                          json::string(to_hex(w.header)), clean ? "1" : "0"});
  }

  void announce_difficulty(MinerSession& s) override { s.notify("mining.set", json::object{{"target", to_hex(s.next_target)}}); }
  void announce_extranonce(MinerSession& s) override { s.notify("mining.set", json::object{{"extranonce", s.stats.extranonce}}); }

  void request_reconnect(MinerSession& s, const std::string& host, std::uint16_t port) override {
    s.notify("mining.reconnect", json::object{{"host", host}, {"port", hex_number(port)}, {"resume", "0"}});
  }

 private:
  static std::string epoch_number(int epoch) { return hex_number(static_cast<std::uint64_t>(epoch)); }

  PoolServices& pool_;
};

}  // namespace

std::unique_ptr<DialectServer> make_es2_server(PoolServices& pool) { return std::make_unique<Es2Server>(pool); }

}  // namespace dagminer::stratum
