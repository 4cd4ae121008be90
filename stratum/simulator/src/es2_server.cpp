// EthereumStratum/2.0.0's server side (EIP-1571 draft): mining.hello, mining.subscribe,
// mining.authorize answered with a worker token, mining.submit [job, nonce, token]; settings in
// mining.set (epoch, target, algo, extranonce) and mining.notify [job, height, header, clean].
// Sessions are remembered: a miner that subscribes with an earlier session's id gets it back,
// with its extranonce and authorized worker, and mines on without authorizing again.
#include <map>

#include "dagminer/core/hex.hpp"
#include "dialect_server.hpp"

namespace dagminer::stratum {
namespace json = boost::json;
namespace {

class Es2Server final : public DialectServer {
 public:
  Es2Server(PoolServices& pool, bool resume) : pool_(pool), resume_(resume) {}

  void handle(MinerSession& s, const Message& m) override {
    if (m.method == "mining.hello") {
      const json::object result{{"proto", "EthereumStratum/2.0.0"},
                                {"encoding", "plain"},
                                {"resume", resume_ ? "1" : "0"},
                                {"timeout", "b4"},
                                {"maxerrors", "5"},
                                {"node", "dagminer-poolsim"}};
      return pool_.reply(s, m.id, result, std::nullopt);
    }
    if (m.method == "mining.subscribe") {
      if (m.params.is_string() && resume(s, std::string(m.params.get_string()))) {
        pool_.reply(s, m.id, json::string(s.session_id), std::nullopt);
        return send_job(s);  // the epoch first: this connection has not been told it
      }
      s.session_id = "s-" + hex_number(s.stats.id);
      return pool_.reply(s, m.id, json::string(s.session_id), std::nullopt);
    }
    if (m.method == "mining.authorize") {
      if (!pool_.authorize(s, text(params_of(m, 1)[0]))) return pool_.reply(s, m.id, nullptr, unauthorized_error());
      s.token = "w-" + hex_number(s.stats.id);
      remember(s);
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
  void announce_extranonce(MinerSession& s) override {
    remember(s);
    s.notify("mining.set", json::object{{"extranonce", s.stats.extranonce}});
  }

  void request_reconnect(MinerSession& s, const std::string& host, std::uint16_t port) override {
    s.notify("mining.reconnect", json::object{{"host", host}, {"port", hex_number(port)}, {"resume", "0"}});
  }

 private:
  static std::string epoch_number(int epoch) { return hex_number(static_cast<std::uint64_t>(epoch)); }

  // What a resumed session gets back (EIP-1571: the extranonce and the authorized worker).
  struct Saved {
    std::string worker, token, extranonce;
    NonceSpace nonces;
  };

  void remember(const MinerSession& s) {
    if (resume_ && s.stats.authorized && !s.session_id.empty())
      saved_[s.session_id] = {s.stats.worker, s.token, s.stats.extranonce, s.next_nonces};
  }

  bool resume(MinerSession& s, const std::string& session) {
    const auto it = resume_ ? saved_.find(session) : saved_.end();
    if (it == saved_.end() || !pool_.authorize(s, it->second.worker)) return false;
    s.session_id = session;
    s.token = it->second.token;
    s.stats.extranonce = it->second.extranonce;
    s.next_nonces = it->second.nonces;
    s.stats.resumed = true;
    return true;
  }

  PoolServices& pool_;
  bool resume_;
  std::map<std::string, Saved> saved_;
};

}  // namespace

std::unique_ptr<DialectServer> make_es2_server(PoolServices& pool, bool resume) {
  return std::make_unique<Es2Server>(pool, resume);
}

}  // namespace dagminer::stratum
