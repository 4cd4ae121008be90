// HTTP/1.1 messages over a Transport (plain or TLS), parsed and written with Boost.Beast: the
// getwork client, its notify listener and the simulator's node share these. Internal to stratum/.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "transport.hpp"

namespace dagminer::stratum {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// JSON-RPC bodies are small; a larger one is refused as malformed.
inline constexpr std::size_t max_http_body = 1024 * 1024;

// Bytes read from one connection and not yet parsed (they may begin the next message).
class HttpReader {
 public:
  HttpReader() : buffer_(max_http_body + 16 * 1024) {}
  // The next request; nullopt when the peer closed the connection between messages. Throws
  // ProtocolError for a malformed or over-long message, boost::system::system_error for I/O.
  boost::asio::awaitable<std::optional<HttpRequest>> request(Transport& transport);
  boost::asio::awaitable<HttpResponse> response(Transport& transport);

 private:
  // Feeds the parser until its message is complete; false when the peer closed before any byte.
  template <class Parser>
  boost::asio::awaitable<bool> read(Transport& transport, Parser& parser);
  boost::beast::flat_buffer buffer_;
};

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
