#include "api_request.hpp"

#include <array>
#include <utility>

namespace dagminer {

namespace http = boost::beast::http;

namespace {

ApiRoute refuse(http::status status, std::string error, std::string allow = {}) {
  ApiRoute r;
  r.status = status;
  r.error = std::move(error);
  r.allow = std::move(allow);
  return r;
}

ApiRoute read_endpoint(http::verb method, ApiEndpoint endpoint) {
  if (method != http::verb::get && method != http::verb::head)
    return refuse(http::status::method_not_allowed, "method not allowed: use GET", "GET, HEAD");
  ApiRoute r;
  r.endpoint = endpoint;
  r.head = method == http::verb::head;
  return r;
}

ApiRoute control_endpoint(http::verb method, ApiEndpoint endpoint, std::string pool = {}) {
  if (method != http::verb::post) return refuse(http::status::method_not_allowed, "method not allowed: use POST", "POST");
  ApiRoute r;
  r.endpoint = endpoint;
  r.control = true;
  r.pool = std::move(pool);
  return r;
}

}  // namespace

ApiRoute route_api_request(http::verb method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  static constexpr std::array<std::pair<std::string_view, ApiEndpoint>, 6> reads = {{{"/api/v1/summary", ApiEndpoint::summary},
                                                                                     {"/api/v1/pools", ApiEndpoint::pools},
                                                                                     {"/api/v1/devices", ApiEndpoint::devices},
                                                                                     {"/api/v1/history", ApiEndpoint::history},
                                                                                     {"/api/v1/shares", ApiEndpoint::shares},
                                                                                     {"/metrics", ApiEndpoint::metrics}}};
  for (const auto& [name, endpoint] : reads)
    if (path == name) return read_endpoint(method, endpoint);
  const std::string_view file = path == "/" ? "/index.html" : path;
  for (const WebAsset& asset : web_assets())
    if (asset.path == file) {
      ApiRoute r = read_endpoint(method, ApiEndpoint::web_asset);
      if (r.endpoint) r.asset = &asset;
      return r;
    }
  if (path == "/api/v1/pause") return control_endpoint(method, ApiEndpoint::pause);
  if (path == "/api/v1/resume") return control_endpoint(method, ApiEndpoint::resume);
  if (constexpr std::string_view prefix = "/api/v1/pools/"; path.starts_with(prefix)) {
    const std::string_view rest = path.substr(prefix.size());
    const auto slash = rest.find('/');
    const std::string_view verb = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (verb == "enable" || verb == "disable") {
      const auto name = percent_decode(rest.substr(0, slash));
      if (!name || name->empty()) return refuse(http::status::bad_request, "malformed pool name in " + printable(path));
      return control_endpoint(method, verb == "enable" ? ApiEndpoint::pool_enable : ApiEndpoint::pool_disable, *name);
    }
  }
  return refuse(http::status::not_found, "no endpoint " + printable(path));
}

std::string printable(std::string_view text, std::size_t limit) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = c >= 0x20 && c < 0x7f && c != '%';
    if (out.size() + (plain ? 1 : 3) > limit) return out + "...";
    if (plain) {
      out += ch;
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    unsigned value = 0;
    for (std::size_t k = 1; k <= 2; ++k) {
      const char c = text[i + k];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + static_cast<unsigned>(digit);
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

}  // namespace dagminer
