// HTTP/1.1 messages over a Transport (plain or TLS), parsed and written with Boost.Beast: the
// getwork client, its notify listener and the simulator's node share these. Internal to stratum/.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/system_error.hpp>

#include "dagminer/stratum/protocol.hpp"
#include "transport.hpp"

namespace dagminer::stratum {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// JSON-RPC bodies are small; a larger one is refused as malformed.
inline constexpr std::size_t max_http_body = 1024 * 1024;

// What the reader reads from: a Transport, or the fuzz target's bytes. read_some throws
// boost::system::system_error, with asio::error::eof when the peer has closed.
template <class S>
concept ByteSource = requires(S& s, boost::asio::mutable_buffer b) {
  { s.read_some(b) } -> std::same_as<boost::asio::awaitable<std::size_t>>;
};

// Bytes read from one connection and not yet parsed (they may begin the next message).
class HttpReader {
 public:
  HttpReader() : buffer_(max_http_body + 16 * 1024) {}
  // The next request; nullopt when the peer closed the connection between messages. Throws
  // ProtocolError for a malformed or over-long message, boost::system::system_error for I/O.
  template <ByteSource Source>
  boost::asio::awaitable<std::optional<HttpRequest>> request(Source& source) {
    boost::beast::http::request_parser<boost::beast::http::string_body> parser;
    if (!co_await read(source, parser)) co_return std::nullopt;
    co_return parser.release();
  }
  template <ByteSource Source>
  boost::asio::awaitable<HttpResponse> response(Source& source) {
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    // Closed before any byte: an idle keep-alive connection the server had ended, as on the socket.
    if (!co_await read(source, parser)) throw boost::system::system_error(boost::asio::error::eof);
    co_return parser.release();
  }

 private:
  // Feeds the parser until its message is complete; false when the peer closed before any byte.
  template <ByteSource Source, class Parser>
  boost::asio::awaitable<bool> read(Source& source, Parser& parser);
  boost::beast::flat_buffer buffer_;
};

template <ByteSource Source, class Parser>
boost::asio::awaitable<bool> HttpReader::read(Source& source, Parser& parser) {
  namespace http = boost::beast::http;
  parser.header_limit(16 * 1024);
  parser.body_limit(max_http_body);
  while (!parser.is_done()) {
    if (buffer_.size() > 0) {
      boost::beast::error_code ec;
      const std::size_t used = parser.put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec && ec != http::error::need_more) throw ProtocolError("malformed HTTP message: " + ec.message());
      if (parser.is_done()) break;
      if (used > 0 && buffer_.size() > 0) continue;
    }
    if (buffer_.size() >= buffer_.max_size()) throw ProtocolError("HTTP message too large");
    std::size_t n = 0;
    try {
      const auto space = buffer_.prepare(std::min<std::size_t>(16 * 1024, buffer_.max_size() - buffer_.size()));
      n = co_await source.read_some(space);
    } catch (const boost::system::system_error& e) {
      const bool closed = e.code() == boost::asio::error::eof || e.code() == boost::asio::ssl::error::stream_truncated;
      if (!closed) throw;
      if (!parser.got_some() && buffer_.size() == 0) co_return false;
      boost::beast::error_code ec;
      parser.put_eof(ec);  // a response without Content-Length ends with the connection
      if (!ec && parser.is_done()) break;
      throw ProtocolError("the connection closed in the middle of an HTTP message");
    }
    buffer_.commit(n);
  }
  co_return true;
}

// The message as bytes on the wire (Content-Length filled in from the body).
std::string serialize(HttpRequest message);
std::string serialize(HttpResponse message);

// A JSON-RPC POST to `path` with `Host: host` (host:port), and HTTP Basic credentials when `basic_auth`
// ("user:password") is not empty.
HttpRequest json_post(std::string_view host, std::string_view path, std::string_view basic_auth, std::string body);
HttpResponse json_response(unsigned status, std::string body, bool keep_alive);
// "Basic dXNlcjpwYXNz" for "user:pass".
std::string basic_authorization(std::string_view user_password);

}  // namespace dagminer::stratum
