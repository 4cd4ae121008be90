#include "http.hpp"

#include <sstream>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/evp.h>

#include "dagminer/stratum/protocol.hpp"

namespace dagminer::stratum {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

template <class Parser>
asio::awaitable<bool> HttpReader::read(Transport& transport, Parser& parser) {
  parser.header_limit(16 * 1024);
  parser.body_limit(max_http_body);
  while (!parser.is_done()) {
    if (buffer_.size() > 0) {
      beast::error_code ec;
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
      n = co_await transport.read_some(space);
    } catch (const boost::system::system_error& e) {
      const bool closed = e.code() == asio::error::eof || e.code() == asio::ssl::error::stream_truncated;
      if (!closed) throw;
      if (!parser.got_some() && buffer_.size() == 0) co_return false;
      beast::error_code ec;
      parser.put_eof(ec);  // a response without Content-Length ends with the connection
      if (!ec && parser.is_done()) break;
      throw ProtocolError("the connection closed in the middle of an HTTP message");
    }
    buffer_.commit(n);
  }
  co_return true;
}

asio::awaitable<std::optional<HttpRequest>> HttpReader::request(Transport& transport) {
  http::request_parser<http::string_body> parser;
  if (!co_await read(transport, parser)) co_return std::nullopt;
  co_return parser.release();
}

asio::awaitable<HttpResponse> HttpReader::response(Transport& transport) {
  http::response_parser<http::string_body> parser;
  // Closed before any byte: an idle keep-alive connection the server had ended, as on the socket.
  if (!co_await read(transport, parser)) throw boost::system::system_error(asio::error::eof);
  co_return parser.release();
}

namespace {

template <class Message>
std::string to_wire(Message& message) {
  message.prepare_payload();
  std::ostringstream out;
  out << message;
  return std::move(out).str();
}

}  // namespace

std::string serialize(HttpRequest message) { return to_wire(message); }
std::string serialize(HttpResponse message) { return to_wire(message); }

std::string basic_authorization(std::string_view user_password) {
  std::string encoded(4 * ((user_password.size() + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                      reinterpret_cast<const unsigned char*>(user_password.data()), static_cast<int>(user_password.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

HttpRequest json_post(std::string_view host, std::string_view path, std::string_view basic_auth, std::string body) {
  HttpRequest request{http::verb::post, std::string(path), 11};
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "dagminer");
  request.set(http::field::content_type, "application/json");
  request.set(http::field::accept, "application/json");
  if (!basic_auth.empty()) request.set(http::field::authorization, basic_authorization(basic_auth));
  request.keep_alive(true);
  request.body() = std::move(body);
  return request;
}

HttpResponse json_response(unsigned status, std::string body, bool keep_alive) {
  HttpResponse response{static_cast<http::status>(status), 11};
  response.set(http::field::server, "dagminer");
  response.set(http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = std::move(body);
  return response;
}

}  // namespace dagminer::stratum
