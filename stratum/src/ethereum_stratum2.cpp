// EthereumStratum/2.0.0 (EIP-1571 draft, stratum3+tcp): mining.hello, mining.subscribe (with the
// previous session's id to resume it where the pool said "resume" in its hello),
// mining.authorize (whose result is the worker's token), mining.set for the next job's epoch,
// target, algorithm and extranonce, mining.notify [job, height, header, clean], mining.noop to
// stay visible to a pool that drops silent miners, mining.bye, 16-bit request ids.
#include <algorithm>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "dialect.hpp"

namespace dagminer::stratum {
namespace json = boost::json;

namespace {

constexpr std::uint64_t max_id = 0xffff;
constexpr std::uint64_t max_server_timeout = 24 * 3600;  // seconds

// EIP-1571 2xx codes: accepted, with a remark.
bool accepted_with_remark(int code) { return code >= 200 && code < 300; }

class EthereumStratum2 final : public Dialect {
 public:
  explicit EthereumStratum2(const DialectSettings& settings) : settings_(settings) { next_.algo = settings.algo; }

  PoolProtocol protocol() const noexcept override { return PoolProtocol::ethereum_stratum_2; }

  Reaction begin() override {
    Reaction r;
    r.requests.push_back({Request::hello, "mining.hello",
                          json::object{{"agent", agent},
                                       {"host", settings_.host},
                                       {"port", hex_number(settings_.port)},
                                       {"proto", "EthereumStratum/2.0.0"}}});
    return r;
  }

  Reaction on_reply(Request kind, const Message& reply) override {
    switch (kind) {
      case Request::hello: return on_hello(reply);
      case Request::subscribe: return on_subscribe(reply);
      case Request::authorize: {
        Reaction r;
        if (reply.error || !reply.result.is_string()) {
          r.verdict = Reaction::Verdict::user_refused;
          if (reply.error) r.reason = error_text(*reply.error);
          return r;
        }
        token_ = std::string(reply.result.get_string());
        if (auto& memory = settings_.es2_resume) memory->token = token_;
        r.verdict = Reaction::Verdict::authorized;
        return r;
      }
      default: return {};
    }
  }

  std::optional<Reaction> on_method(const Message& m) override {
    Reaction r;
    if (m.method == "mining.set") apply(decode_es2_set(m.params));
    else if (m.method == "mining.notify") r.job = job_from_notice(decode_es2_notify(m.params), next_, settings_.pool);
    else if (m.method == "mining.bye") {
      // A session ended by bye cannot be resumed.
      if (auto& memory = settings_.es2_resume) *memory = {};
      r = {Reaction::Verdict::goodbye, "the pool said goodbye (mining.bye)", {}, {}};
    } else if (m.method != "mining.hashrate") return std::nullopt;  // the pool's view of our rate: informational
    return r;
  }

  Outgoing submit(const Share& share, const NonceSpace& job_nonces) const override {
    return {Request::submit, "mining.submit",
            json::array{json::string(share.job_id), json::string(job_nonces.miner_part_hex(share.nonce)), json::string(token_)}};
  }

  ShareResult read_submit_reply(const Message& reply, std::chrono::milliseconds round_trip) const override {
    if (reply.error) {
      ShareResult r = classify_rejection(*reply.error, round_trip);
      if (r.outcome == ShareOutcome::rejected && accepted_with_remark(reply.error->code)) r.outcome = ShareOutcome::accepted;
      return r;
    }
    return share_verdict(reply.result.is_null() || reply.result == json::value(true), reply, round_trip);
  }

  Outgoing hashrate_report(double hashes_per_second) const override {
    return {Request::hashrate, "mining.hashrate",
            json::array{json::string(hex_number(static_cast<std::uint64_t>(hashes_per_second))), json::string(token_)}};
  }

  std::optional<Outgoing> keepalive(Clock::duration quiet) const override {
    if (server_timeout_.count() == 0 || quiet < server_timeout_ / 2) return std::nullopt;
    return Outgoing{Request::noop, "mining.noop", nullptr};
  }

  std::uint64_t max_request_id() const noexcept override { return max_id; }

 private:
  static Reaction refused(std::string why) { return {Reaction::Verdict::wrong_dialect, std::move(why), {}, {}}; }

  Reaction on_hello(const Message& reply) {
    if (reply.error) return refused("mining.hello refused: " + error_text(*reply.error));
    if (!reply.result.is_object()) throw ProtocolError("mining.hello result is not an object");
    const auto& o = reply.result.get_object();
    const auto* proto = o.if_contains("proto");
    if (!proto || !proto->is_string() || proto->get_string() != "EthereumStratum/2.0.0")
      return refused("the pool does not speak EthereumStratum/2.0.0");
    if (const auto* enc = o.if_contains("encoding"); enc && enc->is_string() && enc->get_string() != "plain")
      return refused("the pool requires " + printable(enc->get_string()) + " encoding, which dagminer does not support");
    // Any number may come: held to a day (keepalives every 12 h at the most), so that it always
    // fits a duration.
    if (const auto* t = o.if_contains("timeout"))
      server_timeout_ = std::chrono::seconds(std::min<std::uint64_t>(decode_hex_number(*t, "timeout"), max_server_timeout));
    const auto* resume = o.if_contains("resume");
    const bool resumes = resume && (*resume == json::value(true) || *resume == json::value("1"));
    const auto& memory = settings_.es2_resume;
    resuming_ = resumes && memory && !memory->session.empty() && !memory->token.empty() ? memory->session : std::string();
    Reaction r;
    r.requests.push_back({Request::subscribe, "mining.subscribe",
                          resuming_.empty() ? json::value(nullptr) : json::value(json::string(resuming_))});
    return r;
  }

  // The answer is the session id: the one asked for when the pool resumed the session (then the
  // worker stays authorized and the extranonce and settings stay in force), else a new one.
  Reaction on_subscribe(const Message& reply) {
    if (reply.error) return refused("mining.subscribe refused: " + error_text(*reply.error));
    const std::string session = reply.result.is_string() ? std::string(reply.result.get_string()) : std::string();
    auto& memory = settings_.es2_resume;
    Reaction r;
    if (!resuming_.empty() && session == resuming_) {
      token_ = memory->token;
      next_ = memory->next;
      r.verdict = Reaction::Verdict::authorized;
      r.reason = "resumed session " + printable(session);
      return r;
    }
    if (memory) *memory = {session, {}, next_};
    r.requests.push_back(
        {Request::authorize, "mining.authorize", json::array{json::string(settings_.login), json::string(settings_.password)}});
    return r;
  }

  void apply(const Es2Settings& s) {
    if (s.algo) next_.algo = *s.algo;
    if (s.epoch) next_.epoch = *s.epoch;
    if (s.target) next_.target = *s.target;
    if (s.nonces) next_.nonces = *s.nonces;
    if (auto& memory = settings_.es2_resume) memory->next = next_;
  }

  DialectSettings settings_;
  NextJob next_;
  std::string resuming_;                   // the session id asked for in mining.subscribe, if any
  std::string token_;                      // mining.authorize's result, sent with every share
  std::chrono::seconds server_timeout_{};  // mining.hello: the pool drops miners silent this long
};

}  // namespace

std::unique_ptr<Dialect> make_ethereum_stratum_2(const DialectSettings& settings) {
  return std::make_unique<EthereumStratum2>(settings);
}

}  // namespace dagminer::stratum
