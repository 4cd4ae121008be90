#include "api_server.hpp"

#include <map>
#include <optional>
#include <set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "api_request.hpp"
#include "dagminer/daemon/api_json.hpp"
#include "dagminer/daemon/dashboard_json.hpp"
#include "dagminer/daemon/metrics.hpp"

namespace dagminer {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;

namespace {

constexpr auto io_timeout = std::chrono::seconds(10);     // to read a whole request, or write a response
constexpr auto linger_timeout = std::chrono::seconds(2);  // to drain a refused request before closing
constexpr std::size_t max_connections = 32;
constexpr auto refusal_log_interval = std::chrono::minutes(1);  // a connect loop must not flood the log
// The dashboard loads its own script, style and icon and fetches this API, nothing else: no
// inline script, no other origin, no framing (clickjacking of the controls).
constexpr const char* content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response make_response(http::status status, std::string body, std::string_view content_type) {
  Response res{status, 11};
  res.set(http::field::server, "dagminer/" + build_info().version);
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("Content-Security-Policy", content_security_policy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.body() = std::move(body);
  return res;
}

Response json_response(http::status status, const json::value& body) {
  return make_response(status, json::serialize(body) + "\n", "application/json");
}

Response error_response(http::status status, const std::string& message) {
  return json_response(status, json::object{{"error", message}});
}

// The comparison's time depends on the configured token's length only, never on where a
// guess first differs.
bool same_token(std::string_view given, std::string_view expected) {
  unsigned diff = given.size() != expected.size();
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i]) ^ static_cast<unsigned char>(i < given.size() ? given[i] : 0);
  return diff == 0;
}

ServiceSnapshot take_snapshot(const Engine& engine) {
  ServiceSnapshot s;
  s.build = build_info();
  s.uptime_seconds = std::chrono::duration<double>(Clock::now() - engine.started()).count();
  s.paused = engine.paused();
  s.mining = engine.mining();
  s.health_problem = engine.health_problem();
  s.hashrate = engine.hashrate();
  s.shares = engine.ledger().total();
  s.share_journal_errors = engine.share_journal_errors();
  s.pools = engine.pools();
  s.devices = engine.devices();
  s.device_shares = engine.ledger().devices();
  s.pool_shares = engine.ledger().pools();
  return s;
}

std::string endpoint_text(const ApiConfig& c, std::uint16_t port) {
  const bool v6 = c.host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + c.host + "]" : c.host) + ":" + std::to_string(port);
}

class Session;

}  // namespace

struct ApiServer::State {
  Engine* engine = nullptr;  // null once stopped
  ApiConfig config;
  std::shared_ptr<tcp::acceptor> acceptor;
  std::set<Session*> sessions;
  std::map<boost::asio::ip::address, unsigned> per_address;                        // open connections by client address
  std::map<std::string, std::uint64_t> refused{{"per_address", 0}, {"total", 0}};  // by reason, since the start
  std::uint64_t refused_unlogged = 0;
  Clock::time_point refusals_logged{};
};

namespace {

using State = ApiServer::State;

// One connection: requests read under a deadline and size limits, answered in order.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<State> state, tcp::socket socket, boost::asio::ip::address address)
      : state_(std::move(state)), stream_(std::move(socket)), address_(std::move(address)) {
    beast::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? "unknown peer" : remote.address().to_string() + ":" + std::to_string(remote.port());
    state_->sessions.insert(this);
    ++state_->per_address[address_];
  }
  ~Session() {
    state_->sessions.erase(this);
    if (--state_->per_address[address_] == 0) state_->per_address.erase(address_);
  }

  void start() { read(); }
  void close() {
    beast::error_code ec;
    stream_.socket().close(ec);
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(api_header_limit);
    parser_->body_limit(api_body_limit);
    stream_.expires_after(io_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    if (parser_->chunked()) {
      spdlog::debug("api: chunked request body from {} refused", peer_);
      return write(error_response(http::status::length_required, std::string(chunked_body_refusal)), false);
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code read_ec, std::size_t) { self->on_read(read_ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == boost::asio::error::operation_aborted)
      return close();
    if (ec) {
      if (ec.category() != make_error_code(http::error::bad_target).category()) return close();  // the network's, not HTTP's
      spdlog::debug("api: bad request from {}: {}", peer_, ec.message());
      return write(error_response(status_for_read_error(ec), "bad request: " + ec.message()), false);
    }
    if (!state_->engine) return close();
    const Request& req = parser_->get();
    try {
      write(respond(req), req.keep_alive());
    } catch (const std::exception& e) {  // an exception must not leave the event loop: mining runs on it
      spdlog::error("api: {} {} from {} failed: {}", std::string(req.method_string()), printable(req.target()), peer_, e.what());
      write(error_response(http::status::internal_server_error, "internal error"), false);
    }
  }

  void write(Response res, bool keep_alive) {
    res.keep_alive(keep_alive);
    if (!res.has_content_length()) res.prepare_payload();  // a HEAD answer has the GET answer's length
    response_ = std::move(res);
    stream_.expires_after(io_timeout);
    http::async_write(stream_, response_, [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      if (keep_alive) return self->read();
      self->linger();
    });
  }

  // Closing a socket with unread input resets the connection, and the client may lose the
  // answer: send FIN, then read and drop what the client still sends, for a bounded time.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    stream_.expires_after(linger_timeout);
    drain_.resize(4096);
    drain();
  }
  void drain() {
    stream_.async_read_some(boost::asio::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  Response respond(const Request& req) {
    const ApiRoute route = route_api_request(req.method(), req.target());
    if (!route.endpoint) {
      auto res = error_response(route.status, route.error);
      if (!route.allow.empty()) res.set(http::field::allow, route.allow);
      return res;
    }
    if (route.control)
      if (auto refusal = check_token(req)) return std::move(*refusal);
    Response res = serve(route);
    if (route.head) {  // the GET answer's headers, its length included, without the body
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    return res;
  }

  Response serve(const ApiRoute& route) {
    Engine& engine = *state_->engine;
    switch (*route.endpoint) {
      case ApiEndpoint::summary: return json_response(http::status::ok, summary_json(snapshot()));
      case ApiEndpoint::pools: return json_response(http::status::ok, pools_json(snapshot()));
      case ApiEndpoint::devices: return json_response(http::status::ok, devices_json(snapshot()));
      case ApiEndpoint::metrics: return make_response(http::status::ok, prometheus_metrics(snapshot()), prometheus_content_type);
      case ApiEndpoint::history:
        return json_response(http::status::ok, history_json(engine.history(), unix_seconds(std::chrono::system_clock::now())));
      case ApiEndpoint::shares: return json_response(http::status::ok, recent_shares_json(engine.recent_shares()));
      case ApiEndpoint::web_asset:
        return make_response(http::status::ok, std::string(route.asset->body), route.asset->content_type);
      case ApiEndpoint::pause:
      case ApiEndpoint::resume: {
        const bool pause = route.endpoint == ApiEndpoint::pause;
        if (pause) engine.pause();
        else engine.resume();
        spdlog::info("api: {} by {}", pause ? "paused" : "resumed", peer_);
        return json_response(http::status::ok, json::object{{"paused", engine.paused()}});
      }
      case ApiEndpoint::pool_enable:
      case ApiEndpoint::pool_disable: {
        const bool enable = route.endpoint == ApiEndpoint::pool_enable;
        if (!engine.set_pool_enabled(route.pool, enable))
          return error_response(http::status::not_found, "no pool named '" + printable(route.pool) + "'");
        spdlog::info("api: pool {} {} by {}", route.pool, enable ? "enabled" : "disabled", peer_);
        return json_response(http::status::ok, json::object{{"pool", route.pool}, {"enabled", enable}});
      }
    }
    return error_response(http::status::internal_server_error, "internal error");
  }

  ServiceSnapshot snapshot() const {
    ServiceSnapshot s = take_snapshot(*state_->engine);
    s.api_refused_connections = state_->refused;
    return s;
  }

  // Control endpoints need `Authorization: Bearer <token>` when a token is configured.
  std::optional<Response> check_token(const Request& req) const {
    const std::string& token = state_->config.token;
    if (token.empty()) return std::nullopt;
    const auto header = req.find(http::field::authorization);
    std::string problem;
    if (header == req.end()) {
      problem = "this endpoint needs a bearer token: Authorization: Bearer <token>";
    } else {
      std::string_view value = header->value();
      constexpr std::string_view scheme = "bearer ";
      const bool bearer = value.size() > scheme.size() && beast::iequals(value.substr(0, scheme.size()), scheme);
      const auto start = value.find_first_not_of(' ', scheme.size());
      value = bearer && start != std::string_view::npos ? value.substr(start) : std::string_view{};
      if (value.empty()) {
        problem = "malformed Authorization header: expected Bearer <token>";
      } else if (!same_token(value, token)) {
        spdlog::warn("api: wrong token from {} for {} {}", peer_, std::string(req.method_string()), printable(req.target()));
        return error_response(http::status::forbidden, "wrong token");
      }
    }
    if (problem.empty()) return std::nullopt;
    spdlog::warn("api: {} {} from {} without a valid Authorization header", std::string(req.method_string()),
                 printable(req.target()), peer_);
    auto res = error_response(http::status::unauthorized, problem);
    res.set(http::field::www_authenticate, "Bearer realm=\"dagminer\"");
    return res;
  }

  std::shared_ptr<State> state_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{api_header_limit + api_body_limit};
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  std::vector<char> drain_;
  boost::asio::ip::address address_;
  std::string peer_;
};

// Why a new connection from `address` is refused, or nullptr: one address may not hold every slot.
const char* refusal_reason(const State& state, const boost::asio::ip::address& address) {
  if (state.sessions.size() >= max_connections) return "total";
  const auto it = state.per_address.find(address);
  if (it != state.per_address.end() && it->second >= state.config.max_connections_per_address) return "per_address";
  return nullptr;
}

// Counts a refusal; logs the refusals at most once a minute.
void refuse(State& state, const std::string& reason) {
  ++state.refused[reason];
  ++state.refused_unlogged;
  const auto now = Clock::now();
  if (now - state.refusals_logged < refusal_log_interval) return;
  state.refusals_logged = now;
  spdlog::warn(
      "api: refused {} connection(s) since the last report ({} at the cap of {} connections, {} at the cap of {} per "
      "address, in all since the start); the next report in a minute at the earliest",
      std::exchange(state.refused_unlogged, 0), state.refused["total"], max_connections, state.refused["per_address"],
      state.config.max_connections_per_address);
}

void accept(std::shared_ptr<State> state, std::shared_ptr<tcp::acceptor> acceptor) {
  acceptor->async_accept([state, acceptor](boost::system::error_code ec, tcp::socket socket) {
    if (state->acceptor != acceptor || !acceptor->is_open()) return;  // stopped, or replaced at a reload
    if (ec) {
      // Out of descriptors, most likely: try again shortly rather than spin.
      spdlog::warn("api: accepting a connection failed: {}", ec.message());
      auto timer = std::make_shared<boost::asio::steady_timer>(acceptor->get_executor(), std::chrono::milliseconds(200));
      timer->async_wait([state, acceptor, timer](boost::system::error_code) {
        if (state->acceptor == acceptor) accept(state, acceptor);
      });
      return;
    }
    const auto remote = socket.remote_endpoint(ec);
    if (ec) {
      socket.close(ec);  // gone already
    } else if (const char* reason = refusal_reason(*state, remote.address())) {
      refuse(*state, reason);
      socket.close(ec);
    } else {
      std::make_shared<Session>(state, std::move(socket), remote.address())->start();
    }
    accept(state, acceptor);
  });
}

}  // namespace

ApiServer::ApiServer(boost::asio::io_context& io, Engine& engine, ApiConfig config)
    : io_(io), engine_(engine), state_(std::make_shared<State>()) {
  state_->config = std::move(config);
}

ApiServer::~ApiServer() { stop(); }

void ApiServer::start() {
  const ApiConfig& c = state_->config;
  if (!c.enabled) {
    spdlog::info("api: off (api.listen is empty)");
    return;
  }
  // Mining matters more than watching it: carry on without the API rather than exit.
  if (auto acceptor = listen(c)) serve(std::move(acceptor));
  else spdlog::error("api: running without the API until a reload");
}

std::shared_ptr<boost::asio::ip::tcp::acceptor> ApiServer::listen(const ApiConfig& c) {
  auto acceptor = std::make_shared<tcp::acceptor>(io_);
  try {
    const tcp::endpoint endpoint(boost::asio::ip::make_address(c.host), c.port);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen();
  } catch (const boost::system::system_error& e) {
    spdlog::error("api: cannot listen on {}: {}", endpoint_text(c, c.port), e.code().message());
    return nullptr;
  }
  return acceptor;
}

void ApiServer::serve(std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor) {
  const ApiConfig& c = state_->config;
  state_->engine = &engine_;
  state_->acceptor = acceptor;
  spdlog::info(
      "api: listening on {} ({})", endpoint_text(c, port()),
      c.token.empty() ? "no token: the control endpoints are open to local users" : "the control endpoints need the token");
  accept(state_, acceptor);
}

void ApiServer::stop() {
  if (auto acceptor = std::exchange(state_->acceptor, nullptr)) {
    boost::system::error_code ec;
    acceptor->close(ec);
  }
  state_->engine = nullptr;
  for (Session* s : std::set<Session*>(state_->sessions)) s->close();
}

void ApiServer::reconfigure(const ApiConfig& config) {
  const ApiConfig old = std::exchange(state_->config, config);
  const bool listening = state_->acceptor != nullptr;
  if (config.enabled == old.enabled && config.host == old.host && config.port == old.port && (listening || !config.enabled)) {
    if (config.token != old.token) spdlog::info("api: token changed");
    return;
  }
  // A new port is taken before the old one is let go: where it cannot be had, the API stays where
  // it is (with the new token) rather than going away until the next reload. A new host on the
  // same port (127.0.0.1:4067 to 0.0.0.0:4067) would collide with the old listener: it goes first.
  if (!listening || !config.enabled || config.port == port()) {
    stop();
    start();
    return;
  }
  auto acceptor = listen(config);
  if (!acceptor) {
    spdlog::error("api: keeping {} until a reload", endpoint_text(old, port()));
    state_->config.host = old.host;
    state_->config.port = old.port;
    return;
  }
  stop();
  serve(std::move(acceptor));
}

std::uint16_t ApiServer::port() const noexcept {
  boost::system::error_code ec;
  return state_->acceptor ? state_->acceptor->local_endpoint(ec).port() : 0;
}

}  // namespace dagminer
