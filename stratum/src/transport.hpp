// One TCP connection, plain or TLS, for the client and the simulator alike. Internal to stratum/.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

namespace dagminer::stratum {

// How a client checks the server's certificate.
struct TlsPolicy {
  bool verify = true;  // chain against the system store, or ca_file when given
  std::string ca_file;
  std::string pin;          // SHA-256 of the leaf certificate, 64 lower-case hex digits; replaces the chain check
  std::string server_name;  // SNI and the name the certificate must carry
};

class Transport {
 public:
  // A client connection; `tls` selects TLS for handshake().
  Transport(boost::asio::any_io_executor executor, bool tls);
  // An accepted connection; TLS when a server context is given.
  Transport(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> server_context);

  boost::asio::ip::tcp::socket& socket() noexcept { return stream_.next_layer(); }
  bool is_open() const noexcept { return stream_.next_layer().is_open(); }
  void set_keepalive();
  boost::asio::awaitable<void> handshake(TlsPolicy policy);  // client side; no-op without TLS
  boost::asio::awaitable<void> accept();                     // server side; no-op without TLS
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buffer);
  boost::asio::awaitable<void> write(std::string_view data);
  void close() noexcept;
  std::string peer() const;
  // Why an operation failed, in words (with the certificate problem for TLS failures).
  std::string describe(const boost::system::error_code& ec) const;

 private:
  std::shared_ptr<boost::asio::ssl::context> context_;
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  bool tls_;
  std::string tls_problem_;  // set by certificate verification
};

// Lines waiting to be written to one connection, written in order by one coroutine at a time.
class Outbox : public std::enable_shared_from_this<Outbox> {
 public:
  // on_error gets the reason when a write fails (the remaining lines are dropped).
  Outbox(std::shared_ptr<Transport> transport, std::function<void(const std::string&)> on_error);
  void send(std::string line);

 private:
  static boost::asio::awaitable<void> drain(std::shared_ptr<Outbox> self);
  std::shared_ptr<Transport> transport_;
  std::function<void(const std::string&)> on_error_;
  std::deque<std::string> lines_;
  bool writing_ = false;
};

// Opens `acceptor` on `where` (reusing the address) and listens; returns the endpoint bound (the
// port chosen when `where` asked for 0). Throws std::runtime_error naming the address.
boost::asio::ip::tcp::endpoint listen_on(boost::asio::ip::tcp::acceptor& acceptor, const boost::asio::ip::tcp::endpoint& where);

// SHA-256 of a PEM certificate file's first certificate, lower-case hex (for pinning).
std::string certificate_fingerprint(const std::string& pem_file);

}  // namespace dagminer::stratum
