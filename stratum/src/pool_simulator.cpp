#include "dagminer/stratum/pool_simulator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/core/light_cache_store.hpp"
#include "dagminer/stratum/protocol.hpp"
#include "transport.hpp"

namespace dagminer::stratum {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

struct FaultName {
  Fault fault;
  const char* name;
  bool has_duration;
};
constexpr FaultName fault_names[] = {
    {Fault::drop_connections, "drop", false},     {Fault::pause_listening, "pause", true},
    {Fault::malformed_line, "malformed", false},  {Fault::overlong_line, "overlong", false},
    {Fault::delay_replies, "delay", true},        {Fault::reject_all, "reject", true},
    {Fault::reuse_job_ids, "reuse-ids", true},    {Fault::request_reconnect, "reconnect", false},
    {Fault::go_silent, "silent", true},
};

const RpcError unauthorized{24, "Unauthorized worker"};
const RpcError job_not_found{21, "Job not found"};
const RpcError duplicate_share{22, "Duplicate share"};
const RpcError low_difficulty{23, "Low difficulty share"};

std::string scheme_of(PoolProtocol d) {
  switch (d) {
    case PoolProtocol::ethproxy: return "stratum1";
    case PoolProtocol::ethereum_stratum_1: return "stratum2";
    case PoolProtocol::ethereum_stratum_2: return "stratum3";
    default: return "stratum";
  }
}

}  // namespace

const char* to_string(Fault fault) noexcept {
  for (const auto& f : fault_names)
    if (f.fault == fault) return f.name;
  return "unknown";
}

std::optional<Fault> parse_fault(std::string_view name) noexcept {
  for (const auto& f : fault_names)
    if (name == f.name) return f.fault;
  return std::nullopt;
}

bool fault_has_duration(Fault fault) noexcept {
  for (const auto& f : fault_names)
    if (f.fault == fault) return f.has_duration;
  return false;
}

class PoolSimulator::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, SimulatorConfig config)
      : executor_(io.get_executor()), config_(std::move(config)), acceptor_(executor_), random_(std::random_device{}()) {
    if (!std::isfinite(config_.difficulty) || config_.difficulty <= 0) throw std::runtime_error("difficulty must be positive");
    if (!config_.first_extranonce.empty()) {
      const auto bytes = parse_hex(config_.first_extranonce);
      if (!bytes || bytes->size() > 3) throw std::runtime_error("first extranonce must be hex of at most 3 bytes");
      config_.extranonce_bytes = bytes->size();
      for (auto b : *bytes) extranonce_base_ = extranonce_base_ << 8 | b;
    } else if (config_.extranonce_bytes > 3) {
      throw std::runtime_error("extranonce size must be 0 to 3 bytes");
    } else {
      extranonce_base_ = 1;
    }
    if (config_.tls_cert.empty() != config_.tls_key.empty()) throw std::runtime_error("TLS needs both a certificate and a key");
    if (!config_.tls_cert.empty()) {
      tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
      boost::system::error_code ec;
      tls_->use_certificate_chain_file(config_.tls_cert, ec);
      if (ec) throw std::runtime_error("cannot use TLS certificate " + config_.tls_cert + ": " + ec.message());
      tls_->use_private_key_file(config_.tls_key, asio::ssl::context::pem, ec);
      if (ec) throw std::runtime_error("cannot use TLS key " + config_.tls_key + ": " + ec.message());
      fingerprint_ = certificate_fingerprint(config_.tls_cert);
    }
    cache_ = config_.cache;
    if (!cache_) {
      if (config_.light_cache_dir.empty()) cache_ = std::make_shared<LightCache>(build_light_cache(config_.algo, config_.epoch));
      else cache_ = LightCacheStore(config_.light_cache_dir).get(config_.algo, config_.epoch).cache;
    }
    if (cache_->algo != config_.algo || cache_->epoch != config_.epoch)
      throw std::runtime_error("the light cache given is not that of the configured algorithm and epoch");
    enter_epoch(config_.epoch, cache_);
    endpoint_ = tcp::endpoint(asio::ip::make_address(config_.address), config_.port);
    listen();
    next_job_content(std::nullopt, std::nullopt, true);
  }

  void start() {
    asio::co_spawn(executor_, accept_loop(shared_from_this()), asio::detached);
    if (config_.job_interval.count() > 0)
      repeat(config_.job_interval, [](Impl& sim) { sim.new_job(std::nullopt, std::nullopt, true); });
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& t : timers_) t->cancel();
    for (auto& [id, s] : sessions_) s->transport->close();
  }

  std::uint16_t port() const noexcept { return endpoint_.port(); }
  std::string url() const {
    std::string host = endpoint_.address().to_string();
    if (endpoint_.address().is_v6()) host = '[' + host + ']';
    return scheme_of(config_.dialect) + (tls_ ? "+tls://" : "+tcp://") + host + ":" + std::to_string(port());
  }
  const std::string& fingerprint() const noexcept { return fingerprint_; }
  std::shared_ptr<const LightCache> light_cache() const noexcept { return cache_; }

  void new_job(std::optional<std::string> id, std::optional<Hash256> header, bool clean) {
    next_job_content(std::move(id), header, clean);
    for (auto& [sid, s] : sessions_)
      if (s->open() && s->stats.authorized && !active(silent_until_)) send_job(*s);
  }

  void set_epoch(int epoch, std::shared_ptr<const LightCache> cache) {
    const std::string wanted = std::string(dagminer::to_string(config_.algo)) + " epoch " + std::to_string(epoch);
    if (epoch < 0 || epoch > max_epoch) throw std::invalid_argument("set_epoch: " + wanted + " is out of range");
    if (!cache) throw std::invalid_argument("set_epoch: no light cache given for " + wanted);
    if (cache->algo != config_.algo || cache->epoch != epoch)
      throw std::invalid_argument("set_epoch: the light cache is that of " + std::string(dagminer::to_string(cache->algo)) + " epoch " +
                                  std::to_string(cache->epoch) + ", not of " + wanted);
    enter_epoch(epoch, std::move(cache));
    // send_job announces the epoch to EthereumStratum/2.0.0 sessions before the job.
    new_job(std::nullopt, std::nullopt, true);
  }

  int epoch() const noexcept { return epoch_; }
  const std::string& job_id() const noexcept { return current_.id; }

  void set_difficulty(double difficulty) {
    if (!std::isfinite(difficulty) || difficulty <= 0) throw std::invalid_argument("difficulty must be positive");
    difficulty_ = difficulty;
    for (auto& [id, s] : sessions_) {
      if (!s->open() || !s->stats.authorized) continue;
      s->next_target = target_from_difficulty(difficulty);
      if (s->dialect() == PoolProtocol::ethereum_stratum_1) notify(*s, "mining.set_difficulty", json::array{difficulty});
      if (s->dialect() == PoolProtocol::ethereum_stratum_2) notify(*s, "mining.set", json::object{{"target", to_hex(s->next_target)}});
    }
  }

  void change_extranonces() {
    for (auto& [id, s] : sessions_) {
      if (!s->open() || s->dialect() == PoolProtocol::ethproxy) continue;
      assign_extranonce(*s);
      if (s->dialect() == PoolProtocol::ethereum_stratum_1) notify(*s, "mining.set_extranonce", json::array{json::string(s->stats.extranonce)});
      if (s->dialect() == PoolProtocol::ethereum_stratum_2) notify(*s, "mining.set", json::object{{"extranonce", s->stats.extranonce}});
    }
  }

  void inject(Fault fault, std::chrono::milliseconds duration) {
    spdlog::info("poolsim {}: fault {}{}", config_.name, to_string(fault),
                 fault_has_duration(fault) ? " for " + std::to_string(duration.count()) + " ms" : std::string());
    const auto until = Clock::now() + duration;
    switch (fault) {
      case Fault::drop_connections:
        for (auto& [id, s] : sessions_) s->transport->close();
        break;
      case Fault::pause_listening: pause(duration); break;
      case Fault::malformed_line: broadcast_raw("{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"broken\n"); break;
      case Fault::overlong_line:
        broadcast_raw("{\"id\":null,\"method\":\"client.show_message\",\"params\":[\"" + std::string(max_line_bytes + 4096, 'x') + "\"]}\n");
        break;
      case Fault::delay_replies:
        delay_until_ = until;
        reply_delay_ = duration;
        break;
      case Fault::reject_all: reject_until_ = until; break;
      case Fault::reuse_job_ids: reuse_until_ = until; break;
      case Fault::request_reconnect:
        for (auto& [id, s] : sessions_) {
          if (!s->open()) continue;
          if (s->dialect() == PoolProtocol::ethereum_stratum_2)
            notify(*s, "mining.reconnect", json::object{{"host", config_.address}, {"port", hex_number(port())}, {"resume", "0"}});
          else notify(*s, "client.reconnect", json::array{json::string(config_.address), port(), 0});
        }
        break;
      case Fault::go_silent: silent_until_ = until; break;
    }
  }

  void schedule(const FaultSchedule& s) {
    if (s.every.count() <= 0) throw std::invalid_argument("a fault schedule needs a positive period");
    repeat(s.every, [s](Impl& sim) { sim.inject(s.fault, s.duration); });
  }

  std::vector<SessionStats> sessions() const {
    std::vector<SessionStats> out;
    for (const auto& [id, s] : sessions_) out.push_back(s->stats);
    return out;
  }

  SessionStats totals() const {
    SessionStats t;
    t.open = false;
    for (const auto& [id, s] : sessions_) {
      const auto& x = s->stats;
      t.open = t.open || x.open;
      t.authorized = t.authorized || x.authorized;
      t.jobs += x.jobs;
      t.accepted += x.accepted;
      t.stale += x.stale;
      t.duplicate += x.duplicate;
      t.low_difficulty += x.low_difficulty;
      t.unauthorized += x.unauthorized;
      t.invalid += x.invalid;
      if (x.open) t.hashrate += x.hashrate;
    }
    return t;
  }

  std::string summary() const {
    std::string out = "poolsim " + config_.name + ": " + std::to_string(sessions_.size()) + (sessions_.size() == 1 ? " session, " : " sessions, ") +
                      std::string(dagminer::to_string(config_.algo)) + " epoch " + std::to_string(epoch_) + "\n";
    auto line = [](const SessionStats& s) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "accepted %llu, stale %llu, duplicate %llu, low difficulty %llu, unauthorized %llu, invalid %llu",
                    static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.stale),
                    static_cast<unsigned long long>(s.duplicate), static_cast<unsigned long long>(s.low_difficulty),
                    static_cast<unsigned long long>(s.unauthorized), static_cast<unsigned long long>(s.invalid));
      return std::string(buf);
    };
    for (const auto& [id, s] : sessions_) {
      const auto& x = s->stats;
      out += "  session " + std::to_string(id) + " " + x.peer + " " + to_string(x.dialect) + " extranonce '" + x.extranonce +
             "' worker '" + x.worker + "' jobs " + std::to_string(x.jobs) + ": " + line(x) + (x.open ? " (open)" : "") + "\n";
    }
    out += "  total: " + line(totals()) + "\n";
    return out;
  }

 private:
  struct SessionJob {
    std::string id;
    Hash256 header{};
    Target target{};
    NonceSpace nonces;
    std::shared_ptr<const LightCache> cache;  // of the job's epoch
    bool valid = true;
  };
  struct Session {
    SessionStats stats;
    std::shared_ptr<Transport> transport;
    std::shared_ptr<Outbox> outbox;
    NonceSpace next_nonces;  // apply to the next job
    Target next_target{};
    std::string token;       // EthereumStratum/2.0.0 worker token
    int announced_epoch = -1;  // EthereumStratum/2.0.0: the epoch last sent in mining.set
    std::deque<SessionJob> jobs;
    std::set<std::pair<std::string, std::uint64_t>> submitted;  // (header hex, nonce)

    PoolProtocol dialect() const noexcept { return stats.dialect; }
    bool open() const noexcept { return stats.open; }
  };
  struct CurrentJob {
    std::string id;
    Hash256 header{};
    bool clean = true;
  };

  static bool active(Clock::time_point until) { return Clock::now() < until; }

  void listen() {
    acceptor_.open(endpoint_.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    boost::system::error_code ec;
    acceptor_.bind(endpoint_, ec);
    if (ec) {
      acceptor_.close();
      throw std::runtime_error("cannot listen on " + config_.address + ":" + std::to_string(endpoint_.port()) + ": " + ec.message());
    }
    acceptor_.listen();
    endpoint_ = acceptor_.local_endpoint();
  }

  void pause(std::chrono::milliseconds duration) {
    boost::system::error_code ec;
    acceptor_.close(ec);
    paused_until_ = std::max(paused_until_, Clock::now() + duration);
    auto timer = std::make_shared<asio::steady_timer>(executor_, duration);
    timers_.push_back(timer);
    timer->async_wait([self = shared_from_this(), timer](const boost::system::error_code& wait_ec) {
      std::erase(self->timers_, timer);
      // Overlapping pauses: the one that ends last reopens.
      if (wait_ec || self->stopped_ || Clock::now() < self->paused_until_) return;
      try {
        self->listen();
        asio::co_spawn(self->executor_, accept_loop(self), asio::detached);
      } catch (const std::exception& e) {
        spdlog::error("poolsim {}: cannot listen again: {}", self->config_.name, e.what());
      }
    });
  }

  template <class Action>
  void repeat(std::chrono::milliseconds every, Action action) {
    auto timer = std::make_shared<asio::steady_timer>(executor_);
    timers_.push_back(timer);
    asio::co_spawn(
        executor_,
        [](std::shared_ptr<Impl> self, std::shared_ptr<asio::steady_timer> t, std::chrono::milliseconds period, Action act) -> awaitable<void> {
          while (!self->stopped_) {
            t->expires_after(period);
            boost::system::error_code ec;
            co_await t->async_wait(asio::redirect_error(use_awaitable, ec));
            if (ec || self->stopped_) co_return;
            act(*self);
          }
        }(shared_from_this(), timer, every, std::move(action)),
        asio::detached);
  }

  // Later jobs carry this epoch's seed and block heights.
  void enter_epoch(int epoch, std::shared_ptr<const LightCache> cache) {
    epoch_ = epoch;
    cache_ = std::move(cache);
    seed_ = seed_of_epoch(config_.algo, epoch);
    height_ = static_cast<std::uint64_t>(epoch) * (config_.algo == Algorithm::etchash ? etchash_epoch_length : ethash_epoch_length);
  }

  void next_job_content(std::optional<std::string> id, std::optional<Hash256> header, bool clean) {
    ++height_;
    char text[17];
    if (id) current_.id = std::move(*id);
    else if (!active(reuse_until_) || current_.id.empty()) {
      std::snprintf(text, sizeof text, "%08llx", static_cast<unsigned long long>(++job_counter_));
      current_.id = text;
    }
    if (header) current_.header = *header;
    else
      for (auto& b : current_.header) b = static_cast<std::uint8_t>(random_());
    current_.clean = clean;
  }

  void assign_extranonce(Session& s) {
    const std::size_t bytes = config_.extranonce_bytes;
    std::uint8_t prefix[3]{};
    const std::uint64_t value = extranonce_base_ + extranonce_counter_++;
    for (std::size_t i = 0; i < bytes; ++i) prefix[i] = static_cast<std::uint8_t>(value >> (8 * (bytes - 1 - i)));
    s.next_nonces = *NonceSpace::from_extranonce(std::span<const std::uint8_t>(prefix, bytes));
    s.stats.extranonce = to_hex(std::span<const std::uint8_t>(prefix, bytes));
  }

  // --- sessions ---

  static awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
    while (!self->stopped_ && self->acceptor_.is_open()) {
      auto [ec, socket] = co_await self->acceptor_.async_accept(asio::as_tuple(use_awaitable));
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) co_return;
      if (ec) continue;
      asio::co_spawn(self->executor_, serve(self, std::move(socket)), asio::detached);
    }
  }

  static awaitable<void> serve(std::shared_ptr<Impl> self, tcp::socket socket) {
    auto s = std::make_shared<Session>();
    s->stats.id = ++self->session_counter_;
    s->transport = std::make_shared<Transport>(std::move(socket), self->tls_);
    s->transport->set_keepalive();
    s->outbox = std::make_shared<Outbox>(s->transport, [t = std::weak_ptr<Transport>(s->transport)](const std::string&) {
      if (auto transport = t.lock()) transport->close();
    });
    s->stats.peer = s->transport->peer();
    s->next_target = target_from_difficulty(self->difficulty_);
    self->assign_extranonce(*s);
    self->sessions_[s->stats.id] = s;
    spdlog::info("poolsim {}: session {} from {}", self->config_.name, s->stats.id, s->stats.peer);
    std::string why = "closed by the miner";
    try {
      co_await s->transport->accept();
      LineFramer framer;
      std::array<char, 16 * 1024> buffer;
      while (s->transport->is_open()) {
        const std::size_t n = co_await s->transport->read_some(asio::buffer(buffer));
        framer.append(std::string_view(buffer.data(), n));
        while (auto event = framer.next()) {
          if (event->kind == LineFramer::Event::overlong) throw std::runtime_error("over-long line from the miner");
          self->handle(*s, event->text);
        }
      }
    } catch (const boost::system::system_error& e) {
      why = s->transport->describe(e.code());
    } catch (const std::exception& e) {
      why = e.what();
    }
    s->transport->close();
    s->stats.open = false;
    spdlog::info("poolsim {}: session {} ended: {}", self->config_.name, s->stats.id, why);
  }

  void handle(Session& s, const std::string& line) {
    if (active(silent_until_)) return;
    Message m;
    try {
      m = decode_message(line);
    } catch (const ProtocolError& e) {
      spdlog::warn("poolsim {}: session {}: {}", config_.name, s.stats.id, e.what());
      return;
    }
    if (m.is_response()) return;
    if (s.dialect() == PoolProtocol::automatic) {
      PoolProtocol spoken = PoolProtocol::ethproxy;
      if (m.method == "mining.hello") spoken = PoolProtocol::ethereum_stratum_2;
      else if (m.method == "mining.subscribe") spoken = PoolProtocol::ethereum_stratum_1;
      if (config_.dialect != PoolProtocol::automatic && spoken != config_.dialect)
        return reply(s, PoolProtocol::ethereum_stratum_1, m.id, false, RpcError{20, std::string("this pool speaks ") + to_string(config_.dialect)});
      s.stats.dialect = spoken;
    }
    try {
      switch (s.dialect()) {
        case PoolProtocol::ethproxy: return handle_ethproxy(s, m);
        case PoolProtocol::ethereum_stratum_2: return handle_es2(s, m);
        default: return handle_es1(s, m);
      }
    } catch (const std::exception& e) {
      reply(s, s.dialect(), m.id, false, RpcError{20, std::string("bad request: ") + e.what()});
    }
  }

  static const json::array& params_of(const Message& m, std::size_t count) {
    if (!m.params.is_array() || m.params.get_array().size() < count)
      throw ProtocolError(m.method + " needs " + std::to_string(count) + " parameters");
    return m.params.get_array();
  }
  static std::string text(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : json::serialize(v); }

  bool authorize(Session& s, const std::string& worker) {
    if (active(reject_until_)) return false;
    s.stats.authorized = true;
    s.stats.worker = worker;
    return true;
  }

  void handle_es1(Session& s, const Message& m) {
    if (m.method == "mining.subscribe") {
      const json::array result{json::array{"mining.notify", hex_number(s.stats.id), "EthereumStratum/1.0.0"},
                               json::string(s.stats.extranonce)};
      return reply(s, s.dialect(), m.id, result, std::nullopt);
    }
    if (m.method == "mining.extranonce.subscribe") return reply(s, s.dialect(), m.id, true, std::nullopt);
    if (m.method == "mining.authorize") {
      if (!authorize(s, text(params_of(m, 1)[0]))) return reply(s, s.dialect(), m.id, false, unauthorized);
      reply(s, s.dialect(), m.id, true, std::nullopt);
      notify(s, "mining.set_difficulty", json::array{difficulty_});
      return send_job(s);
    }
    if (m.method == "mining.submit") {
      const auto& p = params_of(m, 3);
      const auto error = check_share(s, text(p[0]), text(p[1]), nullptr, text(p[2]), nullptr);
      return reply(s, s.dialect(), m.id, !error, error);
    }
    if (m.method == "eth_submitHashrate") return hashrate(s, m, params_of(m, 1)[0]);
    reply(s, s.dialect(), m.id, false, RpcError{20, "unknown method " + m.method});
  }

  void handle_ethproxy(Session& s, const Message& m) {
    if (m.method == "eth_submitLogin") {
      if (!authorize(s, text(params_of(m, 1)[0]))) return reply(s, s.dialect(), m.id, false, unauthorized);
      return reply(s, s.dialect(), m.id, true, std::nullopt);
    }
    if (m.method == "eth_getWork") {
      if (!s.stats.authorized) return reply(s, s.dialect(), m.id, false, unauthorized);
      return reply(s, s.dialect(), m.id, record_job(s, false), std::nullopt);
    }
    if (m.method == "eth_submitWork") {
      const auto& p = params_of(m, 3);
      const auto header = parse_hex_array<32>(text(p[1]));
      const auto mix = parse_hex_array<32>(text(p[2]));
      if (!header || !mix) return reply(s, s.dialect(), m.id, false, RpcError{20, "malformed header or mix hash"});
      const auto error = check_share(s, s.stats.worker, {}, &*header, text(p[0]), &*mix);
      return reply(s, s.dialect(), m.id, !error, error);
    }
    if (m.method == "eth_submitHashrate") return hashrate(s, m, params_of(m, 1)[0]);
    reply(s, s.dialect(), m.id, false, RpcError{20, "unknown method " + m.method});
  }

  void handle_es2(Session& s, const Message& m) {
    if (m.method == "mining.hello") {
      const json::object result{{"proto", "EthereumStratum/2.0.0"}, {"encoding", "plain"}, {"resume", "0"},
                                {"timeout", "b4"},                  {"maxerrors", "5"},    {"node", "dagminer-poolsim"}};
      return reply(s, s.dialect(), m.id, result, std::nullopt);
    }
    if (m.method == "mining.subscribe") return reply(s, s.dialect(), m.id, json::string("s-" + hex_number(s.stats.id)), std::nullopt);
    if (m.method == "mining.authorize") {
      if (!authorize(s, text(params_of(m, 1)[0]))) return reply(s, s.dialect(), m.id, nullptr, unauthorized);
      s.token = "w-" + hex_number(s.stats.id);
      reply(s, s.dialect(), m.id, json::string(s.token), std::nullopt);
      s.announced_epoch = epoch_;
      notify(s, "mining.set",
             json::object{{"epoch", hex_number(static_cast<std::uint64_t>(epoch_))},
                          {"target", to_hex(s.next_target)},
                          {"algo", dagminer::to_string(config_.algo)},
                          {"extranonce", s.stats.extranonce}});
      return send_job(s);
    }
    if (m.method == "mining.submit") {
      const auto& p = params_of(m, 3);
      const std::string worker = text(p[2]) == s.token ? s.stats.worker : std::string();
      const auto error = check_share(s, worker, text(p[0]), nullptr, text(p[1]), nullptr);
      return reply(s, s.dialect(), m.id, nullptr, error);
    }
    if (m.method == "mining.hashrate") return hashrate(s, m, params_of(m, 1)[0]);
    if (m.method == "mining.noop") return reply(s, s.dialect(), m.id, nullptr, std::nullopt);
    reply(s, s.dialect(), m.id, nullptr, RpcError{20, "unknown method " + m.method});
  }

  void hashrate(Session& s, const Message& m, const json::value& rate) {
    if (const auto hex = parse_hex(text(rate)); hex && hex->size() <= 32) {
      double value = 0;
      for (auto b : *hex) value = value * 256 + b;
      s.stats.hashrate = value;
    } else if (const auto n = parse_hex_u64(text(rate))) {
      s.stats.hashrate = static_cast<double>(*n);  // EIP-1571 writes minimal hex, maybe odd-length
    }
    reply(s, s.dialect(), m.id, s.dialect() == PoolProtocol::ethereum_stratum_2 ? json::value(nullptr) : json::value(true), std::nullopt);
  }

  // A share: the job by id (or by header for EthProxy), the nonce from the session's extranonce
  // and the miner's part, then the light hashimoto against the job's target.
  std::optional<RpcError> check_share(Session& s, const std::string& worker, const std::string& job_id, const Hash256* header,
                                      const std::string& nonce_hex, const Hash256* mix) {
    if (active(reject_until_) || !s.stats.authorized || worker != s.stats.worker) {
      ++s.stats.unauthorized;
      return unauthorized;
    }
    const SessionJob* job = nullptr;
    for (auto it = s.jobs.rbegin(); it != s.jobs.rend() && !job; ++it)
      if (header ? it->header == *header : it->id == job_id) job = &*it;
    if (!job || !job->valid) {
      ++s.stats.stale;
      return job_not_found;
    }
    std::uint64_t nonce = 0;
    if (header) {  // EthProxy: the full nonce, 0x and 16 digits
      const auto n = parse_hex_u64(nonce_hex);
      if (!n) return invalid(s, "malformed nonce");
      nonce = *n;
    } else {
      const auto n = parse_hex_u64(nonce_hex);
      if (!n || nonce_hex.size() != 2 * (8 - job->nonces.extranonce_bytes()))
        return invalid(s, "the nonce must be " + std::to_string(2 * (8 - job->nonces.extranonce_bytes())) + " hex digits");
      nonce = job->nonces.compose(*n);
    }
    if (!s.submitted.insert({to_hex(job->header), nonce}).second) {
      ++s.stats.duplicate;
      return duplicate_share;
    }
    const HashResult hash = hashimoto_light(*job->cache, job->header, nonce);
    if (mix && *mix != hash.mix_hash) return invalid(s, "mix hash does not match");
    if (!meets_target(hash.final_hash, job->target)) {
      ++s.stats.low_difficulty;
      return low_difficulty;
    }
    ++s.stats.accepted;
    spdlog::debug("poolsim {}: session {} share accepted (job {}, nonce {})", config_.name, s.stats.id, job->id, to_hex_u64(nonce));
    return std::nullopt;
  }

  std::optional<RpcError> invalid(Session& s, std::string why) {
    ++s.stats.invalid;
    return RpcError{20, std::move(why)};
  }

  // Records the current job for the session with the difficulty and extranonce now in force;
  // returns its EthProxy work array.
  json::array record_job(Session& s, bool clean) {
    if (clean)
      for (auto& j : s.jobs) j.valid = false;
    s.jobs.push_back({current_.id, current_.header, s.next_target, s.next_nonces, cache_, true});
    while (s.jobs.size() > 16) s.jobs.pop_front();
    ++s.stats.jobs;
    return json::array{json::string("0x" + to_hex(current_.header)), json::string("0x" + to_hex(seed_)),
                       json::string("0x" + to_hex(s.next_target)), json::string("0x" + hex_number(height_))};
  }

  void send_job(Session& s) {
    const bool clean = current_.clean || s.jobs.empty();
    switch (s.dialect()) {
      case PoolProtocol::ethproxy: {
        const json::array work = record_job(s, clean);
        s.outbox->send(response_line(PoolProtocol::ethproxy, 0, work, std::nullopt));
        break;
      }
      case PoolProtocol::ethereum_stratum_2:
        if (s.announced_epoch != epoch_) {  // EIP-1571 jobs carry no seed: the epoch comes first
          s.announced_epoch = epoch_;
          notify(s, "mining.set", json::object{{"epoch", hex_number(static_cast<std::uint64_t>(epoch_))}});
        }
        record_job(s, clean);
        notify(s, "mining.notify",
               json::array{json::string(current_.id), json::string(hex_number(height_)), json::string(to_hex(current_.header)),
                           clean ? "1" : "0"});
        break;
      default:
        record_job(s, clean);
        notify(s, "mining.notify",
               json::array{json::string(current_.id), json::string(to_hex(seed_)), json::string(to_hex(current_.header)), clean});
        break;
    }
  }

  void notify(Session& s, std::string_view method, const json::value& params) {
    s.outbox->send(notification_line(s.dialect(), method, params));
  }

  void reply(Session& s, PoolProtocol dialect, const json::value& id, const json::value& result, const std::optional<RpcError>& error) {
    std::string line = response_line(dialect, id, result, error);
    if (!active(delay_until_)) return s.outbox->send(std::move(line));
    auto timer = std::make_shared<asio::steady_timer>(executor_, reply_delay_);
    timer->async_wait([timer, outbox = s.outbox, line = std::move(line)](const boost::system::error_code& ec) mutable {
      if (!ec) outbox->send(std::move(line));
    });
  }

  void broadcast_raw(const std::string& line) {
    for (auto& [id, s] : sessions_)
      if (s->open()) s->outbox->send(line);
  }

  asio::any_io_executor executor_;
  SimulatorConfig config_;
  tcp::acceptor acceptor_;
  tcp::endpoint endpoint_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::string fingerprint_;
  std::shared_ptr<const LightCache> cache_;  // of epoch_, for the next job
  int epoch_ = 0;
  Hash256 seed_{};
  std::mt19937_64 random_;
  bool stopped_ = false;
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;

  double difficulty_ = config_.difficulty;
  CurrentJob current_;
  std::uint64_t height_ = 0;
  std::uint64_t job_counter_ = 0;
  std::uint64_t extranonce_base_ = 0;
  std::uint64_t extranonce_counter_ = 0;
  std::uint64_t session_counter_ = 0;
  std::map<std::uint64_t, std::shared_ptr<Session>> sessions_;

  Clock::time_point delay_until_{}, reject_until_{}, reuse_until_{}, silent_until_{}, paused_until_{};
  std::chrono::milliseconds reply_delay_{0};
};

PoolSimulator::PoolSimulator(asio::io_context& io, SimulatorConfig config)
    : impl_(std::make_shared<Impl>(io, std::move(config))) {
  impl_->start();
}
PoolSimulator::~PoolSimulator() { impl_->stop(); }

std::uint16_t PoolSimulator::port() const noexcept { return impl_->port(); }
std::string PoolSimulator::url() const { return impl_->url(); }
std::string PoolSimulator::fingerprint() const { return impl_->fingerprint(); }
std::shared_ptr<const LightCache> PoolSimulator::light_cache() const noexcept { return impl_->light_cache(); }
void PoolSimulator::stop() { impl_->stop(); }
void PoolSimulator::new_job(bool clean) { impl_->new_job(std::nullopt, std::nullopt, clean); }
void PoolSimulator::push_job(std::string id, const Hash256& header, bool clean) { impl_->new_job(std::move(id), header, clean); }
void PoolSimulator::set_difficulty(double difficulty) { impl_->set_difficulty(difficulty); }
void PoolSimulator::change_extranonces() { impl_->change_extranonces(); }
void PoolSimulator::set_epoch(int epoch, std::shared_ptr<const LightCache> cache) { impl_->set_epoch(epoch, std::move(cache)); }
int PoolSimulator::epoch() const noexcept { return impl_->epoch(); }
std::string PoolSimulator::job_id() const { return impl_->job_id(); }
void PoolSimulator::inject(Fault fault, std::chrono::milliseconds duration) { impl_->inject(fault, duration); }
void PoolSimulator::schedule(const FaultSchedule& schedule) { impl_->schedule(schedule); }
std::vector<SessionStats> PoolSimulator::sessions() const { return impl_->sessions(); }
SessionStats PoolSimulator::totals() const { return impl_->totals(); }
std::string PoolSimulator::summary() const { return impl_->summary(); }

}  // namespace dagminer::stratum
