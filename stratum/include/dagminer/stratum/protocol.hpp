// The pure parts of Stratum: reconnect backoff, line framing, JSON-RPC message
// decoding and the dialects' payloads. No I/O here: the client, the simulator, the tests and the
// fuzzer share these. Decoders throw ProtocolError with a message that says what was wrong.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "dagminer/core/job.hpp"
#include "dagminer/core/pool_config.hpp"
#include "dagminer/core/pool_url.hpp"

namespace dagminer::stratum {

struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --- Reconnect backoff ------------------------------------------------------------------------

// Delay before reconnect attempt `failures` (1 = the first retry): initial * multiplier^(n-1),
// capped at max, then jittered by +/- jitter; `unit_random` in [0, 1) picks the jitter. Never
// above max, never negative.
std::chrono::milliseconds backoff_delay(const BackoffConfig& config, unsigned failures, double unit_random) noexcept;
// The wait before following a pool's reconnect request for `asked`: at least backoff.initial,
// at most backoff.max (a pool must not park the miner longer than its own backoff would).
std::chrono::milliseconds reconnect_wait(const BackoffConfig& config, std::chrono::milliseconds asked) noexcept;

// --- Text from the pool -----------------------------------------------------------------------

// A pool's words as they may appear in a log line, the share journal or the API: control
// characters and bytes that are not UTF-8 escaped (\n, \x1b), at most `limit` bytes kept and the
// cut marked. The decoders apply it where pool text enters, so nothing downstream has to.
inline constexpr std::size_t max_pool_text = 200;
std::string printable(std::string_view text, std::size_t limit = max_pool_text);
// Job ids go back verbatim with shares, so they cannot be escaped: an id longer than this or
// with characters other than printable ASCII is refused as a protocol error.
inline constexpr std::size_t max_job_id_bytes = 128;

// --- Line framing -----------------------------------------------------------------------------

inline constexpr std::size_t max_line_bytes = 64 * 1024;

// Splits a byte stream into LF-terminated lines (a CR before the LF is dropped, blank lines are
// skipped). A line longer than the limit is discarded up to its LF and reported once.
class LineFramer {
 public:
  explicit LineFramer(std::size_t limit = max_line_bytes) : limit_(limit) {}

  struct Event {
    enum Kind { line, overlong } kind = line;
    std::string text;  // the line without its terminator (empty for overlong)
  };
  void append(std::string_view data);
  std::optional<Event> next();
  std::size_t buffered() const noexcept { return buffer_.size() - pos_; }

 private:
  std::size_t limit_;
  std::string buffer_;
  std::size_t pos_ = 0;      // start of the unread part of buffer_
  bool discarding_ = false;  // inside an over-long line, skipping to its LF
  bool overlong_pending_ = false;
};

// --- JSON-RPC messages ------------------------------------------------------------------------

struct RpcError {
  int code = 0;
  std::string message;
};

// One decoded line. A response has no method; `id` is null when absent or null.
struct Message {
  boost::json::value id;
  std::string method;
  boost::json::value params;
  boost::json::value result;
  std::optional<RpcError> error;

  bool is_response() const noexcept { return method.empty(); }
  // The id as a number when it is a non-negative integer (or a decimal string of one).
  std::optional<std::uint64_t> numeric_id() const noexcept;
};

Message decode_message(std::string_view line);
// Errors arrive as a string, an array [code, message, ...] or an object {code, message}.
RpcError decode_error(const boost::json::value& error);

// Request / notification / response lines, LF-terminated. EthereumStratum/2.0.0 omits the
// "jsonrpc" member and never sends a null id; the other dialects send JSON-RPC 1.0 style lines.
std::string request_line(PoolProtocol dialect, std::uint64_t id, std::string_view method, const boost::json::value& params);
std::string notification_line(PoolProtocol dialect, std::string_view method, const boost::json::value& params);
std::string response_line(PoolProtocol dialect, const boost::json::value& id, const boost::json::value& result,
                          const std::optional<RpcError>& error);

// --- Dialect payloads ------------------------------------------------------------------------

// A job as a dialect announces it, before the session's difficulty and extranonce apply.
struct WorkNotice {
  std::string job_id;
  std::optional<Hash256> seed;  // EthereumStratum/2.0.0 announces the epoch in mining.set instead
  Hash256 header{};
  std::optional<Target> target;  // EthProxy sends the boundary with each job
  bool clean = false;
  std::optional<std::uint64_t> height;
};

// EthereumStratum/1.0.0: mining.subscribe result [["mining.notify", id, "EthereumStratum/1.0.0"], extranonce].
struct Es1Subscription {
  std::string protocol;  // as reported, may be empty
  NonceSpace nonces;
};
Es1Subscription decode_es1_subscribe_result(const boost::json::value& result);
WorkNotice decode_es1_notify(const boost::json::value& params);
double decode_es1_difficulty(const boost::json::value& params);
NonceSpace decode_es1_extranonce(const boost::json::value& params);

// EthProxy: [header, seed, boundary(, height)] in an eth_getWork result or a method-less push.
// The job id is the header's first 8 bytes in hex (EthProxy has no job ids).
WorkNotice decode_ethproxy_work(const boost::json::value& result);
bool looks_like_ethproxy_work(const boost::json::value& result) noexcept;

// A node's --miner.notify POST body: the work array [header, seed, boundary, block] (decoded as
// EthProxy work), or with --miner.notify.full the block header as a JSON object, which carries
// the block number but not the seal hash to mine on.
struct PushedWork {
  std::optional<WorkNotice> work;
  std::optional<std::uint64_t> block;
};
PushedWork decode_pushed_work(std::string_view body);

// EthereumStratum/2.0.0 (EIP-1571) mining.set: every member optional.
struct Es2Settings {
  std::optional<int> epoch;
  std::optional<Target> target;
  std::optional<Algorithm> algo;
  std::optional<NonceSpace> nonces;  // an empty extranonce string cancels: the whole space
};
Es2Settings decode_es2_set(const boost::json::value& params);
WorkNotice decode_es2_notify(const boost::json::value& params);

// client.reconnect [host, port, wait] / mining.reconnect {host, port(hex), resume}.
struct ReconnectRequest {
  std::optional<std::string> host;
  std::optional<std::uint16_t> port;
  std::chrono::seconds wait{0};
};
ReconnectRequest decode_reconnect(const boost::json::value& params);

// Pools' words compared without regard to case (ASCII).
std::string ascii_lower(std::string_view text);

// EIP-1571 writes numbers as minimal lower-case hex without 0x.
std::string hex_number(std::uint64_t value);
std::uint64_t decode_hex_number(const boost::json::value& value, std::string_view what);

}  // namespace dagminer::stratum
