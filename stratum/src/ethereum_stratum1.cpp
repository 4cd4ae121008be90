// EthereumStratum/1.0.0 (NiceHash, stratum2+tcp): mining.subscribe gives the extranonce,
// mining.authorize, then mining.set_difficulty / mining.set_extranonce for the next job and
// mining.notify [job, seed, header, clean]; shares carry the nonce without the extranonce.
#include <boost/json/array.hpp>

#include "dialect.hpp"

namespace dagminer::stratum {
namespace json = boost::json;

namespace {

class EthereumStratum1 final : public Dialect {
 public:
  explicit EthereumStratum1(const DialectSettings& settings) : settings_(settings) { next_.algo = settings.algo; }

  PoolProtocol protocol() const noexcept override { return PoolProtocol::ethereum_stratum_1; }

  Reaction begin() override {
    Reaction r;
    r.requests.push_back({Request::subscribe, "mining.subscribe", json::array{agent, "EthereumStratum/1.0.0"}});
    return r;
  }

  Reaction on_reply(Request kind, const Message& reply) override {
    if (kind == Request::subscribe) return on_subscribe(reply);
    Reaction r;
    if (kind == Request::authorize) {
      const bool ok = !reply.error && reply.result == json::value(true);
      r.verdict = ok ? Reaction::Verdict::authorized : Reaction::Verdict::user_refused;
      if (reply.error) r.reason = error_text(*reply.error);
    }
    return r;
  }

  std::optional<Reaction> on_method(const Message& m) override {
    Reaction r;
    if (m.method == "mining.notify") r.job = job_from_notice(decode_es1_notify(m.params), next_, settings_.pool);
    else if (m.method == "mining.set_difficulty") next_.target = target_from_difficulty(decode_es1_difficulty(m.params));
    else if (m.method == "mining.set_extranonce") next_.nonces = decode_es1_extranonce(m.params);
    else return std::nullopt;
    return r;
  }

  Outgoing submit(const Share& share, const NonceSpace& job_nonces) const override {
    return {Request::submit, "mining.submit",
            json::array{json::string(settings_.login), json::string(share.job_id),
                        json::string(job_nonces.miner_part_hex(share.nonce))}};
  }

  ShareResult read_submit_reply(const Message& reply, std::chrono::milliseconds round_trip) const override {
    if (reply.error) return classify_rejection(*reply.error, round_trip);
    return share_verdict(reply.result == json::value(true), reply, round_trip);
  }

  Outgoing hashrate_report(double hashes_per_second) const override {
    return eth_submit_hashrate(hashes_per_second, settings_.client_id);
  }

 private:
  Reaction on_subscribe(const Message& reply) {
    Reaction r;
    const bool answered = !reply.error && reply.result.is_array();
    const Es1Subscription sub = answered ? decode_es1_subscribe_result(reply.result) : Es1Subscription{};
    if (!answered || (!sub.protocol.empty() && sub.protocol.rfind("EthereumStratum/1", 0) != 0)) {
      if (settings_.may_fall_back) {
        r.verdict = Reaction::Verdict::fall_back;
        r.reason = "not EthereumStratum/1.0.0";
        return r;
      }
      r.verdict = Reaction::Verdict::wrong_dialect;
      r.reason = "mining.subscribe refused: " + (reply.error ? error_text(*reply.error) : "not an EthereumStratum/1.0.0 pool");
      return r;
    }
    next_.nonces = sub.nonces;
    r.requests.push_back({Request::extranonce_subscribe, "mining.extranonce.subscribe", json::array()});
    r.requests.push_back(
        {Request::authorize, "mining.authorize", json::array{json::string(settings_.login), json::string(settings_.password)}});
    return r;
  }

  DialectSettings settings_;
  NextJob next_;
};

}  // namespace

std::unique_ptr<Dialect> make_ethereum_stratum_1(const DialectSettings& settings) {
  return std::make_unique<EthereumStratum1>(settings);
}

}  // namespace dagminer::stratum
