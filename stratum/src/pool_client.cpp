// PoolClient: the connection life of one pool. Connect (TCP, TLS), run one Session over the
// connection while its watchdog enforces the deadlines, back off, reconnect; shares between
// connections wait in the PoolJobs. What is said on a connection is the Session's and its
// Dialect's business.
#include "dagminer/stratum/pool_client.hpp"

#include <algorithm>
#include <array>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/stratum/protocol.hpp"
#include "getwork_source.hpp"
#include "job_source_state.hpp"
#include "pool_jobs.hpp"
#include "session.hpp"
#include "transport.hpp"

namespace dagminer::stratum {
namespace asio = boost::asio;
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

// A connection that lasted this long with a job was a working one: the next failure backs off
// from backoff.initial again.
constexpr auto stable_connection = std::chrono::seconds(60);

// How often the watchdog looks at the session's deadlines: a fraction of the shortest timeout.
std::chrono::milliseconds watchdog_period(const PoolConfig& config) {
  const auto shortest =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::min(config.response_timeout, config.job_timeout));
  return std::clamp<std::chrono::milliseconds>(shortest / 4, std::chrono::milliseconds(20), std::chrono::milliseconds(1000));
}

DialectSettings dialect_settings(const PoolConfig& config, const PoolUrl& url, std::mt19937_64& random) {
  DialectSettings s;
  s.pool = config.name;
  s.login = config.worker.empty() ? config.user : config.user + "." + config.worker;
  s.password = config.password;
  s.host = url.host;
  s.port = url.port;
  s.algo = config.algo;
  for (auto& byte : s.client_id) byte = static_cast<std::uint8_t>(random());
  s.es2_resume = std::make_shared<Es2Resume>();
  return s;
}

class PoolClientState final : public JobSourceHandle::State,
                              public std::enable_shared_from_this<PoolClientState>,
                              private SessionOwner {
 public:
  PoolClientState(asio::any_io_executor executor, PoolConfig config, Callbacks callbacks)
      : executor_(std::move(executor)),
        config_(std::move(config)),
        url_(parse_pool_url(config_.url)),
        callbacks_(std::move(callbacks)),
        resolver_(executor_),
        retry_timer_(executor_),
        random_(std::random_device{}()),
        settings_(dialect_settings(config_, url_, random_)),
        protocol_(url_.protocol) {
    if (protocol_ == PoolProtocol::getwork) throw std::invalid_argument("a getwork URL is a node's, not a Stratum pool's");
    if (!config_.tls.fingerprint.empty()) {
      const auto pin = parse_sha256_fingerprint(config_.tls.fingerprint);
      if (!pin) throw std::invalid_argument("tls.fingerprint must be a SHA-256 (64 hex digits, ':' allowed)");
      pin_ = *pin;
    }
  }

  void start() override {
    stopped_ = false;
    if (running_) return;  // a loop still unwinding from stop() carries on
    running_ = true;
    asio::co_spawn(executor_, run(shared_from_this()), asio::detached);
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    retry_timer_.cancel();
    if (session_) session_->stop();
    for (auto& held : jobs_.drop_held())
      report(held.share_id, {ShareOutcome::stale, 0, "client stopped while the pool was disconnected", {}});
    if (state_ != ConnectionState::disconnected) set_state(ConnectionState::disconnected, "stopped");
  }

  void drop_callbacks() override { callbacks_ = {}; }

  std::uint64_t submit(const Share& share) override {
    const std::uint64_t id = next_share_id_++;
    const bool connected = session_ && session_->has_job() && connection_open();
    // Between connections a share is held if its job was valid when the connection ended.
    if (const PoolJobs::Entry* job = connected ? jobs_.find(share.job_id, share.header) : nullptr)
      session_->submit(id, share, *job);
    else if (!connected && jobs_.hold(id, share))
      spdlog::info("pool {}: holding share for job {} until the pool is back", config_.name, share.job_id);
    else report(id, {ShareOutcome::stale, 0, "job " + share.job_id + " is no longer current", {}});
    return id;
  }

  bool holds(std::uint64_t share_id) const noexcept override { return jobs_.holds(share_id); }
  void set_hashrate(double hs) override { hashrate_ = std::max(0.0, hs); }

  const PoolConfig& config() const noexcept override { return config_; }
  ConnectionState state() const noexcept override { return state_; }
  bool alive() const noexcept override {
    return state_ == ConnectionState::authorized && session_ && session_->has_job() && connection_open();
  }
  PoolProtocol protocol() const noexcept override { return protocol_; }
  std::optional<std::chrono::milliseconds> latency() const noexcept override {
    return session_ ? session_->latency() : std::nullopt;
  }
  JobSourceCounters counters() const noexcept override { return counters_; }

 private:
  bool connection_open() const noexcept { return transport_ && transport_->is_open(); }
  SessionOwner& owner() noexcept { return *this; }

  // --- SessionOwner; callbacks are always posted, so none runs inside a call into the client ---

  void write(std::string line) override {
    if (outbox_) outbox_->send(std::move(line));
  }

  void close() override {
    resolver_.cancel();
    if (transport_) transport_->close();
  }

  void publish(Job job) override {
    asio::post(executor_, [self = shared_from_this(), job = std::move(job)]() mutable {
      if (self->callbacks_.on_job) self->callbacks_.on_job(std::move(job));
    });
  }

  void report(std::uint64_t id, ShareResult result) override {
    asio::post(executor_, [self = shared_from_this(), id, result = std::move(result)] {
      if (self->callbacks_.on_share_result) self->callbacks_.on_share_result(id, result);
    });
  }

  void set_state(ConnectionState state, std::string reason) override {
    state_ = state;
    asio::post(executor_, [self = shared_from_this(), state, reason = std::move(reason)] {
      if (self->callbacks_.on_state) self->callbacks_.on_state(state, reason);
    });
  }

  void authorized(PoolProtocol spoken) override {
    if (protocol_ == PoolProtocol::automatic) {
      spdlog::info("pool {}: speaks {}", config_.name, to_string(spoken));
      protocol_ = spoken;  // later connections speak it from the start
    }
    set_state(ConnectionState::authorized, settings_.login);
  }

  // --- connection life ---

  // Connect, serve, back off, repeat until stopped.
  static awaitable<void> run(std::shared_ptr<PoolClientState> self) {
    unsigned failures = 0;
    std::optional<Redirect> redirect;
    while (!self->stopped_) {
      const std::string host = redirect ? redirect->host : self->url_.host;
      const std::uint16_t port = redirect ? redirect->port : self->url_.port;
      const auto began = Clock::now();
      const Session::End end = co_await self->serve(host, port);  // `self` keeps this alive
      const bool lasted = Clock::now() - began >= stable_connection;
      if (self->stopped_) break;
      ++self->counters_.reconnects;
      // An automatic dialect that reached the pool and got no answer at all, or was refused as the
      // wrong one, tries the other one next time. A pool not reached (refused, no route, DNS)
      // says nothing of its dialect.
      if (self->protocol_ == PoolProtocol::automatic && end.reached && (!end.answered || end.wrong_dialect))
        self->ethproxy_first_ = !self->ethproxy_first_;
      redirect = end.redirect;

      std::chrono::milliseconds delay;
      if (end.user_refused) {
        delay = self->config_.backoff.max;  // a refusal will not change in a few seconds
      } else {
        // Only a connection that mined for a while starts the backoff afresh: a pool that sends a
        // job, or asks to reconnect, and then drops every connection at once is backed off from
        // like one that refuses them.
        failures = end.got_job && lasted ? 1 : failures + 1;
        delay = backoff_delay(self->config_.backoff, failures, std::uniform_real_distribution<double>(0, 1)(self->random_));
        if (end.redirect) delay = std::max(delay, end.redirect->wait);  // its wait is capped at backoff.max by the session
      }
      spdlog::info("pool {}: reconnecting in {} ms", self->config_.name, delay.count());
      self->retry_timer_.expires_after(delay);
      boost::system::error_code ec;
      co_await self->retry_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    self->running_ = false;
  }

  // The dialect a new connection starts in.
  PoolProtocol next_dialect() const noexcept {
    if (protocol_ != PoolProtocol::automatic) return protocol_;
    return ethproxy_first_ ? PoolProtocol::ethproxy : PoolProtocol::ethereum_stratum_1;
  }

  // One connection, from resolving to its end, with its watchdog beside it. (Not awaited as
  // `conversation || watchdog`: built with GCC 12 and Boost 1.81, the watchdog's timer was not
  // cancelled when the conversation ended, and the connection never ended.)
  awaitable<Session::End> serve(std::string host, std::uint16_t port) {
    DialectSettings settings = settings_;
    settings.may_fall_back = protocol_ == PoolProtocol::automatic;
    settings.ethproxy_guessed = settings.may_fall_back && ethproxy_first_;
    auto session =
        std::make_shared<Session>(config_, make_dialect(next_dialect(), settings), settings, owner(), jobs_, counters_);
    session_ = session;
    set_state(ConnectionState::connecting, host + ":" + std::to_string(port));
    auto transport = std::make_shared<Transport>(executor_, url_.tls);
    transport_ = transport;
    outbox_ = std::make_shared<Outbox>(transport, [weak = std::weak_ptr<Session>(session)](const std::string& why) {
      if (auto s = weak.lock()) s->fail(why);
    });
    asio::co_spawn(executor_, watchdog(shared_from_this(), session), asio::detached);
    try {
      co_await converse(*transport, *session, host, port);
    } catch (const boost::system::system_error& e) {
      session->fail(transport->describe(e.code()));
    } catch (const std::exception& e) {
      session->fail(e.what());
    }
    transport->close();
    Session::End end = session->finish();
    if (!stopped_ && !end.user_refused) {  // a refusal was reported as auth_failed
      spdlog::warn("pool {}: disconnected: {}", config_.name, end.reason);
      set_state(ConnectionState::disconnected, end.reason);
    }
    co_return end;
  }

  // Resolving, connecting, TLS, then the session's lines until it closes.
  awaitable<void> converse(Transport& transport, Session& session, std::string host, std::uint16_t port) {
    const std::string service = std::to_string(port);
    const auto endpoints = co_await resolver_.async_resolve(host, service, use_awaitable);
    co_await asio::async_connect(transport.socket(), endpoints, use_awaitable);
    transport.set_keepalive();
    if (url_.tls) {
      const std::string name = config_.tls.server_name.empty() ? host : config_.tls.server_name;
      const TlsPolicy policy{config_.tls.verify, config_.tls.ca_file, pin_, name};
      co_await transport.handshake(policy);
    }
    spdlog::info("pool {}: connected to {}:{}{}", config_.name, host, port, url_.tls ? " (TLS)" : "");
    set_state(ConnectionState::connected, transport.peer());
    session.connected();
    LineFramer framer;
    std::array<char, 16 * 1024> buffer;
    while (!session.closed()) {
      const std::size_t n = co_await transport.read_some(asio::buffer(buffer));
      const auto read_at = Clock::now();
      framer.append(std::string_view(buffer.data(), n));
      for (auto event = framer.next(); event && !session.closed(); event = framer.next()) {
        if (event->kind == LineFramer::Event::overlong) session.on_overlong_line();
        else session.on_line(event->text, read_at);
      }
    }
  }

  // The session's deadlines (connecting, unanswered requests, no job) and periodic requests. A
  // deadline missed closes the session, which closes the transport and so ends the conversation;
  // the watchdog ends at its next look after the session has closed, whoever closed it.
  static awaitable<void> watchdog(std::shared_ptr<PoolClientState> self, std::shared_ptr<Session> session) {
    asio::steady_timer timer(self->executor_);
    const auto period = watchdog_period(self->config_);
    while (!session->closed()) {
      timer.expires_after(period);
      co_await timer.async_wait(use_awaitable);
      session->tick(Clock::now(), self->hashrate_);
    }
  }

  asio::any_io_executor executor_;
  PoolConfig config_;
  PoolUrl url_;
  Callbacks callbacks_;
  std::string pin_;  // normalised SHA-256 fingerprint, or empty
  tcp::resolver resolver_;
  asio::steady_timer retry_timer_;
  std::mt19937_64 random_;
  DialectSettings settings_;

  bool running_ = false;         // the connect loop is alive (it may still be unwinding after stop())
  bool stopped_ = false;         // stop() was called and start() not since
  PoolProtocol protocol_;        // configured, or detected once the pool authorized us
  bool ethproxy_first_ = false;  // automatic: the next connection tries EthProxy first
  ConnectionState state_ = ConnectionState::disconnected;
  JobSourceCounters counters_;
  PoolJobs jobs_;

  // The current (or last) connection.
  std::shared_ptr<Session> session_;
  std::shared_ptr<Transport> transport_;
  std::shared_ptr<Outbox> outbox_;

  std::uint64_t next_share_id_ = 1;
  double hashrate_ = 0;
};

}  // namespace

PoolClient::PoolClient(asio::io_context& io, PoolConfig config, Callbacks callbacks)
    : PoolClient(io.get_executor(), std::move(config), std::move(callbacks)) {}

PoolClient::PoolClient(asio::any_io_executor executor, PoolConfig config, Callbacks callbacks)
    : JobSourceHandle(make_source_state<PoolClientState>(std::move(executor), std::move(config), std::move(callbacks))) {}

std::unique_ptr<JobSource> make_job_source(boost::asio::any_io_executor executor, PoolConfig config,
                                           JobSource::Callbacks callbacks) {
  PoolUrl url;
  try {
    url = parse_pool_url(config.url);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("pool " + config.name + ": " + e.what());
  }
  if (url.protocol == PoolProtocol::getwork)
    return std::make_unique<GetworkSource>(std::move(executor), std::move(config), std::move(callbacks));
  return std::make_unique<PoolClient>(std::move(executor), std::move(config), std::move(callbacks));
}

}  // namespace dagminer::stratum
