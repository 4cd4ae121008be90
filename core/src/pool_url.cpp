#include "dagminer/core/pool_url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace dagminer {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void bad_url(std::string_view url, const std::string& why) {
  throw std::invalid_argument("invalid pool URL '" + std::string(url) + "': " + why);
}

std::uint16_t parse_port(std::string_view url, std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    bad_url(url, "port '" + std::string(text) + "' is not a number from 1 to 65535");
  return static_cast<std::uint16_t>(value);
}

// A host name or address: letters, digits, '.', '-', '_' (and ':' inside brackets). Anything
// else (spaces, control characters, '%') would only fail later, at resolve time.
bool plausible_host(std::string_view host, bool bracketed) {
  return std::all_of(host.begin(), host.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || (bracketed && c == ':');
  });
}

}  // namespace

const char* to_string(PoolProtocol protocol) noexcept {
  switch (protocol) {
    case PoolProtocol::automatic: return "automatic";
    case PoolProtocol::ethproxy: return "EthProxy";
    case PoolProtocol::ethereum_stratum_1: return "EthereumStratum/1.0.0";
    case PoolProtocol::ethereum_stratum_2: return "EthereumStratum/2.0.0";
    case PoolProtocol::getwork: return "getwork";
  }
  return "unknown";
}

namespace {

// getwork+http(s)://[user:password@]host:port[/path]: the node's HTTP JSON-RPC endpoint.
std::string_view take_getwork_parts(std::string_view url, std::string_view rest, PoolUrl& out) {
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    out.path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
    const bool plain = std::all_of(out.path.begin(), out.path.end(),
                                   [](char c) { return std::isgraph(static_cast<unsigned char>(c)) && c != '#' && c != '?'; });
    if (!plain) bad_url(url, "the path may hold no spaces, control characters, '?' or '#'");
  }
  const auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    out.basic_auth = std::string(rest.substr(0, at));
    rest = rest.substr(at + 1);
    if (out.basic_auth.find(':') == std::string::npos || out.basic_auth.front() == ':')
      bad_url(url, "credentials before '@' must be user:password");
  }
  return rest;
}

PoolUrl parse_url(std::string_view url, std::string_view shown) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) bad_url(shown, "expected scheme://host:port, e.g. stratum2+tcp://pool.example:4444");
  const std::string scheme = lower(url.substr(0, sep));
  const auto plus = scheme.find('+');
  const std::string base = scheme.substr(0, plus);
  const std::string transport = plus == std::string::npos ? std::string() : scheme.substr(plus + 1);
  PoolUrl out;
  if (base == "stratum") out.protocol = PoolProtocol::automatic;
  else if (base == "stratum1") out.protocol = PoolProtocol::ethproxy;
  else if (base == "stratum2") out.protocol = PoolProtocol::ethereum_stratum_1;
  else if (base == "stratum3") out.protocol = PoolProtocol::ethereum_stratum_2;
  else if (base == "getwork") out.protocol = PoolProtocol::getwork;
  else
    bad_url(shown, "unknown scheme '" + scheme +
                       "' (expected stratum, stratum1, stratum2 or stratum3 followed by +tcp, +ssl or +tls, or getwork+http, "
                       "getwork+https)");
  if (out.protocol == PoolProtocol::getwork) {
    if (transport == "http") out.tls = false;
    else if (transport == "https") out.tls = true;
    else bad_url(shown, "unknown transport in scheme '" + scheme + "' (expected getwork+http or getwork+https)");
  } else if (transport == "tcp") out.tls = false;
  else if (transport == "ssl" || transport == "tls") out.tls = true;
  else bad_url(shown, "unknown transport in scheme '" + scheme + "' (expected +tcp, +ssl or +tls)");

  std::string_view rest = url.substr(sep + 3);
  if (out.protocol == PoolProtocol::getwork) {
    rest = take_getwork_parts(shown, rest, out);
  } else {
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) bad_url(shown, "a pool URL has no path");
    if (rest.find('@') != std::string_view::npos) bad_url(shown, "credentials belong in user/password, not in the URL");
  }
  std::string_view port;
  bool bracketed = false;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) bad_url(shown, "unterminated '[' in an IPv6 address");
    out.host = std::string(rest.substr(1, close - 1));
    if (close + 1 >= rest.size() || rest[close + 1] != ':') bad_url(shown, "missing :port after the IPv6 address");
    port = rest.substr(close + 2);
    bracketed = true;
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) bad_url(shown, "missing :port");
    out.host = std::string(rest.substr(0, colon));
    if (out.host.find(':') != std::string::npos) bad_url(shown, "write an IPv6 address in brackets: [addr]:port");
    port = rest.substr(colon + 1);
  }
  if (out.host.empty()) bad_url(shown, "missing host");
  if (!plausible_host(out.host, bracketed)) bad_url(shown, "host '" + out.host + "' is not a host name or address");
  out.port = parse_port(shown, port);
  return out;
}

}  // namespace

PoolUrl parse_pool_url(std::string_view url) { return parse_url(url, redact_credentials(url)); }

std::string redact_credentials(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  const std::string_view authority = url.substr(sep + 3, url.find('/', sep + 3) - (sep + 3));
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, sep + 3)) + "***" + std::string(url.substr(sep + 3 + at));
}

std::string to_string(const PoolUrl& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  return (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);
}

std::optional<std::string> parse_sha256_fingerprint(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (digits.size() != 64) return std::nullopt;
  return digits;
}

}  // namespace dagminer
