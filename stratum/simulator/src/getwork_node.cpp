// The simulated node: HTTP JSON-RPC over the stratum transport, one coroutine per connection
// (keep-alive), share checks by the simulator's IssuedJobs, pushes as --miner.notify sends them.
#include "dagminer/stratum/getwork_node.hpp"

#include <random>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/protocol.hpp"
#include "http.hpp"
#include "server_tls.hpp"
#include "share_check.hpp"

namespace dagminer::stratum {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

// core-geth's answers (JSON-RPC error -32000 for both).
constexpr const char* no_work = "no mining work available yet";
constexpr int server_error = -32000;

struct NotifyTarget {
  std::string host;
  std::string port;
  std::string path;
};

NotifyTarget parse_notify_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) throw std::runtime_error("notify URL '" + url + "' is not http://host:port[/path]");
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("notify URL '" + url + "' has no port");
  return {authority.substr(0, colon), authority.substr(colon + 1), slash == std::string::npos ? "/" : rest.substr(slash)};
}

}  // namespace

class GetworkNode::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, GetworkNodeConfig config)
      : executor_(io.get_executor()), config_(std::move(config)), acceptor_(executor_), random_(std::random_device{}()) {
    for (const auto& url : config_.notify_urls) notify_.push_back(parse_notify_url(url));
    tls_ = make_server_tls(config_.tls_cert, config_.tls_key);
    cache_ = config_.cache ? config_.cache : std::make_shared<LightCache>(build_light_cache(config_.algo, config_.epoch));
    if (cache_->algo != config_.algo || cache_->epoch != config_.epoch)
      throw std::runtime_error("the light cache given is not that of the configured algorithm and epoch");
    const std::uint64_t length = config_.algo == Algorithm::etchash ? etchash_epoch_length : ethash_epoch_length;
    block_ = static_cast<std::uint64_t>(config_.epoch) * length;
    endpoint_ = tcp::endpoint(asio::ip::make_address(config_.address), config_.port);
    listen();
    next_header();
  }

  void start() { asio::co_spawn(executor_, accept_loop(shared_from_this()), asio::detached); }

  void stop() {
    stopped_ = true;
    close_all();
  }

  std::uint16_t port() const noexcept { return endpoint_.port(); }
  std::string url() const {
    return std::string(tls_.context ? "getwork+https://" : "getwork+http://") + config_.address + ":" + std::to_string(port());
  }
  std::shared_ptr<const LightCache> light_cache() const noexcept { return cache_; }
  std::uint64_t block() const noexcept { return block_; }
  Hash256 header() const noexcept { return header_; }
  const GetworkNodeStats& stats() const noexcept { return stats_; }

  void new_block() {
    next_header();
    for (const auto& target : notify_) asio::co_spawn(executor_, push(shared_from_this(), target), asio::detached);
  }

  void set_syncing(bool syncing) { syncing_ = syncing; }
  void set_reply_delay(std::chrono::milliseconds delay) { reply_delay_ = delay; }
  void set_http_error(unsigned status) { http_error_ = status; }
  void set_close_unanswered(bool close) { close_unanswered_ = close; }

  void set_down(bool down) {
    if (down == down_) return;
    down_ = down;
    if (down) return close_all();
    listen();
    asio::co_spawn(executor_, accept_loop(shared_from_this()), asio::detached);
  }

 private:
  void listen() { endpoint_ = listen_on(acceptor_, endpoint_); }

  void close_all() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (const auto& weak : connections_)
      if (auto t = weak.lock()) t->close();
    connections_.clear();
  }

  void next_header() {
    ++block_;
    for (auto& b : header_) b = static_cast<std::uint8_t>(random_());
    jobs_.issue(
        IssuedJob{std::to_string(block_), header_, target_from_difficulty(config_.difficulty), NonceSpace{}, cache_, true}, true);
  }

  json::array work() const {
    json::array w{json::string("0x" + to_hex(header_)), json::string("0x" + to_hex(seed_of_epoch(config_.algo, config_.epoch))),
                  json::string("0x" + to_hex(target_from_difficulty(config_.difficulty)))};
    if (!config_.three_element_work) w.emplace_back("0x" + hex_number(block_));
    return w;
  }

  // core-geth's header JSON, as far as a miner reads it.
  json::object header_json() const {
    return json::object{{"number", "0x" + hex_number(block_)},
                        {"difficulty", "0x1"},
                        {"parentHash", "0x" + std::string(64, '0')},
                        {"hash", "0x" + to_hex(header_)}};
  }

  static awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
    while (!self->stopped_ && self->acceptor_.is_open()) {
      boost::system::error_code ec;
      tcp::socket socket = co_await self->acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) co_return;
      if (ec) continue;
      asio::co_spawn(self->executor_, serve(self, std::move(socket)), asio::detached);
    }
  }

  static awaitable<void> serve(std::shared_ptr<Impl> self, tcp::socket socket) {
    auto transport = std::make_shared<Transport>(std::move(socket), self->tls_.context);
    self->connections_.push_back(transport);
    std::erase_if(self->connections_, [](const auto& weak) { return weak.expired(); });
    HttpReader reader;
    try {
      co_await transport->accept();
      while (transport->is_open()) {
        auto request = co_await reader.request(*transport);
        if (!request) break;
        if (self->reply_delay_.count() > 0) {
          asio::steady_timer timer(self->executor_, self->reply_delay_);
          co_await timer.async_wait(use_awaitable);
        }
        const bool keep_alive = request->keep_alive();
        const std::string answer = serialize(self->answer(*request, keep_alive));
        if (self->close_unanswered_) break;
        co_await transport->write(answer);
        if (!keep_alive) break;
      }
    } catch (const std::exception& e) {
      spdlog::debug("getwork node {}: connection ended: {}", self->config_.name, e.what());
    }
    transport->close();
  }

  HttpResponse answer(const HttpRequest& request, bool keep_alive) {
    ++stats_.requests;
    if (http_error_ != 0) return json_response(http_error_, "", keep_alive);
    if (!config_.basic_auth.empty() &&
        request[boost::beast::http::field::authorization] != basic_authorization(config_.basic_auth)) {
      ++stats_.unauthorized;
      return json_response(401, "", keep_alive);
    }
    Message m;
    try {
      m = decode_message(request.body());
    } catch (const ProtocolError& e) {
      return json_response(200, response_line(PoolProtocol::getwork, nullptr, nullptr, RpcError{-32700, e.what()}), keep_alive);
    }
    const auto [result, error] = call(m);
    return json_response(200, response_line(PoolProtocol::getwork, m.id, result, error), keep_alive);
  }

  std::pair<json::value, std::optional<RpcError>> call(const Message& m) {
    const json::array* params = m.params.is_array() ? &m.params.get_array() : nullptr;
    if (m.method == "eth_getWork") {
      if (syncing_) return {nullptr, RpcError{server_error, no_work}};
      ++stats_.get_work;
      return {work(), std::nullopt};
    }
    if (m.method == "eth_submitWork") {
      if (!params || params->size() != 3) return {nullptr, RpcError{-32602, "expected 3 params"}};
      const auto text = [&](std::size_t i) { return (*params)[i].is_string() ? std::string((*params)[i].get_string()) : ""; };
      const auto header = parse_hex_array<32>(text(1));
      const auto mix = parse_hex_array<32>(text(2));
      // hexutil's types.BlockNonce: 0x and exactly 16 digits.
      if (!header || !mix || text(0).size() != 18 || text(0).rfind("0x", 0) != 0)
        return {nullptr, RpcError{-32602, "invalid argument: hex string of the wrong length"}};
      const ShareCheck check = jobs_.check(Submission{{}, *header, text(0), *mix});
      if (check.verdict == ShareVerdict::accepted) {
        ++stats_.blocks_accepted;
        return {true, std::nullopt};
      }
      ++(check.verdict == ShareVerdict::stale ? stats_.stale : stats_.invalid);
      return {false, std::nullopt};
    }
    if (m.method == "eth_submitHashrate") {
      if (!params || params->size() != 2 || !(*params)[0].is_string() || !(*params)[1].is_string())
        return {nullptr, RpcError{-32602, "expected [rate, id]"}};
      stats_.hashrates.emplace_back((*params)[0].get_string());
      stats_.hashrate_ids.emplace_back((*params)[1].get_string());
      return {true, std::nullopt};
    }
    return {nullptr, RpcError{-32601, "the method " + printable(m.method) + " does not exist/is not available"}};
  }

  // One --miner.notify POST: the work array, or the header JSON with notify_full.
  static awaitable<void> push(std::shared_ptr<Impl> self, NotifyTarget target) {
    const std::string body =
        json::serialize(self->config_.notify_full ? json::value(self->header_json()) : json::value(self->work()));
    auto transport = std::make_shared<Transport>(self->executor_, false);
    try {
      tcp::resolver resolver(self->executor_);
      const auto endpoints = co_await resolver.async_resolve(target.host, target.port, use_awaitable);
      co_await asio::async_connect(transport->socket(), endpoints, use_awaitable);
      HttpRequest request = json_post(target.host + ":" + target.port, target.path, "", body);
      request.keep_alive(false);
      const std::string bytes = serialize(std::move(request));
      co_await transport->write(bytes);
      HttpReader reader;
      const HttpResponse response = co_await reader.response(*transport);
      if (response.result_int() == 200) ++self->stats_.pushes;
    } catch (const std::exception& e) {
      spdlog::warn("getwork node {}: failed to notify the miner: {}", self->config_.name, e.what());
    }
    transport->close();
  }

  asio::any_io_executor executor_;
  GetworkNodeConfig config_;
  tcp::acceptor acceptor_;
  tcp::endpoint endpoint_;
  ServerTls tls_;
  std::mt19937_64 random_;
  std::shared_ptr<const LightCache> cache_;
  std::vector<NotifyTarget> notify_;
  std::vector<std::weak_ptr<Transport>> connections_;
  IssuedJobs jobs_;
  std::uint64_t block_ = 0;
  Hash256 header_{};
  bool stopped_ = false;
  bool down_ = false;
  bool syncing_ = false;
  unsigned http_error_ = 0;
  bool close_unanswered_ = false;
  std::chrono::milliseconds reply_delay_{0};
  GetworkNodeStats stats_;
};

GetworkNode::GetworkNode(asio::io_context& io, GetworkNodeConfig config) : impl_(std::make_shared<Impl>(io, std::move(config))) {
  impl_->start();
}
GetworkNode::~GetworkNode() { impl_->stop(); }

std::uint16_t GetworkNode::port() const noexcept { return impl_->port(); }
std::string GetworkNode::url() const { return impl_->url(); }
std::shared_ptr<const LightCache> GetworkNode::light_cache() const noexcept { return impl_->light_cache(); }
std::uint64_t GetworkNode::block() const noexcept { return impl_->block(); }
Hash256 GetworkNode::header() const noexcept { return impl_->header(); }
void GetworkNode::new_block() { impl_->new_block(); }
void GetworkNode::set_syncing(bool syncing) { impl_->set_syncing(syncing); }
void GetworkNode::set_reply_delay(std::chrono::milliseconds delay) { impl_->set_reply_delay(delay); }
void GetworkNode::set_http_error(unsigned status) { impl_->set_http_error(status); }
void GetworkNode::set_close_unanswered(bool close) { impl_->set_close_unanswered(close); }
void GetworkNode::set_down(bool down) { impl_->set_down(down); }
const GetworkNodeStats& GetworkNode::stats() const noexcept { return impl_->stats(); }

}  // namespace dagminer::stratum
