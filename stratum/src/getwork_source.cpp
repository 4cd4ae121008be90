// GetworkSource: a node's work over HTTP JSON-RPC. One coroutine polls eth_getWork (and backs off
// while the node fails); submissions and hashrate reports are requests of their own; a listener
// takes the node's --miner.notify POSTs. Requests reuse idle keep-alive connections,
// but for solutions, which go to the node at most once.
#include "getwork_source.hpp"

#include <algorithm>
#include <random>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/protocol.hpp"
#include "dialect.hpp"
#include "http.hpp"
#include "job_source_state.hpp"
#include "transport.hpp"

namespace dagminer::stratum {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

// A request that did not get a usable answer. `sent`: the request may have reached the node.
struct NodeFault : std::runtime_error {
  NodeFault(const std::string& what, bool sent_, bool refused_ = false)
      : std::runtime_error(what), sent(sent_), refused(refused_) {}
  bool sent;
  bool refused;  // the node refused our credentials: retrying soon will not help
};

// Push connections served at once; more are closed unread (the listener is for one local node).
constexpr std::size_t max_push_connections = 8;
// Idle keep-alive connections kept for the next requests.
constexpr std::size_t max_idle_connections = 4;

struct Connection {
  std::shared_ptr<Transport> transport;
  HttpReader reader;
};

// Closes the transport when the time is up, unless cancelled first.
class Deadline {
 public:
  Deadline(const asio::any_io_executor& executor, std::shared_ptr<Transport> transport, std::chrono::milliseconds limit)
      : timer_(std::make_shared<asio::steady_timer>(executor, limit)), expired_(std::make_shared<bool>(false)) {
    timer_->async_wait([transport = std::move(transport), expired = expired_](const boost::system::error_code& ec) {
      if (ec) return;
      *expired = true;
      transport->close();
    });
  }
  ~Deadline() { timer_->cancel(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  bool expired() const noexcept { return *expired_; }

 private:
  std::shared_ptr<asio::steady_timer> timer_;
  std::shared_ptr<bool> expired_;
};

class GetworkSourceState final : public JobSourceHandle::State, public std::enable_shared_from_this<GetworkSourceState> {
 public:
  GetworkSourceState(asio::any_io_executor executor, PoolConfig config, Callbacks callbacks)
      : executor_(std::move(executor)),
        config_(std::move(config)),
        url_(parse_pool_url(config_.url)),
        callbacks_(std::move(callbacks)),
        poll_timer_(executor_),
        hashrate_timer_(executor_),
        acceptor_(executor_),
        random_(std::random_device{}()) {
    if (url_.protocol != PoolProtocol::getwork) throw std::invalid_argument("not a getwork+http(s):// URL");
    if (config_.getwork_poll.count() <= 0) throw std::invalid_argument("getwork_poll must be positive");
    if (!config_.tls.fingerprint.empty()) {
      const auto pin = parse_sha256_fingerprint(config_.tls.fingerprint);
      if (!pin) throw std::invalid_argument("tls.fingerprint must be a SHA-256 (64 hex digits, ':' allowed)");
      pin_ = *pin;
    }
    for (auto& byte : client_id_) byte = static_cast<std::uint8_t>(random_());
  }

  void start() override {
    stopped_ = false;
    if (config_.notify_listen && !acceptor_.is_open()) listen_for_pushes(*config_.notify_listen);
    if (running_) return;  // a loop still unwinding from stop() carries on
    running_ = true;
    asio::co_spawn(executor_, poll_loop(shared_from_this()), asio::detached);
    if (config_.hashrate_interval.count() > 0) asio::co_spawn(executor_, hashrate_loop(shared_from_this()), asio::detached);
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    poll_timer_.cancel();
    hashrate_timer_.cancel();
    boost::system::error_code ec;
    acceptor_.close(ec);
    idle_.clear();
    for (const auto& weak : open_)  // requests in flight end at once; their shares time out
      if (auto t = weak.lock()) t->close();
    for (auto& [id, share] : held_) report(id, {ShareOutcome::stale, 0, "client stopped while the node was unreachable", {}});
    held_.clear();
    if (state_ != ConnectionState::disconnected) set_state(ConnectionState::disconnected, "stopped");
  }

  void drop_callbacks() override { callbacks_ = {}; }

  std::uint64_t submit(const Share& share) override {
    const std::uint64_t id = next_share_id_++;
    if (!current_ || current_->header != share.header) {
      report(id, {ShareOutcome::stale, 0, "block " + share.job_id + " is no longer the node's work", {}});
    } else if (!alive()) {
      spdlog::info("pool {}: holding a solution for {} until the node answers again", config_.name, share.job_id);
      held_.emplace_back(id, share);
    } else {
      asio::co_spawn(executor_, send_share(shared_from_this(), id, share), asio::detached);
    }
    return id;
  }

  bool holds(std::uint64_t share_id) const noexcept override {
    return std::any_of(held_.begin(), held_.end(), [&](const auto& h) { return h.first == share_id; });
  }
  void set_hashrate(double hs) override { hashrate_ = std::max(0.0, hs); }

  const PoolConfig& config() const noexcept override { return config_; }
  ConnectionState state() const noexcept override { return state_; }
  bool alive() const noexcept override { return state_ == ConnectionState::authorized && current_.has_value(); }
  std::optional<std::chrono::milliseconds> latency() const noexcept override { return alive() ? latency_ : std::nullopt; }
  PoolProtocol protocol() const noexcept override { return PoolProtocol::getwork; }
  JobSourceCounters counters() const noexcept override { return counters_; }

 private:
  // --- Callbacks, always posted so that none runs inside a call into the source ---

  void publish(Job job) {
    asio::post(executor_, [self = shared_from_this(), job = std::move(job)]() mutable {
      if (self->callbacks_.on_job) self->callbacks_.on_job(std::move(job));
    });
  }

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

  // --- Requests ---

  // Resolving, connecting and TLS, for a connection whose deadline already runs.
  awaitable<void> connect(Connection& c) {
    open_.push_back(c.transport);
    std::erase_if(open_, [](const auto& weak) { return weak.expired(); });
    tcp::resolver resolver(executor_);
    const auto endpoints = co_await resolver.async_resolve(url_.host, std::to_string(url_.port), use_awaitable);
    co_await asio::async_connect(c.transport->socket(), endpoints, use_awaitable);
    c.transport->set_keepalive();
    if (url_.tls) {
      const std::string name = config_.tls.server_name.empty() ? url_.host : config_.tls.server_name;
      // Named, as are the arguments of the other co_awaited calls here: GCC 12 frees a temporary
      // argument of a co_awaited call twice.
      const TlsPolicy policy{config_.tls.verify, config_.tls.ca_file, pin_, name};
      co_await c.transport->handshake(policy);
    }
  }

  // One JSON-RPC call; throws NodeFault when no JSON-RPC answer came (the answer may still be an
  // error). A call that may be repeated takes an idle connection, and is retried once on a fresh
  // one when the node had closed it meanwhile; one that must reach the node at most once (a
  // solution: the node may have carried out the first copy) goes on a fresh connection alone.
  enum class Repeat { safe, never };
  awaitable<Message> call(const char* method, const json::value& params, Repeat repeat = Repeat::safe) {
    const std::string body = request_line(PoolProtocol::getwork, next_request_id_++, method, params);
    const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(config_.response_timeout);
    for (bool first_try = true;; first_try = false) {
      const bool reused = repeat == Repeat::safe && !idle_.empty();
      std::unique_ptr<Connection> c;
      if (reused) {
        c = std::move(idle_.back());
        idle_.pop_back();
      } else {
        c = std::make_unique<Connection>();
        c->transport = std::make_shared<Transport>(executor_, url_.tls);
      }
      bool sent = false;
      const auto started = Clock::now();
      Deadline deadline(executor_, c->transport, limit);
      try {
        if (!reused) co_await connect(*c);
        const std::string request = serialize(json_post(to_string(url_), url_.path, url_.basic_auth, body));
        co_await c->transport->write(request);
        sent = true;
        HttpResponse response = co_await c->reader.response(*c->transport);
        const unsigned status = response.result_int();
        if (status == 401 || status == 403)
          throw NodeFault("HTTP " + std::to_string(status) + " from the node: check user:password in the URL", true, true);
        if (status != 200)
          throw NodeFault("HTTP " + std::to_string(status) + " " + printable(std::string(response.reason())) + " from the node",
                          true);
        Message reply = decode_message(response.body());
        latency_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        last_read_ = Clock::now();
        if (response.keep_alive() && idle_.size() < max_idle_connections && !stopped_) idle_.push_back(std::move(c));
        co_return reply;
      } catch (const boost::system::system_error& e) {
        if (reused && first_try && !deadline.expired() && !stopped_) continue;
        if (deadline.expired())
          throw NodeFault(std::string("no answer to ") + method + " within " + std::to_string(limit.count()) + " ms", sent);
        throw NodeFault(c->transport->describe(e.code()), sent);
      } catch (const ProtocolError& e) {
        ++counters_.protocol_errors;
        throw NodeFault(std::string("malformed answer to ") + method + ": " + e.what(), true);
      } catch (const NodeFault&) {
        throw;
      } catch (const std::exception& e) {
        // Anything else (a TLS setting that cannot be used, such as an unreadable ca_file) is the
        // node's connection failing too: retried with backoff and said, never the end of the loop.
        throw NodeFault(e.what(), sent);
      }
    }
  }

  // --- Polling ---

  static awaitable<void> poll_loop(std::shared_ptr<GetworkSourceState> self) {
    unsigned failures = 0;
    while (!self->stopped_) {
      std::chrono::milliseconds delay = self->config_.getwork_poll;
      try {
        co_await self->poll();
        failures = 0;
      } catch (const NodeFault& e) {
        self->node_failed(e.what(), e.refused ? ConnectionState::auth_failed : ConnectionState::disconnected);
        if (self->stopped_) break;
        delay = e.refused ? self->config_.backoff.max
                          : backoff_delay(self->config_.backoff, ++failures,
                                          std::uniform_real_distribution<double>(0, 1)(self->random_));
        spdlog::info("pool {}: asking the node again in {} ms", self->config_.name, delay.count());
      }
      if (self->stopped_) break;
      self->polling_wait_ = failures == 0;
      self->poll_timer_.expires_after(delay);
      boost::system::error_code ec;
      co_await self->poll_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
      self->polling_wait_ = false;
    }
    self->running_ = false;
  }

  awaitable<void> poll() {
    if (state_ == ConnectionState::disconnected || state_ == ConnectionState::auth_failed)
      set_state(ConnectionState::connecting, to_string(url_));
    const json::value no_params = json::array();
    const std::uint64_t pushes_before = pushes_taken_;
    const Message reply = co_await call("eth_getWork", no_params);
    // A node still syncing, or without an etherbase, answers with an error.
    if (reply.error) throw NodeFault("eth_getWork failed: " + error_text(*reply.error), true);
    bool new_work = false;
    try {
      new_work = take_work(decode_ethproxy_work(reply.result), last_read_, pushes_taken_ != pushes_before);
    } catch (const ProtocolError& e) {
      ++counters_.protocol_errors;
      throw NodeFault(std::string("unusable eth_getWork answer: ") + e.what(), true);
    }
    if (state_ == ConnectionState::authorized) co_return;
    node_back();
    // Back with the work it had: announced again, as a Stratum pool resends its job after a
    // reconnect, so that the engine counts the node alive.
    if (!new_work && current_) {
      Job again = *current_;
      again.received = last_read_;
      publish(std::move(again));
    }
  }

  void node_back() {
    last_failure_.clear();
    spdlog::info("pool {}: node {} gives work for block {}", config_.name, to_string(url_),
                 current_ && current_->height ? std::to_string(*current_->height) : std::string("?"));
    set_state(ConnectionState::authorized, to_string(url_));
    // Solutions found while the node was away go out if their block is still the node's work.
    auto held = std::move(held_);
    held_.clear();
    for (auto& [id, share] : held) {
      if (current_ && share.header == current_->header)
        asio::co_spawn(executor_, send_share(shared_from_this(), id, share), asio::detached);
      else report(id, {ShareOutcome::stale, 0, "the node moved on while it was unreachable", {}});
    }
  }

  void node_failed(const std::string& why, ConnectionState state) {
    idle_.clear();
    if (state_ == ConnectionState::authorized) {
      ++counters_.reconnects;
      spdlog::warn("pool {}: node lost: {}", config_.name, why);
    } else if (why != last_failure_) {  // still down for the same reason: said already
      spdlog::warn("pool {}: node unusable: {}", config_.name, why);
    }
    last_failure_ = why;
    set_state(state, why);
  }

  // A work package from a poll or a push; a new header is a new clean job. Returns whether it was.
  // `may_be_late`: a push (delivered late, or not the node's), or a poll under way when a push was
  // taken, may carry work older than the current; a lower block from it is left. A poll begun
  // after the last push is the node's word, a lower block too (a reorganisation, or a wrong push).
  bool take_work(const WorkNotice& notice, Clock::time_point received, bool may_be_late) {
    if (current_ && current_->header == notice.header) return false;
    if (may_be_late && current_ && current_->height && notice.height && *notice.height < *current_->height) return false;
    Job job = job_of(notice);
    job.received = push_received_.value_or(received);
    push_received_.reset();
    ++counters_.jobs;
    current_ = job;
    spdlog::debug("pool {}: work for block {} (header {})", config_.name, job.id, to_hex(job.header));
    publish(std::move(job));
    return true;
  }

  // The epoch comes from the block number where the node sends one (after ECIP-1099 an Etchash
  // seed is also the seed of an Ethash epoch twice as large); three elements: from the seed.
  Job job_of(const WorkNotice& notice) {
    NextJob next;
    next.algo = config_.algo;
    Job job;
    if (notice.height) {
      const int epoch = epoch_of_block(config_.algo, *notice.height);
      if (epoch != seed_epoch_) {
        seed_epoch_ = epoch;
        epoch_seed_ = seed_of_epoch(config_.algo, epoch);
      }
      if (notice.seed && *notice.seed != epoch_seed_)
        throw ProtocolError("seed hash " + to_hex(*notice.seed) + " is not that of " +
                            std::string(dagminer::to_string(config_.algo)) + " epoch " + std::to_string(epoch) + " (block " +
                            std::to_string(*notice.height) + "): is the pool's algorithm right?");
      WorkNotice by_block = notice;
      by_block.seed.reset();
      next.epoch = epoch;
      job = job_from_notice(by_block, next, config_.name);
    } else {
      job = job_from_notice(notice, next, config_.name);
    }
    // The job id names the block where the node says which one it is.
    if (notice.height) job.id = std::to_string(*notice.height);
    job.clean = true;
    return job;
  }

  // --- Shares ---

  static awaitable<void> send_share(std::shared_ptr<GetworkSourceState> self, std::uint64_t id, Share share) {
    ++self->counters_.shares_sent;
    const auto sent_at = Clock::now();
    const json::array params{json::string("0x" + to_hex_u64(share.nonce)), json::string("0x" + to_hex(share.header)),
                             json::string("0x" + to_hex(share.mix_hash))};
    try {
      const Message reply = co_await self->call("eth_submitWork", params, Repeat::never);
      const auto round_trip = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent_at);
      if (reply.error) co_return self->report(id, classify_rejection(*reply.error, round_trip));
      if (reply.result == json::value(true)) {
        ++self->counters_.blocks_found;
        spdlog::warn("pool {}: BLOCK FOUND: the node accepted the solution for block {} (nonce 0x{}, found by {})",
                     self->config_.name, share.job_id, to_hex_u64(share.nonce), share.device);
        co_return self->report(id, {ShareOutcome::accepted, 0, "block found", round_trip});
      }
      // core-geth answers false for work it no longer holds as for a wrong proof of work: a poll
      // at once tells them apart (and brings the new work sooner).
      try {
        co_await self->poll();
      } catch (const NodeFault&) {
      }
      const bool moved_on = !self->current_ || self->current_->header != share.header;
      self->report(id, moved_on ? ShareResult{ShareOutcome::stale, 0,
                                              "the node refused it: block " + share.job_id + " is no longer its work", round_trip}
                                : ShareResult{ShareOutcome::rejected, 0, "the node refused the solution", round_trip});
    } catch (const NodeFault& e) {
      if (self->stopped_) co_return self->report(id, {ShareOutcome::timed_out, 0, "stopped before the node answered", {}});
      if (e.sent) co_return self->report(id, {ShareOutcome::timed_out, 0, e.what(), {}});
      // Never reached the node: it is down. Hold the solution for its return.
      self->held_.emplace_back(id, std::move(share));
      self->node_failed(e.what(), ConnectionState::disconnected);
    }
  }

  static awaitable<void> hashrate_loop(std::shared_ptr<GetworkSourceState> self) {
    while (!self->stopped_) {
      self->hashrate_timer_.expires_after(self->config_.hashrate_interval);
      boost::system::error_code ec;
      co_await self->hashrate_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
      if (self->stopped_) break;
      if (!self->alive() || self->hashrate_ <= 0) continue;
      // The node reads a hexutil.Uint64: 0x and no leading zeros; the id is a 32-byte hash.
      const json::array params{json::string("0x" + hex_number(static_cast<std::uint64_t>(self->hashrate_))),
                               json::string("0x" + to_hex(self->client_id_))};
      try {
        const Message reply = co_await self->call("eth_submitHashrate", params);
        if (reply.error) spdlog::debug("pool {}: eth_submitHashrate: {}", self->config_.name, error_text(*reply.error));
      } catch (const NodeFault& e) {
        spdlog::debug("pool {}: eth_submitHashrate: {}", self->config_.name, e.what());
      }
    }
  }

  // --- Pushed work ---

  void listen_for_pushes(const ListenAddress& where) {
    try {
      listen_on(acceptor_, tcp::endpoint(asio::ip::make_address(where.host), where.port));
      spdlog::info("pool {}: taking pushed work at http://{}", config_.name, where.host + ":" + std::to_string(where.port));
      asio::co_spawn(executor_, accept_pushes(shared_from_this()), asio::detached);
    } catch (const std::exception& e) {
      spdlog::error("pool {}: notify_listen: {}; polling only", config_.name, e.what());
    }
  }

  static awaitable<void> accept_pushes(std::shared_ptr<GetworkSourceState> self) {
    while (!self->stopped_ && self->acceptor_.is_open()) {
      boost::system::error_code ec;
      tcp::socket socket = co_await self->acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) co_return;
      if (ec) continue;
      if (self->push_connections_ >= max_push_connections) continue;  // the socket closes here
      asio::co_spawn(self->executor_, serve_pushes(self, std::move(socket)), asio::detached);
    }
  }

  static awaitable<void> serve_pushes(std::shared_ptr<GetworkSourceState> self, tcp::socket socket) {
    ++self->push_connections_;
    auto transport = std::make_shared<Transport>(std::move(socket), nullptr);
    HttpReader reader;
    const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(self->config_.response_timeout);
    try {
      while (!self->stopped_) {
        // A connection that sends no request within response_timeout is closed: the few push
        // connections are not held by idle or slow clients.
        std::optional<HttpRequest> request;
        {
          Deadline deadline(self->executor_, transport, limit);
          request = co_await reader.request(*transport);
        }
        if (!request) break;
        const auto received = Clock::now();
        const bool keep_alive = request->keep_alive();
        HttpResponse response = json_response(200, "{}", keep_alive);
        if (request->method() != boost::beast::http::verb::post) {
          response = json_response(405, R"({"error":"POST work here"})", keep_alive);
        } else {
          try {
            self->take_push(decode_pushed_work(request->body()), received);
          } catch (const ProtocolError& e) {
            ++self->counters_.protocol_errors;
            spdlog::warn("pool {}: unusable pushed work: {}", self->config_.name, e.what());
            response = json_response(400, json::serialize(json::object{{"error", printable(e.what())}}), keep_alive);
          }
        }
        const std::string answer = serialize(std::move(response));
        co_await transport->write(answer);
        if (!keep_alive) break;
      }
    } catch (const std::exception& e) {
      spdlog::debug("pool {}: push connection ended: {}", self->config_.name, e.what());
    }
    transport->close();
    --self->push_connections_;
  }

  void take_push(const PushedWork& pushed, Clock::time_point received) {
    if (pushed.work) {
      ++pushes_taken_;
      take_work(*pushed.work, received, true);
      return;
    }

    // The full header form names the block but not the seal hash: ask for the work at once, and
    // count the job's latency from this push.
    if (current_ && current_->height && pushed.block && *pushed.block <= *current_->height) return;
    push_received_ = received;
    if (polling_wait_) poll_timer_.cancel();
  }

  asio::any_io_executor executor_;
  PoolConfig config_;
  PoolUrl url_;
  Callbacks callbacks_;
  std::string pin_;
  asio::steady_timer poll_timer_;
  asio::steady_timer hashrate_timer_;
  tcp::acceptor acceptor_;
  std::mt19937_64 random_;
  Hash256 client_id_{};  // eth_submitHashrate's id, fixed for the process

  bool running_ = false;
  bool stopped_ = false;
  bool polling_wait_ = false;  // the poll loop waits its ordinary interval (not a backoff)
  ConnectionState state_ = ConnectionState::disconnected;
  JobSourceCounters counters_;
  std::optional<Job> current_;
  std::optional<Clock::time_point> push_received_;  // a full-header push awaiting its work
  int seed_epoch_ = -1;
  Hash256 epoch_seed_{};
  std::optional<std::chrono::milliseconds> latency_;
  std::string last_failure_;  // why the node was last unusable, until it is back
  Clock::time_point last_read_{};
  std::uint64_t next_request_id_ = 1;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::vector<std::weak_ptr<Transport>> open_;
  std::size_t push_connections_ = 0;
  std::uint64_t pushes_taken_ = 0;  // work packages pushed: a poll answered after one may be older

  std::vector<std::pair<std::uint64_t, Share>> held_;
  std::uint64_t next_share_id_ = 1;
  double hashrate_ = 0;
};

}  // namespace

GetworkSource::GetworkSource(asio::any_io_executor executor, PoolConfig config, Callbacks callbacks)
    : JobSourceHandle(make_source_state<GetworkSourceState>(std::move(executor), std::move(config), std::move(callbacks))) {}

}  // namespace dagminer::stratum
