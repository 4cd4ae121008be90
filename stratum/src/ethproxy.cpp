// EthProxy (stratum1+tcp): eth_submitLogin, eth_getWork, work pushed as a response to nothing,
// eth_submitWork [nonce, header, mix]. No job ids, no extranonce, the boundary comes with each job.
#include <boost/json/array.hpp>

#include "dagminer/core/hex.hpp"
#include "dialect.hpp"

namespace dagminer::stratum {
namespace json = boost::json;

namespace {

class EthProxy final : public Dialect {
 public:
  explicit EthProxy(const DialectSettings& settings) : settings_(settings) { next_.algo = settings.algo; }

  PoolProtocol protocol() const noexcept override { return PoolProtocol::ethproxy; }

  Reaction begin() override {
    Reaction r;
    r.requests.push_back(
        {Request::login, "eth_submitLogin", json::array{json::string(settings_.login), json::string(settings_.password)}});
    return r;
  }

  Reaction on_reply(Request kind, const Message& reply) override {
    Reaction r;
    if (kind == Request::login) {
      if (reply.error && settings_.ethproxy_guessed) {
        r.verdict = Reaction::Verdict::wrong_dialect;
        r.reason = "eth_submitLogin refused (" + error_text(*reply.error) + "): not EthProxy, EthereumStratum/1.0.0 next";
        return r;
      }
      if (reply.error || reply.result != json::value(true)) {
        r.verdict = Reaction::Verdict::user_refused;
        if (reply.error) r.reason = error_text(*reply.error);
        return r;
      }
      r.verdict = Reaction::Verdict::authorized;
      r.requests.push_back({Request::get_work, "eth_getWork", json::array()});
    } else if (kind == Request::get_work) {
      if (reply.error) throw ProtocolError("eth_getWork failed: " + error_text(*reply.error));
      if (!reply.result.is_null()) r.job = work(decode_ethproxy_work(reply.result));
    }
    return r;
  }

  std::optional<Reaction> on_method(const Message&) override { return std::nullopt; }

  std::optional<Reaction> on_unsolicited(const Message& m) override {
    if (!looks_like_ethproxy_work(m.result)) return std::nullopt;
    Reaction r;
    r.job = work(decode_ethproxy_work(m.result));
    return r;
  }

  Outgoing submit(const Share& share, const NonceSpace&) const override {
    return {Request::submit, "eth_submitWork",
            json::array{json::string("0x" + to_hex_u64(share.nonce)), json::string("0x" + to_hex(share.header)),
                        json::string("0x" + to_hex(share.mix_hash))}};
  }

  ShareResult read_submit_reply(const Message& reply, std::chrono::milliseconds round_trip) const override {
    if (reply.error) return classify_rejection(*reply.error, round_trip);
    return share_verdict(reply.result == json::value(true), reply, round_trip);
  }

  Outgoing hashrate_report(double hashes_per_second) const override {
    return eth_submit_hashrate(hashes_per_second, settings_.client_id);
  }

 private:
  Job work(const WorkNotice& notice) {
    Job job = job_from_notice(notice, next_, settings_.pool);
    // The header repeated with only the boundary changed: the old work stays valid.
    if (last_header_ == notice.header) job.clean = false;
    last_header_ = notice.header;
    return job;
  }

  DialectSettings settings_;
  NextJob next_;
  std::optional<Hash256> last_header_;
};

}  // namespace

std::unique_ptr<Dialect> make_ethproxy(const DialectSettings& settings) { return std::make_unique<EthProxy>(settings); }

}  // namespace dagminer::stratum
