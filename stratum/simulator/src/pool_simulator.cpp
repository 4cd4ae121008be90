// The simulator itself: listening and sessions, the pool's work (jobs, epoch, difficulty,
// extranonces), its policy (authorization, share checks, reply delays) and fault injection. What
// is said on the wire is each dialect's server side's business (dialect_server.hpp).
#include "dagminer/stratum/pool_simulator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/core/light_cache_store.hpp"
#include "dagminer/stratum/error_codes.hpp"
#include "dialect_server.hpp"
#include "faults.hpp"
#include "report.hpp"
#include "server_tls.hpp"

namespace dagminer::stratum {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

class PoolSimulator::Impl final : public std::enable_shared_from_this<Impl>, private PoolServices {
 public:
  Impl(asio::io_context& io, SimulatorConfig config)
      : executor_(io.get_executor()), config_(std::move(config)), acceptor_(executor_), random_(std::random_device{}()) {
    if (!std::isfinite(config_.difficulty) || config_.difficulty <= 0) throw std::runtime_error("difficulty must be positive");
    extranonce_base_ = first_extranonce(config_);
    tls_ = make_server_tls(config_.tls_cert, config_.tls_key);
    auto cache = config_.cache ? config_.cache : load_light_cache(config_);
    if (cache->algo != config_.algo || cache->epoch != config_.epoch)
      throw std::runtime_error("the light cache given is not that of the configured algorithm and epoch");
    work_.algo = config_.algo;
    work_.difficulty = config_.difficulty;
    enter_epoch(config_.epoch, std::move(cache));
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
  std::string url() const { return simulator_url(config_.dialect, tls_.context != nullptr, endpoint_.address(), port()); }
  const std::string& fingerprint() const noexcept { return tls_.fingerprint; }
  std::shared_ptr<const LightCache> light_cache() const noexcept { return work_.cache; }

  void new_job(std::optional<std::string> id, std::optional<Hash256> header, bool clean) {
    next_job_content(std::move(id), header, clean);
    for (auto& [sid, s] : sessions_)
      if (s->open() && s->stats.authorized && !fault_active(Fault::go_silent)) server_of(*s).send_job(*s);
  }

  void set_epoch(int epoch, std::shared_ptr<const LightCache> cache) {
    const std::string wanted = std::string(dagminer::to_string(config_.algo)) + " epoch " + std::to_string(epoch);
    if (epoch < 0 || epoch > max_epoch) throw std::invalid_argument("set_epoch: " + wanted + " is out of range");
    if (!cache) throw std::invalid_argument("set_epoch: no light cache given for " + wanted);
    if (cache->algo != config_.algo || cache->epoch != epoch)
      throw std::invalid_argument("set_epoch: the light cache is that of " + std::string(dagminer::to_string(cache->algo)) +
                                  " epoch " + std::to_string(cache->epoch) + ", not of " + wanted);
    enter_epoch(epoch, std::move(cache));
    // send_job announces the epoch to EthereumStratum/2.0.0 sessions before the job.
    new_job(std::nullopt, std::nullopt, true);
  }

  int epoch() const noexcept { return work_.epoch; }
  const std::string& job_id() const noexcept { return work_.job_id; }

  void set_difficulty(double difficulty) {
    if (!std::isfinite(difficulty) || difficulty <= 0) throw std::invalid_argument("difficulty must be positive");
    work_.difficulty = difficulty;
    for (auto& [id, s] : sessions_) {
      if (!s->open() || !s->stats.authorized) continue;
      s->next_target = target_from_difficulty(difficulty);
      server_of(*s).announce_difficulty(*s);
    }
  }

  void change_extranonces() {
    for (auto& [id, s] : sessions_) {
      if (!s->open() || s->dialect() == PoolProtocol::ethproxy) continue;  // EthProxy miners own the whole nonce
      assign_extranonce(*s);
      // A miner that has not spoken yet learns its extranonce when it subscribes.
      if (s->dialect() != PoolProtocol::automatic) server_of(*s).announce_extranonce(*s);
    }
  }

  void inject(Fault fault, std::chrono::milliseconds duration) {
    spdlog::info("poolsim {}: fault {}{}", config_.name, to_string(fault),
                 fault_has_duration(fault) ? " for " + std::to_string(duration.count()) + " ms" : std::string());
    switch (fault) {
      case Fault::drop_connections:
        for (auto& [id, s] : sessions_) s->transport->close();
        break;
      case Fault::pause_listening: pause(duration); break;
      case Fault::malformed_line: broadcast_raw(malformed_line()); break;
      case Fault::overlong_line: broadcast_raw(overlong_line()); break;
      case Fault::request_reconnect:
        for (auto& [id, s] : sessions_)
          if (s->open()) server_of(*s).request_reconnect(*s, config_.address, port());
        break;
      case Fault::delay_replies:
      case Fault::reject_all:
      case Fault::reuse_job_ids:
      case Fault::go_silent: faults_.open(fault, Clock::now(), duration); break;
    }
  }

  void schedule(const FaultSchedule& s) {
    if (s.every.count() <= 0) throw std::invalid_argument("a fault schedule needs a positive period");
    repeat(s.every, [s](Impl& sim) { sim.inject(s.fault, s.duration); });
  }

  std::vector<SessionStats> sessions() const {
    std::vector<SessionStats> out = ended_;
    for (const auto& [id, s] : sessions_) out.push_back(s->stats);
    std::sort(out.begin(), out.end(), [](const SessionStats& a, const SessionStats& b) { return a.id < b.id; });
    return out;
  }
  SessionStats totals() const { return sum_sessions(sessions()); }
  std::string summary() const { return format_summary(config_.name, config_.algo, work_.epoch, sessions()); }

 private:
  // --- What the dialects ask of the pool ---

  const PoolWork& work() const override { return work_; }

  bool authorize(MinerSession& s, const std::string& worker) override {
    if (fault_active(Fault::reject_all)) return false;
    s.stats.authorized = true;
    s.stats.worker = worker;
    return true;
  }

  std::optional<RpcError> check_share(MinerSession& s, const std::string& worker, const Submission& share) override {
    if (fault_active(Fault::reject_all) || !s.stats.authorized || worker != s.stats.worker) {
      ++s.stats.unauthorized;
      return unauthorized_error();
    }
    const ShareCheck check = s.jobs.check(share);
    count_share(s.stats, check.verdict);
    if (check.verdict == ShareVerdict::accepted)
      spdlog::debug("poolsim {}: session {} share accepted (job {}, nonce {})", config_.name, s.stats.id, check.job_id,
                    to_hex_u64(check.nonce));
    return rejection(check);
  }

  void reply(MinerSession& s, const json::value& id, const json::value& result, const std::optional<RpcError>& error) override {
    answer(s, s.dialect(), id, result, error);
  }

  // --- Setting up ---

  // The first session's extranonce as a number (later sessions count up from it); a given
  // extranonce sets the size.
  static std::uint64_t first_extranonce(SimulatorConfig& config) {
    if (config.first_extranonce.empty()) {
      if (config.extranonce_bytes > 3) throw std::runtime_error("extranonce size must be 0 to 3 bytes");
      return 1;
    }
    const auto bytes = parse_hex(config.first_extranonce);
    if (!bytes || bytes->size() > 3) throw std::runtime_error("first extranonce must be hex of at most 3 bytes");
    config.extranonce_bytes = bytes->size();
    std::uint64_t value = 0;
    for (auto b : *bytes) value = value << 8 | b;
    return value;
  }

  static std::shared_ptr<const LightCache> load_light_cache(const SimulatorConfig& config) {
    if (config.light_cache_dir.empty()) return std::make_shared<LightCache>(build_light_cache(config.algo, config.epoch));
    return LightCacheStore(config.light_cache_dir).get(config.algo, config.epoch).cache;
  }

  // --- Listening and sessions ---

  bool fault_active(Fault fault) const { return faults_.active(fault, Clock::now()); }

  // A session that has not spoken yet is addressed as EthereumStratum/1.0.0 (JSON-RPC 1.0 lines).
  DialectServer& server_of(const MinerSession& s) const {
    switch (s.dialect()) {
      case PoolProtocol::ethproxy: return *ethproxy_;
      case PoolProtocol::ethereum_stratum_2: return *es2_;
      default: return *es1_;
    }
  }

  void listen() { endpoint_ = listen_on(acceptor_, endpoint_); }

  void pause(std::chrono::milliseconds duration) {
    boost::system::error_code ec;
    acceptor_.close(ec);
    faults_.open(Fault::pause_listening, Clock::now(), duration);
    auto timer = std::make_shared<asio::steady_timer>(executor_, duration);
    timers_.push_back(timer);
    timer->async_wait([self = shared_from_this(), timer](const boost::system::error_code& wait_ec) {
      std::erase(self->timers_, timer);
      // Overlapping pauses: the one that ends last reopens.
      if (wait_ec || self->stopped_ || self->fault_active(Fault::pause_listening)) return;
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
        [](std::shared_ptr<Impl> self, std::shared_ptr<asio::steady_timer> t, std::chrono::milliseconds period,
           Action act) -> awaitable<void> {
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
    work_.epoch = epoch;
    work_.cache = std::move(cache);
    work_.seed = seed_of_epoch(config_.algo, epoch);
    work_.height =
        static_cast<std::uint64_t>(epoch) * (config_.algo == Algorithm::etchash ? etchash_epoch_length : ethash_epoch_length);
  }

  void next_job_content(std::optional<std::string> id, std::optional<Hash256> header, bool clean) {
    ++work_.height;
    char text[17];
    if (id) work_.job_id = std::move(*id);
    else if (!fault_active(Fault::reuse_job_ids) || work_.job_id.empty()) {
      std::snprintf(text, sizeof text, "%08llx", static_cast<unsigned long long>(++job_counter_));
      work_.job_id = text;
    }
    if (header) work_.header = *header;
    else
      for (auto& b : work_.header) b = static_cast<std::uint8_t>(random_());
    work_.clean = clean;
  }

  void assign_extranonce(MinerSession& s) {
    const std::size_t bytes = config_.extranonce_bytes;
    std::uint8_t prefix[3]{};
    const std::uint64_t value = extranonce_base_ + extranonce_counter_++;
    for (std::size_t i = 0; i < bytes; ++i) prefix[i] = static_cast<std::uint8_t>(value >> (8 * (bytes - 1 - i)));
    s.next_nonces = *NonceSpace::from_extranonce(std::span<const std::uint8_t>(prefix, bytes));
    s.stats.extranonce = to_hex(std::span<const std::uint8_t>(prefix, bytes));
  }

  static awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
    while (!self->stopped_ && self->acceptor_.is_open()) {
      auto [ec, socket] = co_await self->acceptor_.async_accept(asio::as_tuple(use_awaitable));
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) co_return;
      if (ec) continue;
      asio::co_spawn(self->executor_, serve(self, std::move(socket)), asio::detached);
    }
  }

  static awaitable<void> serve(std::shared_ptr<Impl> self, tcp::socket socket) {
    auto s = std::make_shared<MinerSession>();
    s->stats.id = ++self->session_counter_;
    s->transport = std::make_shared<Transport>(std::move(socket), self->tls_.context);
    s->transport->set_keepalive();
    s->outbox = std::make_shared<Outbox>(s->transport, [t = std::weak_ptr<Transport>(s->transport)](const std::string&) {
      if (auto transport = t.lock()) transport->close();
    });
    s->stats.peer = s->transport->peer();
    s->next_target = target_from_difficulty(self->work_.difficulty);
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
    // Its numbers stay for the summary; its connection and the shares it sent go (a long run
    // with miners reconnecting would keep every one).
    self->ended_.push_back(s->stats);
    self->sessions_.erase(s->stats.id);
  }

  // A line from the miner: its first request fixes the session's dialect.
  void handle(MinerSession& s, const std::string& line) {
    if (fault_active(Fault::go_silent)) return;
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
        return answer(s, PoolProtocol::ethereum_stratum_1, m.id, false,
                      RpcError{code(StratumError::other), std::string("this pool speaks ") + to_string(config_.dialect)});
      s.stats.dialect = spoken;
    }
    try {
      server_of(s).handle(s, m);
    } catch (const std::exception& e) {
      answer(s, s.dialect(), m.id, false, RpcError{code(StratumError::other), std::string("bad request: ") + e.what()});
    }
  }

  // Replies go out at once, or late while delay_replies holds.
  void answer(MinerSession& s, PoolProtocol dialect, const json::value& id, const json::value& result,
              const std::optional<RpcError>& error) {
    std::string line = response_line(dialect, id, result, error);
    if (!fault_active(Fault::delay_replies)) return s.outbox->send(std::move(line));
    auto timer = std::make_shared<asio::steady_timer>(executor_, faults_.reply_delay());
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
  ServerTls tls_;
  PoolWork work_;  // the current job, with the epoch, difficulty and cache it goes out with
  std::mt19937_64 random_;
  bool stopped_ = false;
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;
  FaultWindows faults_;

  std::uint64_t job_counter_ = 0;
  std::uint64_t extranonce_base_ = 0;
  std::uint64_t extranonce_counter_ = 0;
  std::uint64_t session_counter_ = 0;
  std::map<std::uint64_t, std::shared_ptr<MinerSession>> sessions_;  // open
  std::vector<SessionStats> ended_;                                  // in the order they ended

  std::unique_ptr<DialectServer> ethproxy_ = make_ethproxy_server(*this);
  std::unique_ptr<DialectServer> es1_ = make_es1_server(*this);
  std::unique_ptr<DialectServer> es2_ = make_es2_server(*this, config_.es2_resume);
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
