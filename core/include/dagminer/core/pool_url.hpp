// Pool URLs and the other pool settings that need parsing before any connection: one parser,
// used by the configuration loader (which reports the problem with its line) and by the pool
// clients (which take the parts). Standard library only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dagminer {

// The wire protocol a pool speaks, from the URL scheme. `automatic` (stratum+tcp) tries
// EthereumStratum/1.0.0 and falls back to EthProxy. `getwork` is a node's HTTP JSON-RPC
// (eth_getWork / eth_submitWork), not a Stratum dialect.
enum class PoolProtocol { automatic, ethproxy, ethereum_stratum_1, ethereum_stratum_2, getwork };
const char* to_string(PoolProtocol protocol) noexcept;  // "EthProxy", "EthereumStratum/1.0.0", ...

struct PoolUrl {
  PoolProtocol protocol = PoolProtocol::automatic;
  bool tls = false;
  std::string host;  // DNS name or address, IPv6 without brackets
  std::uint16_t port = 0;
  // getwork only: the HTTP path ("/" when none is given) and the HTTP Basic credentials from
  // user:password@ ("user:password" as written, empty when none).
  std::string path = "/";
  std::string basic_auth;
};

// stratum[1|2|3]+(tcp|ssl|tls)://host:port, or getwork+http(s)://[user:password@]host:port[/path]
// for a node; IPv6 as [addr]:port. Throws std::invalid_argument naming the URL and what is wrong
// with it (the credentials are not repeated in the message).
PoolUrl parse_pool_url(std::string_view url);
std::string to_string(const PoolUrl& url);  // host:port, IPv6 in brackets
// The URL as it may be shown (logs, the API): user:password@ replaced by ***@.
std::string redact_credentials(std::string_view url);

// A SHA-256 certificate fingerprint as users write it (64 hex digits, ':' separators allowed,
// any case), normalised to 64 lower-case hex digits; nullopt when it is not one.
std::optional<std::string> parse_sha256_fingerprint(std::string_view text);

}  // namespace dagminer
