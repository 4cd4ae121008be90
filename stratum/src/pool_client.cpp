#include "dagminer/stratum/pool_client.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/protocol.hpp"
#include "transport.hpp"

namespace dagminer::stratum {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

const char* to_string(ConnectionState state) noexcept {
  switch (state) {
    case ConnectionState::connecting: return "connecting";
    case ConnectionState::connected: return "connected";
    case ConnectionState::authorized: return "authorized";
    case ConnectionState::disconnected: return "disconnected";
    case ConnectionState::auth_failed: return "authorization failed";
  }
  return "unknown";
}

namespace {

constexpr const char* agent = "dagminer/0.1";
constexpr std::size_t jobs_kept = 32;  // valid jobs of the connection (pools keep a few)
constexpr int handshake_rounds = 3;    // response timeouts allowed from connecting to authorized

enum class Request { hello, subscribe, extranonce_subscribe, authorize, login, get_work, submit, hashrate, noop };

const char* to_string(Request r) {
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

// Replies some pools never send: their absence is not a sign of a dead pool.
bool optional_reply(Request r) { return r == Request::hashrate || r == Request::extranonce_subscribe; }

// A line as logged: without its newline, and at most 200 characters.
std::string clip(std::string_view line) {
  constexpr std::size_t shown = 200;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line.size() <= shown ? std::string(line) : std::string(line.substr(0, shown)) + "...";
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

ShareResult classify_rejection(PoolProtocol dialect, const RpcError& e, std::chrono::milliseconds rtt) {
  const std::string text = lower(e.message);
  const bool stale = e.code == 21 || e.code == 202 || text.find("stale") != std::string::npos ||
                     text.find("job not found") != std::string::npos;
  std::string reason = e.message.empty() ? "rejected" : e.message;
  if (e.code != 0) reason += " (code " + std::to_string(e.code) + ")";
  if (stale) return {ShareOutcome::stale, e.code, reason, rtt};
  // EIP-1571: 2xx means accepted, with a remark.
  if (dialect == PoolProtocol::ethereum_stratum_2 && e.code >= 200 && e.code < 300) return {ShareOutcome::accepted, e.code, reason, rtt};
  return {ShareOutcome::rejected, e.code, reason, rtt};
}

}  // namespace

class PoolClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::any_io_executor executor, PoolConfig config, Callbacks callbacks)
      : executor_(std::move(executor)),
        config_(std::move(config)),
        url_(parse_pool_url(config_.url)),
        callbacks_(std::move(callbacks)),
        resolver_(executor_),
        retry_timer_(executor_),
        random_(std::random_device{}()) {
    if (!config_.tls.fingerprint.empty()) {
      const auto pin = parse_sha256_fingerprint(config_.tls.fingerprint);
      if (!pin) throw std::invalid_argument("tls.fingerprint must be a SHA-256 (64 hex digits, ':' allowed)");
      pin_ = *pin;
    }
    dialect_ = url_.protocol;
    for (auto& byte : client_id_) byte = static_cast<std::uint8_t>(random_());
  }

  void start() {
    stopped_ = false;
    if (running_) return;  // a loop still unwinding from stop() carries on
    running_ = true;
    asio::co_spawn(executor_, run(shared_from_this()), asio::detached);
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    retry_timer_.cancel();
    fail("stopped");
    for (auto& [id, p] : pending_)
      if (p.kind == Request::submit) report(p.share_id, {ShareOutcome::timed_out, 0, "client stopped before the pool answered", elapsed(p.sent)});
    pending_.clear();
    for (auto& h : held_) report(h.id, {ShareOutcome::stale, 0, "client stopped while the pool was disconnected", {}});
    held_.clear();
    if (state_ != ConnectionState::disconnected) set_state(ConnectionState::disconnected, "stopped");
  }

  void drop_callbacks() { callbacks_ = {}; }

  std::uint64_t submit(const Share& share) {
    const std::uint64_t id = next_share_id_++;
    const KnownJob* job = find_job(jobs_, share.job_id, share.header);
    if (session_has_job_ && connection_open()) {
      if (!job) {
        report(id, {ShareOutcome::stale, 0, "job " + share.job_id + " is no longer current", {}});
        return id;
      }
      send_share(id, share, *job);
      return id;
    }
    // Between connections: hold the share if its job was valid when the connection ended.
    if (!job && !find_job(previous_jobs_, share.job_id, share.header)) {
      report(id, {ShareOutcome::stale, 0, "job " + share.job_id + " is no longer current", {}});
      return id;
    }
    spdlog::info("pool {}: holding share for job {} until the pool is back", config_.name, share.job_id);
    held_.push_back({id, share});
    return id;
  }

  void set_hashrate(double hs) { hashrate_ = std::max(0.0, hs); }

  const PoolConfig& config() const noexcept { return config_; }
  ConnectionState state() const noexcept { return state_; }
  bool alive() const noexcept { return state_ == ConnectionState::authorized && session_has_job_ && connection_open(); }
  PoolProtocol dialect() const noexcept { return dialect_; }
  std::optional<std::chrono::milliseconds> latency() const noexcept { return latency_; }
  JobSourceCounters counters() const noexcept { return counters_; }

 private:
  struct KnownJob {
    std::string id;
    Hash256 header{};
    NonceSpace nonces;
  };
  struct Pending {
    Request kind;
    Clock::time_point sent;
    std::uint64_t share_id = 0;
  };
  struct Held {
    std::uint64_t id;
    Share share;
  };
  struct Endpoint {
    std::string host;
    std::uint16_t port;
  };

  static const KnownJob* find_job(const std::deque<KnownJob>& jobs, const std::string& id, const Hash256& header) {
    for (const auto& j : jobs)
      if (j.id == id && j.header == header) return &j;
    return nullptr;
  }

  static std::chrono::milliseconds elapsed(Clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since);
  }

  bool connection_open() const noexcept { return transport_ && transport_->is_open(); }

  std::string login() const { return config_.worker.empty() ? config_.user : config_.user + "." + config_.worker; }

  // --- callbacks: always posted, so none runs inside a call into the client ---

  void report(std::uint64_t id, ShareResult result) {
    asio::post(executor_, [self = shared_from_this(), id, result = std::move(result)] {
      if (self->callbacks_.on_share_result) self->callbacks_.on_share_result(id, result);
    });
  }

  void set_state(ConnectionState state, std::string reason) {
    state_ = state;
    asio::post(executor_, [self = shared_from_this(), state, reason = std::move(reason)] {
      if (self->callbacks_.on_state) self->callbacks_.on_state(state, reason);
    });
  }

  // --- connection life ---

  // Connect, serve, back off, repeat until stopped.
  static awaitable<void> run(std::shared_ptr<Impl> self) {
    unsigned failures = 0;
    while (!self->stopped_) {
      Endpoint target{self->url_.host, self->url_.port};
      if (self->redirect_) target = *std::exchange(self->redirect_, std::nullopt);
      co_await self->serve(target);  // `self` keeps this alive
      if (self->stopped_) break;
      ++self->counters_.reconnects;

      std::chrono::milliseconds delay;
      if (self->auth_refused_) {
        delay = self->config_.backoff.max;  // a refusal will not change in a few seconds
      } else if (self->reconnect_wait_) {
        delay = std::max<std::chrono::milliseconds>(*std::exchange(self->reconnect_wait_, std::nullopt), self->config_.backoff.initial);
        failures = 0;
      } else {
        failures = self->session_had_job_ ? 1 : failures + 1;
        delay = backoff_delay(self->config_.backoff, failures, std::uniform_real_distribution<double>(0, 1)(self->random_));
      }
      spdlog::info("pool {}: reconnecting in {} ms", self->config_.name, delay.count());
      self->retry_timer_.expires_after(delay);
      boost::system::error_code ec;
      co_await self->retry_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    self->running_ = false;
  }

  // One connection, from resolving to the end of the session. Leaves the reason in fail_reason_.
  awaitable<void> serve(Endpoint target) {
    begin_session();
    const std::uint64_t generation = generation_;
    set_state(ConnectionState::connecting, target.host + ":" + std::to_string(target.port));
    auto transport = std::make_shared<Transport>(executor_, url_.tls);
    transport_ = transport;
    outbox_ = std::make_shared<Outbox>(transport, [weak = weak_from_this(), generation](const std::string& why) {
      if (auto client = weak.lock(); client && client->generation_ == generation) client->fail(why);
    });
    // Resolving, connecting, TLS and the dialect's handshake: a few round trips.
    deadline_ = Clock::now() + handshake_rounds * config_.response_timeout;
    asio::co_spawn(executor_, watchdog(shared_from_this(), generation), asio::detached);
    try {
      // Named locals, not temporaries, in co_await expressions: GCC 12 mis-destroys those.
      const std::string service = std::to_string(target.port);
      const auto endpoints = co_await resolver_.async_resolve(target.host, service, use_awaitable);
      co_await asio::async_connect(transport->socket(), endpoints, use_awaitable);
      transport->set_keepalive();
      if (url_.tls) {
        const std::string name = config_.tls.server_name.empty() ? target.host : config_.tls.server_name;
        const TlsPolicy policy{config_.tls.verify, config_.tls.ca_file, pin_, name};
        co_await transport->handshake(policy);
      }
      spdlog::info("pool {}: connected to {}{}", config_.name, target.host + ":" + std::to_string(target.port), url_.tls ? " (TLS)" : "");
      set_state(ConnectionState::connected, transport->peer());
      begin_handshake();
      co_await read_loop(*transport, generation);
    } catch (const boost::system::system_error& e) {
      fail(transport->describe(e.code()));
    } catch (const std::exception& e) {
      fail(e.what());
    }
    transport->close();
    end_session();
  }

  void begin_session() {
    ++generation_;
    fail_reason_.clear();
    auth_refused_ = false;
    session_had_job_ = false;
    session_has_job_ = false;
    authorized_ = false;
    next_id_ = 1;
    pending_.clear();
    consecutive_errors_ = 0;
    latency_.reset();
    job_deadline_.reset();
    session_dialect_ = dialect_ == PoolProtocol::automatic ? PoolProtocol::ethereum_stratum_1 : dialect_;
    difficulty_target_ = target_from_difficulty(1.0);  // EthereumStratum/1.0.0's default
    next_nonces_ = NonceSpace{};
    es2_epoch_.reset();
    es2_algo_ = config_.algo;
    es2_token_.clear();
    server_timeout_ = {};
  }

  void end_session() {
    const std::string reason = fail_reason_.empty() ? "connection closed by the pool" : fail_reason_;
    for (auto& [id, p] : pending_)
      if (p.kind == Request::submit)
        report(p.share_id, {ShareOutcome::timed_out, 0, "connection lost before the pool answered (" + reason + ")", elapsed(p.sent)});
    pending_.clear();
    // Attempts that never got a job leave the jobs of the last good connection in place.
    if (session_had_job_) previous_jobs_ = std::move(jobs_);
    jobs_.clear();
    session_has_job_ = false;
    // An automatic dialect that got no answer at all tries the other one next time.
    if (dialect_ == PoolProtocol::automatic && !answered_) fallback_to_ethproxy_ = !fallback_to_ethproxy_;
    answered_ = false;
    if (stopped_) return;
    if (auth_refused_) return;  // already reported as auth_failed
    spdlog::warn("pool {}: disconnected: {}", config_.name, reason);
    set_state(ConnectionState::disconnected, reason);
  }

  // Ends the connection; the first reason given is the one reported.
  void fail(const std::string& reason) {
    if (fail_reason_.empty()) fail_reason_ = reason;
    resolver_.cancel();
    if (transport_) transport_->close();
  }

  // Deadlines: connecting, unanswered requests, no job; and the periodic hashrate report.
  static awaitable<void> watchdog(std::shared_ptr<Impl> self, std::uint64_t generation) {
    const auto shortest = std::min(self->config_.response_timeout, self->config_.job_timeout);
    const auto tick = std::clamp<std::chrono::milliseconds>(std::chrono::duration_cast<std::chrono::milliseconds>(shortest) / 4,
                                                            std::chrono::milliseconds(20), std::chrono::milliseconds(1000));
    asio::steady_timer timer(self->executor_);
    while (!self->stopped_ && self->generation_ == generation) {
      timer.expires_after(tick);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
      if (self->stopped_ || self->generation_ != generation) co_return;
      self->check_deadlines();
    }
  }

  void check_deadlines() {
    const auto now = Clock::now();
    if (deadline_ && now > *deadline_) {
      fail("not connected and authorized within " + std::to_string((handshake_rounds * config_.response_timeout).count()) + " s");
      return;
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (now - it->second.sent < config_.response_timeout) {
        ++it;
        continue;
      }
      if (!optional_reply(it->second.kind)) {
        fail(std::string("no reply to ") + to_string(it->second.kind) + " within " + std::to_string(config_.response_timeout.count()) + " s");
        return;
      }
      it = pending_.erase(it);
    }
    if (job_deadline_ && now > *job_deadline_) {
      fail("no new job within " + std::to_string(config_.job_timeout.count()) + " s");
      return;
    }
    if (!authorized_) return;
    if (config_.hashrate_interval.count() > 0 && hashrate_ > 0 && now - last_hashrate_ >= config_.hashrate_interval) {
      last_hashrate_ = now;
      send_hashrate();
    }
    if (server_timeout_.count() > 0 && now - last_sent_ >= server_timeout_ / 2) send(Request::noop, "mining.noop", nullptr);
  }

  // --- writing ---

  std::uint64_t send(Request kind, std::string_view method, json::value params, std::uint64_t share_id = 0) {
    std::uint64_t id = next_id_++;
    if (session_dialect_ == PoolProtocol::ethereum_stratum_2) {
      // EIP-1571 ids are 0..65535.
      id &= 0xffff;
      while (pending_.count(id)) id = (id + 1) & 0xffff;
      next_id_ = id + 1;
    }
    pending_[id] = {kind, Clock::now(), share_id};
    const std::string line = request_line(session_dialect_, id, method, params);
    if (kind == Request::authorize || kind == Request::login) spdlog::trace("pool {}: -> {} (password withheld)", config_.name, method);
    else spdlog::trace("pool {}: -> {}", config_.name, clip(line));
    write(line);
    return id;
  }

  void write(std::string line) {
    last_sent_ = Clock::now();
    if (outbox_) outbox_->send(std::move(line));
  }

  // --- reading ---

  awaitable<void> read_loop(Transport& transport, std::uint64_t generation) {
    LineFramer framer;
    std::array<char, 16 * 1024> buffer;
    while (generation_ == generation) {
      const std::size_t n = co_await transport.read_some(asio::buffer(buffer));
      read_at_ = Clock::now();
      framer.append(std::string_view(buffer.data(), n));
      while (auto event = framer.next()) {
        if (event->kind == LineFramer::Event::overlong) protocol_error("line longer than " + std::to_string(max_line_bytes) + " bytes discarded", "");
        else handle_line(event->text);
        if (generation_ != generation || !fail_reason_.empty()) co_return;
      }
    }
  }

  void protocol_error(const std::string& what, std::string_view line) {
    ++counters_.protocol_errors;
    ++consecutive_errors_;
    if (line.empty()) spdlog::warn("pool {}: protocol error: {}", config_.name, what);
    else spdlog::warn("pool {}: protocol error: {} in: {}", config_.name, what, clip(line));
    if (config_.max_protocol_errors > 0 && consecutive_errors_ >= config_.max_protocol_errors)
      fail(std::to_string(consecutive_errors_) + " protocol errors in a row (last: " + what + ")");
  }

  void handle_line(const std::string& line) {
    spdlog::trace("pool {}: <- {}", config_.name, clip(line));
    try {
      Message m = decode_message(line);
      if (m.is_response()) handle_response(m);
      else handle_method(m);
      consecutive_errors_ = 0;
    } catch (const ProtocolError& e) {
      protocol_error(e.what(), line);
    } catch (const std::exception& e) {
      protocol_error(std::string("unexpected content: ") + e.what(), line);
    }
  }

  void handle_response(const Message& m) {
    const auto id = m.numeric_id();
    const auto it = id ? pending_.find(*id) : pending_.end();
    if (it == pending_.end()) {
      // EthProxy pushes work as a response to nothing.
      if (session_dialect_ == PoolProtocol::ethproxy && looks_like_ethproxy_work(m.result)) return on_work(decode_ethproxy_work(m.result));
      throw ProtocolError("reply to unknown request id " + json::serialize(m.id));
    }
    const Pending p = it->second;
    pending_.erase(it);
    answered_ = true;
    latency_ = elapsed(p.sent);
    switch (p.kind) {
      case Request::hello: return on_hello(m);
      case Request::subscribe: return on_subscribe(m);
      case Request::authorize:
      case Request::login: return on_authorize(m);
      case Request::get_work:
        if (m.error) throw ProtocolError("eth_getWork failed: " + decode_error_text(*m.error));
        if (!m.result.is_null()) on_work(decode_ethproxy_work(m.result));
        return;
      case Request::submit: return on_submit_reply(m, p);
      case Request::extranonce_subscribe:
      case Request::hashrate:
      case Request::noop:
        if (m.error) spdlog::debug("pool {}: {} refused: {}", config_.name, to_string(p.kind), decode_error_text(*m.error));
        return;
    }
  }

  static std::string decode_error_text(const RpcError& e) {
    return e.message + (e.code ? " (code " + std::to_string(e.code) + ")" : "");
  }

  void handle_method(const Message& m) {
    const std::string& method = m.method;
    if (method == "client.reconnect" || method == "mining.reconnect") return on_reconnect(decode_reconnect(m.params));
    if (method == "client.get_version") {
      if (!m.id.is_null()) write(response_line(session_dialect_, m.id, json::string(agent), std::nullopt));
      return;
    }
    if (method == "client.show_message") {
      spdlog::info("pool {}: message from the pool: {}", config_.name, clip(json::serialize(m.params)));
      return;
    }
    switch (session_dialect_) {
      case PoolProtocol::ethereum_stratum_1:
        if (method == "mining.notify") return on_work(decode_es1_notify(m.params));
        if (method == "mining.set_difficulty") {
          difficulty_target_ = target_from_difficulty(decode_es1_difficulty(m.params));
          return;
        }
        if (method == "mining.set_extranonce") {
          next_nonces_ = decode_es1_extranonce(m.params);
          return;
        }
        break;
      case PoolProtocol::ethereum_stratum_2:
        if (method == "mining.set") return on_es2_set(decode_es2_set(m.params));
        if (method == "mining.notify") return on_work(decode_es2_notify(m.params));
        if (method == "mining.bye") return fail("the pool said goodbye (mining.bye)");
        if (method == "mining.hashrate") return;  // the pool's view of our rate; informational
        break;
      default:
        break;
    }
    if (!m.id.is_null())
      write(response_line(session_dialect_, m.id, nullptr, RpcError{-3, "method not found"}));
    throw ProtocolError("unknown method '" + clip(method) + "'");
  }

  // --- handshakes ---

  void begin_handshake() {
    if (dialect_ == PoolProtocol::automatic && fallback_to_ethproxy_) session_dialect_ = PoolProtocol::ethproxy;
    switch (session_dialect_) {
      case PoolProtocol::ethproxy:
        send(Request::login, "eth_submitLogin", json::array{json::string(login()), json::string(config_.password)});
        break;
      case PoolProtocol::ethereum_stratum_2:
        send(Request::hello, "mining.hello",
             json::object{{"agent", agent}, {"host", url_.host}, {"port", hex_number(url_.port)}, {"proto", "EthereumStratum/2.0.0"}});
        break;
      default:
        send(Request::subscribe, "mining.subscribe", json::array{agent, "EthereumStratum/1.0.0"});
        break;
    }
  }

  void on_hello(const Message& m) {
    if (m.error) return refuse_dialect("mining.hello refused: " + decode_error_text(*m.error));
    if (!m.result.is_object()) throw ProtocolError("mining.hello result is not an object");
    const auto& o = m.result.get_object();
    const auto* proto = o.if_contains("proto");
    if (!proto || !proto->is_string() || proto->get_string() != "EthereumStratum/2.0.0")
      return refuse_dialect("the pool does not speak EthereumStratum/2.0.0");
    if (const auto* enc = o.if_contains("encoding"); enc && enc->is_string() && enc->get_string() != "plain")
      return refuse_dialect("the pool requires " + std::string(enc->get_string()) + " encoding, which dagminer does not support");
    if (const auto* t = o.if_contains("timeout")) server_timeout_ = std::chrono::seconds(decode_hex_number(*t, "timeout"));
    send(Request::subscribe, "mining.subscribe", nullptr);
  }

  void refuse_dialect(const std::string& why) {
    spdlog::error("pool {}: {}", config_.name, why);
    fail(why);
  }

  void on_subscribe(const Message& m) {
    if (session_dialect_ == PoolProtocol::ethereum_stratum_2) {
      if (m.error) return refuse_dialect("mining.subscribe refused: " + decode_error_text(*m.error));
      send(Request::authorize, "mining.authorize", json::array{json::string(login()), json::string(config_.password)});
      return;
    }
    bool es1 = !m.error && m.result.is_array();
    Es1Subscription sub;
    if (es1) sub = decode_es1_subscribe_result(m.result);
    if (!es1 || (!sub.protocol.empty() && sub.protocol.rfind("EthereumStratum/1", 0) != 0)) {
      if (dialect_ == PoolProtocol::automatic) {
        spdlog::info("pool {}: not EthereumStratum/1.0.0; trying EthProxy", config_.name);
        session_dialect_ = PoolProtocol::ethproxy;
        send(Request::login, "eth_submitLogin", json::array{json::string(login()), json::string(config_.password)});
        return;
      }
      return refuse_dialect("mining.subscribe refused: " + (m.error ? decode_error_text(*m.error) : "not an EthereumStratum/1.0.0 pool"));
    }
    next_nonces_ = sub.nonces;
    send(Request::extranonce_subscribe, "mining.extranonce.subscribe", json::array());
    send(Request::authorize, "mining.authorize", json::array{json::string(login()), json::string(config_.password)});
  }

  void on_authorize(const Message& m) {
    const bool ok = !m.error && (session_dialect_ == PoolProtocol::ethereum_stratum_2 ? m.result.is_string() : m.result == json::value(true));
    if (!ok) {
      const std::string why = "the pool refused user '" + login() + "'" +
                              (m.error ? ": " + decode_error_text(*m.error) : std::string()) + "; retrying in " +
                              std::to_string(config_.backoff.max.count() / 1000) + " s";
      spdlog::error("pool {}: {}", config_.name, why);
      auth_refused_ = true;
      set_state(ConnectionState::auth_failed, why);
      fail(why);
      return;
    }
    if (dialect_ == PoolProtocol::automatic) spdlog::info("pool {}: speaks {}", config_.name, to_string(session_dialect_));
    dialect_ = dialect_ == PoolProtocol::automatic ? session_dialect_ : dialect_;
    if (session_dialect_ == PoolProtocol::ethereum_stratum_2) es2_token_ = std::string(m.result.get_string());
    authorized_ = true;
    deadline_.reset();
    job_deadline_ = Clock::now() + config_.job_timeout;
    last_hashrate_ = Clock::now();
    set_state(ConnectionState::authorized, login());
    if (session_dialect_ == PoolProtocol::ethproxy) send(Request::get_work, "eth_getWork", json::array());
  }

  void on_es2_set(const Es2Settings& s) {
    if (s.algo) es2_algo_ = *s.algo;
    if (s.epoch) es2_epoch_ = *s.epoch;
    if (s.target) difficulty_target_ = *s.target;
    if (s.nonces) next_nonces_ = *s.nonces;
  }

  void on_reconnect(const ReconnectRequest& r) {
    Endpoint target{r.host.value_or(url_.host), r.port.value_or(url_.port)};
    spdlog::info("pool {}: the pool asks to reconnect to {}:{} in {} s", config_.name, target.host, target.port, r.wait.count());
    redirect_ = target;
    reconnect_wait_ = r.wait;
    fail("the pool asked to reconnect");
  }

  // --- jobs and shares ---

  void on_work(const WorkNotice& w) {
    Job job;
    job.pool = config_.name;
    job.id = w.job_id;
    job.algo = session_dialect_ == PoolProtocol::ethereum_stratum_2 ? es2_algo_ : config_.algo;
    if (w.seed) {
      const auto epoch = epoch_of_seed(job.algo, *w.seed);
      if (!epoch) throw ProtocolError("seed hash " + to_hex(*w.seed) + " is not that of any " + std::string(dagminer::to_string(job.algo)) + " epoch");
      job.seed = *w.seed;
      job.epoch = *epoch;
    } else {
      if (!es2_epoch_) throw ProtocolError("job before mining.set gave the epoch");
      job.epoch = *es2_epoch_;
      job.seed = seed_of_epoch(job.algo, job.epoch);
    }
    job.header = w.header;
    job.target = w.target.value_or(difficulty_target_);
    job.nonces = next_nonces_;
    job.height = w.height;
    job.received = read_at_;  // the job-switch latency starts when its line came off the socket
    // EthProxy repeats the header when only the boundary changes: the old work stays valid.
    job.clean = w.clean && !(session_dialect_ == PoolProtocol::ethproxy && !jobs_.empty() && jobs_.back().header == w.header);

    if (job.clean) jobs_.clear();
    std::erase_if(jobs_, [&](const KnownJob& k) { return k.id == job.id && k.header == job.header; });
    jobs_.push_back({job.id, job.header, job.nonces});
    while (jobs_.size() > jobs_kept) jobs_.pop_front();
    ++counters_.jobs;
    job_deadline_ = Clock::now() + config_.job_timeout;
    const bool first = !session_has_job_;
    session_has_job_ = session_had_job_ = true;
    spdlog::debug("pool {}: job {} epoch {} difficulty {:.6g}{}", config_.name, job.id, job.epoch, difficulty_of(job.target),
                  job.clean ? " (clean)" : "");
    asio::post(executor_, [self = shared_from_this(), job = std::move(job)]() mutable {
      if (self->callbacks_.on_job) self->callbacks_.on_job(std::move(job));
    });
    if (first) release_held();
  }

  // The first job after a reconnect decides the held shares: sent if the pool re-sent their job.
  void release_held() {
    auto held = std::move(held_);
    held_.clear();
    previous_jobs_.clear();
    for (auto& h : held) {
      const KnownJob* job = find_job(jobs_, h.share.job_id, h.share.header);
      if (!job) report(h.id, {ShareOutcome::stale, 0, "job " + h.share.job_id + " was not renewed after the reconnect", {}});
      else send_share(h.id, h.share, *job);
    }
  }

  void send_share(std::uint64_t id, const Share& share, const KnownJob& job) {
    if (!job.nonces.contains(share.nonce)) {
      report(id, {ShareOutcome::stale, 0, "nonce " + to_hex_u64(share.nonce) + " is outside the connection's extranonce (it changed)", {}});
      return;
    }
    json::array params;
    switch (session_dialect_) {
      case PoolProtocol::ethproxy:
        params = {json::string("0x" + to_hex_u64(share.nonce)), json::string("0x" + to_hex(share.header)),
                  json::string("0x" + to_hex(share.mix_hash))};
        send(Request::submit, "eth_submitWork", std::move(params), id);
        break;
      case PoolProtocol::ethereum_stratum_2:
        params = {json::string(share.job_id), json::string(job.nonces.miner_part_hex(share.nonce)), json::string(es2_token_)};
        send(Request::submit, "mining.submit", std::move(params), id);
        break;
      default:
        params = {json::string(login()), json::string(share.job_id), json::string(job.nonces.miner_part_hex(share.nonce))};
        send(Request::submit, "mining.submit", std::move(params), id);
        break;
    }
    ++counters_.shares_sent;
  }

  void on_submit_reply(const Message& m, const Pending& p) {
    const auto rtt = elapsed(p.sent);
    if (m.error) return report(p.share_id, classify_rejection(session_dialect_, *m.error, rtt));
    const bool accepted = session_dialect_ == PoolProtocol::ethereum_stratum_2 ? (m.result.is_null() || m.result == json::value(true))
                                                                          : m.result == json::value(true);
    if (accepted) report(p.share_id, {ShareOutcome::accepted, 0, {}, rtt});
    else report(p.share_id, {ShareOutcome::rejected, 0, "the pool answered " + clip(json::serialize(m.result)), rtt});
  }

  void send_hashrate() {
    if (session_dialect_ == PoolProtocol::ethereum_stratum_2) {
      send(Request::hashrate, "mining.hashrate",
           json::array{json::string(hex_number(static_cast<std::uint64_t>(hashrate_))), json::string(es2_token_)});
      return;
    }
    Hash256 rate{};
    auto value = static_cast<std::uint64_t>(hashrate_);
    for (int i = 31; i >= 24; --i, value >>= 8) rate[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value);
    send(Request::hashrate, "eth_submitHashrate", json::array{json::string("0x" + to_hex(rate)), json::string("0x" + to_hex(client_id_))});
  }

  asio::any_io_executor executor_;
  PoolConfig config_;
  PoolUrl url_;
  Callbacks callbacks_;
  std::string pin_;  // normalised SHA-256 fingerprint, or empty
  tcp::resolver resolver_;
  asio::steady_timer retry_timer_;
  std::mt19937_64 random_;
  Hash256 client_id_{};  // eth_submitHashrate's miner id

  bool running_ = false;
  bool stopped_ = false;
  PoolProtocol dialect_;                       // configured, or detected once the pool authorized us
  bool fallback_to_ethproxy_ = false;     // automatic: the next connection tries EthProxy first
  std::optional<Endpoint> redirect_;      // client.reconnect target for the next connection
  std::optional<std::chrono::milliseconds> reconnect_wait_;
  ConnectionState state_ = ConnectionState::disconnected;
  JobSourceCounters counters_;

  // The current connection.
  std::uint64_t generation_ = 0;
  std::shared_ptr<Transport> transport_;
  PoolProtocol session_dialect_ = PoolProtocol::ethereum_stratum_1;
  std::string fail_reason_;
  bool auth_refused_ = false;
  bool authorized_ = false;
  bool answered_ = false;
  bool session_has_job_ = false;
  bool session_had_job_ = false;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Pending> pending_;
  std::shared_ptr<Outbox> outbox_;
  unsigned consecutive_errors_ = 0;
  std::optional<std::chrono::milliseconds> latency_;
  std::optional<Clock::time_point> deadline_;      // connect + handshake, until authorized
  std::optional<Clock::time_point> job_deadline_;  // authorized: the next job is due
  Clock::time_point last_sent_{};
  Clock::time_point read_at_{};  // when the bytes being handled arrived
  Clock::time_point last_hashrate_{};
  std::chrono::seconds server_timeout_{};  // EIP-1571 hello: the pool drops silent miners after this
  Target difficulty_target_{};             // in force for the next job
  NonceSpace next_nonces_;                 // in force for the next job
  std::optional<int> es2_epoch_;
  Algorithm es2_algo_ = Algorithm::ethash;
  std::string es2_token_;

  std::deque<KnownJob> jobs_;           // valid jobs of this connection, oldest first
  std::deque<KnownJob> previous_jobs_;  // valid when the last connection ended
  std::deque<Held> held_;
  std::uint64_t next_share_id_ = 1;
  double hashrate_ = 0;
};

PoolClient::PoolClient(asio::io_context& io, PoolConfig config, Callbacks callbacks)
    : PoolClient(io.get_executor(), std::move(config), std::move(callbacks)) {}

PoolClient::PoolClient(asio::any_io_executor executor, PoolConfig config, Callbacks callbacks) {
  const std::string name = config.name;
  try {
    impl_ = std::make_shared<Impl>(std::move(executor), std::move(config), std::move(callbacks));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("pool " + name + ": " + e.what());
  }
}

PoolClient::~PoolClient() {
  impl_->drop_callbacks();
  impl_->stop();
}

void PoolClient::start() { impl_->start(); }
void PoolClient::stop() { impl_->stop(); }
std::uint64_t PoolClient::submit(const Share& share) { return impl_->submit(share); }
void PoolClient::set_hashrate(double hs) { impl_->set_hashrate(hs); }
const PoolConfig& PoolClient::config() const noexcept { return impl_->config(); }
ConnectionState PoolClient::state() const noexcept { return impl_->state(); }
bool PoolClient::alive() const noexcept { return impl_->alive(); }
PoolProtocol PoolClient::protocol() const noexcept { return impl_->dialect(); }
std::optional<std::chrono::milliseconds> PoolClient::latency() const noexcept { return impl_->latency(); }
JobSourceCounters PoolClient::counters() const noexcept { return impl_->counters(); }

std::unique_ptr<JobSource> make_job_source(boost::asio::any_io_executor executor, PoolConfig config,
                                           JobSource::Callbacks callbacks) {
  return std::make_unique<PoolClient>(std::move(executor), std::move(config), std::move(callbacks));
}

}  // namespace dagminer::stratum
