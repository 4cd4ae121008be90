// What an HTTP API request asks for, from its method and target alone: a pure function, so the
// fuzz target (tests/fuzz/api_request_fuzz.cpp) drives it without a server, after Beast's parser
// under the same limits. Text from the request
// that goes back into an answer or the log passes through `printable` first.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>  // boost/core/detail/string_view.hpp uses std::ostream without including it
#include <string>
#include <string_view>

#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>

#include "web_assets.hpp"

namespace dagminer {

// The limits the server's request parser is given (the fuzz target's too).
inline constexpr std::size_t api_header_limit = 8 * 1024;
inline constexpr std::size_t api_body_limit = 8 * 1024;

// A request body sent chunked is refused (411) once its header is read, before the parser sees
// the body: no endpoint takes a body, and Beast 1.81's chunked parser asserts when the last chunk
// arrives in pieces (boostorg/beast#2861, fixed in Boost 1.86), which would abort a build with
// assertions on.
inline constexpr std::string_view chunked_body_refusal = "chunked request bodies are not accepted: send Content-Length";

// The answer to a request Beast's parser refused (an error of its HTTP category): 413 over the
// body limit, 431 over the header limit, else 400.
boost::beast::http::status status_for_read_error(const boost::system::error_code& ec);

enum class ApiEndpoint { summary, pools, devices, metrics, history, shares, web_asset, pause, resume, pool_enable, pool_disable };

struct ApiRoute {
  std::optional<ApiEndpoint> endpoint;  // set when the request is to be served
  bool head = false;                    // answer like GET, without the body
  bool control = false;                 // changes state: needs the token when one is set
  std::string pool;                     // the decoded pool name, for pool_enable and pool_disable
  const WebAsset* asset = nullptr;      // the dashboard's file, for web_asset ("/" is /index.html)
  // When not served: the status, a message for the client and, for 405, the methods allowed.
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string error;
  std::string allow;
};

ApiRoute route_api_request(boost::beast::http::verb method, std::string_view target);

// At most `limit` bytes of `text` as printable ASCII: every other byte (control characters,
// bytes of UTF-8 sequences, valid or not) as %XX, and "..." when cut, so it is safe in JSON and
// in a log line.
std::string printable(std::string_view text, std::size_t limit = 100);

// "%41b" -> "Ab"; nullopt for a broken escape.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace dagminer
