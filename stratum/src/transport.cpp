#include "transport.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "dagminer/core/hex.hpp"

namespace dagminer::stratum {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::use_awaitable;

namespace {

std::string leaf_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return to_hex(std::span<const std::uint8_t>(md, len));
}

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Transport::Transport(asio::any_io_executor executor, bool tls)
    : context_(std::make_shared<ssl::context>(ssl::context::tls_client)), stream_(executor, *context_), tls_(tls) {}

Transport::Transport(asio::ip::tcp::socket socket, std::shared_ptr<ssl::context> server_context)
    : context_(server_context ? std::move(server_context) : std::make_shared<ssl::context>(ssl::context::tls_server)),
      stream_(std::move(socket), *context_),
      tls_(SSL_CTX_get0_certificate(context_->native_handle()) != nullptr) {}

void Transport::set_keepalive() {
  auto& s = socket();
  boost::system::error_code ec;
  s.set_option(asio::ip::tcp::socket::keep_alive(true), ec);
  s.set_option(asio::ip::tcp::no_delay(true), ec);
#if defined(TCP_KEEPIDLE) && defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
  // Notice a vanished pool within about a minute rather than the kernel's two hours.
  const int idle = 30, interval = 10, count = 3;
  ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
#endif
}

asio::awaitable<void> Transport::handshake(TlsPolicy policy) {
  if (!tls_) co_return;
  boost::system::error_code ec;
  if (!policy.ca_file.empty()) {
    context_->load_verify_file(policy.ca_file, ec);
    if (ec) throw std::runtime_error("cannot read tls.ca_file '" + policy.ca_file + "': " + ec.message());
  } else {
    context_->set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("cannot load the system certificate store: " + ec.message());
  }
  if (!policy.server_name.empty() && !is_ip_address(policy.server_name))
    SSL_set_tlsext_host_name(stream_.native_handle(), policy.server_name.c_str());
  stream_.set_verify_mode(ssl::verify_peer);
  stream_.set_verify_callback([this, policy](bool preverified, ssl::verify_context& ctx) {
    X509_STORE_CTX* store = ctx.native_handle();
    const int depth = X509_STORE_CTX_get_error_depth(store);
    if (!policy.pin.empty()) {
      // Pinning replaces the chain check: only the leaf matters.
      if (depth > 0) return true;
      const std::string seen = leaf_fingerprint(X509_STORE_CTX_get_current_cert(store));
      if (seen == policy.pin) return true;
      tls_problem_ = "certificate fingerprint " + seen + " does not match the pinned " + policy.pin;
      return false;
    }
    if (!policy.verify) return true;
    if (!preverified) {
      tls_problem_ = std::string("certificate verification failed: ") +
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)) +
                     " (set tls.ca_file, tls.fingerprint, or tls.verify: false to accept it)";
      return false;
    }
    if (depth == 0 && !ssl::host_name_verification(policy.server_name)(preverified, ctx)) {
      tls_problem_ = "the certificate is not for '" + policy.server_name + "'";
      return false;
    }
    return true;
  });
  co_await stream_.async_handshake(ssl::stream_base::client, use_awaitable);
}

asio::awaitable<void> Transport::accept() {
  if (!tls_) co_return;
  co_await stream_.async_handshake(ssl::stream_base::server, use_awaitable);
}

asio::awaitable<std::size_t> Transport::read_some(asio::mutable_buffer buffer) {
  if (tls_) co_return co_await stream_.async_read_some(buffer, use_awaitable);
  co_return co_await socket().async_read_some(buffer, use_awaitable);
}

asio::awaitable<void> Transport::write(std::string_view data) {
  if (tls_) co_await asio::async_write(stream_, asio::buffer(data), use_awaitable);
  else co_await asio::async_write(socket(), asio::buffer(data), use_awaitable);
}

void Transport::close() noexcept {
  boost::system::error_code ec;
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket().close(ec);
}

std::string Transport::peer() const {
  boost::system::error_code ec;
  const auto ep = stream_.next_layer().remote_endpoint(ec);
  if (ec) return "?";
  std::string out = ep.address().to_string();
  if (ep.address().is_v6()) out = '[' + out + ']';
  out += ':';
  out += std::to_string(ep.port());
  return out;
}

std::string Transport::describe(const boost::system::error_code& ec) const {
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return "connection closed by the peer";
  if (ec == asio::error::operation_aborted) return "connection closed";
  if (ec.category() == asio::error::get_ssl_category() || !tls_problem_.empty())
    return "TLS handshake failed: " + (tls_problem_.empty() ? ec.message() : tls_problem_);
  return ec.message();
}

Outbox::Outbox(std::shared_ptr<Transport> transport, std::function<void(const std::string&)> on_error)
    : transport_(std::move(transport)), on_error_(std::move(on_error)) {}

void Outbox::send(std::string line) {
  lines_.push_back(std::move(line));
  if (writing_) return;
  writing_ = true;
  asio::co_spawn(transport_->socket().get_executor(), drain(shared_from_this()), asio::detached);
}

asio::awaitable<void> Outbox::drain(std::shared_ptr<Outbox> self) {
  try {
    while (!self->lines_.empty()) {
      const std::string line = std::move(self->lines_.front());
      self->lines_.pop_front();
      co_await self->transport_->write(line);
    }
  } catch (const boost::system::system_error& e) {
    self->lines_.clear();
    if (self->on_error_) self->on_error_(self->transport_->describe(e.code()));
  }
  self->writing_ = false;
}

asio::ip::tcp::endpoint listen_on(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& where) {
  acceptor.open(where.protocol());
  acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  boost::system::error_code ec;
  acceptor.bind(where, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    std::string address = where.address().to_string();
    if (where.address().is_v6()) address = "[" + address + "]";
    throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(where.port()) + ": " + ec.message());
  }
  return acceptor.local_endpoint();
}

std::string certificate_fingerprint(const std::string& pem_file) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(pem_file.c_str(), "r"), &std::fclose);
  if (!f) throw std::runtime_error("cannot open " + pem_file);
  std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) throw std::runtime_error(pem_file + " holds no PEM certificate");
  return leaf_fingerprint(cert.get());
}

}  // namespace dagminer::stratum
