// libFuzzer target for the HTTP API's request path: the bytes a client sends, through Beast's
// request parser under the API's limits, then routing and the text echoed back into answers and
// the log. Fed as the server reads them: into a buffer of the server's size, in chunks (the
// first byte picks their size), the header and then the body, requests one after another while
// the client keeps the connection, each with a fresh parser. Invariants: no crash or sanitizer
// report; a refused read answers 400, 413 or 431; a chunked body is refused; a request is either
// routed or refused with a status and a message; every echo is printable ASCII, bounded, and
// survives JSON.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api_request.hpp"

namespace {

namespace http = boost::beast::http;
using dagminer::ApiEndpoint;

void check(bool holds) {
  if (!holds) __builtin_trap();
}

// What goes into an error body or a log line: printable ASCII, at most `limit` bytes, and the
// JSON error body it makes parses back to it.
void check_echo(std::string_view text, std::size_t limit) {
  check(text.size() <= limit);
  for (const unsigned char c : text) check(c >= 0x20 && c < 0x7f);
  const std::string body = boost::json::serialize(boost::json::object{{"error", text}});
  boost::system::error_code ec;
  const auto back = boost::json::parse(body, ec);
  check(!ec && back.at("error").as_string() == text);
}

// The longest echo: "malformed pool name in " or "no endpoint " before printable()'s 100 bytes
// and its "...".
constexpr std::size_t echo_limit = 23 + 100 + 3;

void check_route(const http::request<http::string_body>& req) {
  const dagminer::ApiRoute route = dagminer::route_api_request(req.method(), req.target());
  check_echo(dagminer::printable(req.target()), 103);  // as the log writes the target
  if (route.endpoint) {
    check(route.status == http::status::ok && route.error.empty() && route.allow.empty());
    check(!route.head || req.method() == http::verb::head);
    const bool names_pool = *route.endpoint == ApiEndpoint::pool_enable || *route.endpoint == ApiEndpoint::pool_disable;
    check(route.control == (names_pool || *route.endpoint == ApiEndpoint::pause || *route.endpoint == ApiEndpoint::resume));
    check((route.asset != nullptr) == (*route.endpoint == ApiEndpoint::web_asset));
    check(names_pool == !route.pool.empty());
    if (names_pool) check_echo("no pool named '" + dagminer::printable(route.pool) + "'", 15 + 103 + 1);
    return;
  }
  check(route.status == http::status::bad_request || route.status == http::status::not_found ||
        route.status == http::status::method_not_allowed);
  check(!route.error.empty());
  check_echo(route.error, echo_limit);
  check((route.status == http::status::method_not_allowed) == !route.allow.empty());
}

using Parser = http::request_parser<http::string_body>;

// Feeds `parser` from `input` as Beast's read_op does from a socket that delivers `chunk` bytes
// a read and then ends, until `done(parser)`: what is buffered first, a read when it needs more.
// end_of_stream when the client closed before the request began.
template <class Done>
boost::system::error_code read_until(Parser& parser, boost::beast::flat_buffer& buffer, std::string_view& input,
                                     std::size_t chunk, Done done) {
  boost::system::error_code ec;
  while (!done(parser)) {
    if (buffer.size() == 0 || ec == http::error::need_more) {
      ec = {};
      if (input.empty()) {
        if (!parser.got_some()) return http::error::end_of_stream;
        parser.put_eof(ec);
        if (ec) return ec;
        continue;
      }
      if (buffer.size() == buffer.max_size()) return http::error::buffer_overflow;
      const std::size_t n = std::min({chunk, input.size(), buffer.max_size() - buffer.size()});
      const auto space = buffer.prepare(n);
      std::copy_n(input.data(), n, static_cast<char*>(space.data()));
      buffer.commit(n);
      input.remove_prefix(n);
    }
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec && ec != http::error::need_more) return ec;
  }
  return {};
}

// Reads one request from `input` (advancing it past what the parser used) as the server does:
// the header (http::async_read_header), a refusal of a chunked body, then the rest
// (http::async_read). False when the server would close the connection after it.
bool serve_one(std::string_view& input, std::size_t chunk) {
  boost::beast::flat_buffer buffer(dagminer::api_header_limit + dagminer::api_body_limit);
  Parser parser;
  parser.header_limit(dagminer::api_header_limit);
  parser.body_limit(dagminer::api_body_limit);
  parser.eager(false);
  auto ec = read_until(parser, buffer, input, chunk, [](const Parser& p) { return p.is_header_done(); });
  if (!ec && parser.chunked()) {
    check_echo(dagminer::chunked_body_refusal, 200);
    return false;
  }
  if (!ec) {
    parser.eager(true);
    ec = read_until(parser, buffer, input, chunk, [](const Parser& p) { return p.is_done(); });
  }
  if (ec == http::error::end_of_stream) return false;
  if (ec) {
    const auto status = dagminer::status_for_read_error(ec);
    check(status == http::status::bad_request || status == http::status::payload_too_large ||
          status == http::status::request_header_fields_too_large);
    check(ec != http::error::body_limit || status == http::status::payload_too_large);
    check_echo("bad request: " + ec.message(), 200);
    return false;
  }
  const auto& req = parser.get();
  check(!req.chunked() && req.body().size() <= dagminer::api_body_limit);
  check_route(req);
  // What the parser read ahead belongs to the next request (`input` may point into `carried`).
  std::string next(static_cast<const char*>(buffer.data().data()), buffer.size());
  next.append(input);
  static thread_local std::string carried;
  carried = std::move(next);
  input = carried;
  return req.keep_alive();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = data[0] % 16 == 0 ? 65536 : data[0] % 16;  // 0: everything in one read
  std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string_view rest = input;
  for (int requests = 0; requests < 64 && serve_one(rest, chunk); ++requests) {
  }
  return 0;
}
