#include "dagminer/stratum/protocol.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dagminer/core/hex.hpp"

namespace dagminer::stratum {
namespace json = boost::json;

namespace {

const json::array& as_array(const json::value& v, std::string_view what) {
  if (!v.is_array()) throw ProtocolError(std::string(what) + " is not an array");
  return v.get_array();
}

const json::string& as_string(const json::value& v, std::string_view what) {
  if (!v.is_string()) throw ProtocolError(std::string(what) + " is not a string");
  return v.get_string();
}

Hash256 as_hash(const json::value& v, std::string_view what) {
  const auto hash = parse_hex_array<32>(as_string(v, what));
  if (!hash) throw ProtocolError(std::string(what) + " is not a 32-byte hex string");
  return *hash;
}

std::optional<double> as_number(const json::value& v) noexcept {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

bool printable_ascii(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// Pools write job ids as strings; a few write numbers. Either is kept as text.
std::string job_id_of(const json::value& v) {
  if (v.is_int64() || v.is_uint64()) return json::serialize(v);
  const std::string_view id = as_string(v, "job id");
  if (id.size() > max_job_id_bytes) throw ProtocolError("job id longer than " + std::to_string(max_job_id_bytes) + " bytes");
  if (!printable_ascii(id)) throw ProtocolError("job id " + printable(id) + " has characters other than printable ASCII");
  return std::string(id);
}

// A host name or address to connect to: printable ASCII without spaces, at most 253 bytes.
std::string host_of(const json::value& v) {
  const std::string_view host = as_string(v, "reconnect host");
  if (host.size() > 253 || !printable_ascii(host) || host.find(' ') != std::string_view::npos)
    throw ProtocolError("reconnect host " + printable(host) + " is not a host name");
  return std::string(host);
}

// The length of the well-formed UTF-8 sequence at the start of `text`, or 0 when there is none
// or it encodes a C1 control character (U+0080 to U+009F: terminals act on some of them).
std::size_t utf8_sequence(std::string_view text) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) length = 3;
  else if (lead >= 0xf0 && lead <= 0xf4) length = 4;
  if (length == 0 || length > text.size() || (lead == 0xc2 && byte(1) < 0xa0)) return 0;
  for (std::size_t i = 1; i < length; ++i)
    if ((byte(i) & 0xc0) != 0x80) return 0;
  return length;
}

bool flag_of(const json::value& v, std::string_view what) {
  if (v.is_bool()) return v.get_bool();
  if (v.is_string()) {
    const std::string s = ascii_lower(v.get_string());
    if (s == "1" || s == "true") return true;
    if (s == "0" || s == "false") return false;
  }
  throw ProtocolError(std::string(what) + " is not a boolean");
}

NonceSpace extranonce_of(const json::value& v) {
  const auto nonces = NonceSpace::from_extranonce_hex(as_string(v, "extranonce"));  // "" is no extranonce
  if (!nonces) throw ProtocolError("extranonce is not hex of at most 6 bytes");
  return *nonces;
}

std::uint64_t height_of(const json::value& v) {
  if (v.is_string()) {
    const auto h = parse_hex_u64(v.get_string());
    if (!h) throw ProtocolError("block height is not a hex number");
    return *h;
  }
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  throw ProtocolError("block height is neither a hex string nor a non-negative integer");
}

}  // namespace

// --- Backoff ----------------------------------------------------------------------------------

std::chrono::milliseconds backoff_delay(const BackoffConfig& config, unsigned failures, double unit_random) noexcept {
  const double max = static_cast<double>(std::max<std::int64_t>(0, config.max.count()));
  double base = static_cast<double>(std::max<std::int64_t>(0, config.initial.count()));
  const double multiplier = std::max(1.0, config.multiplier);
  for (unsigned i = 1; i < failures && base < max; ++i) base *= multiplier;
  base = std::min(base, max);
  const double jitter = config.jitter > 0 ? std::min(config.jitter, 1.0) : 0.0;  // NaN: none
  const double r = std::clamp(unit_random, 0.0, 1.0);
  const double delay = std::clamp(base * (1.0 + jitter * (2.0 * r - 1.0)), 0.0, max);
  return std::chrono::milliseconds(static_cast<std::int64_t>(delay));
}

std::chrono::milliseconds reconnect_wait(const BackoffConfig& config, std::chrono::milliseconds asked) noexcept {
  return std::max(std::min(asked, config.max), std::min(config.initial, config.max));
}

// --- Text from the pool -----------------------------------------------------------------------

// Escaped in full when that fits in `limit`; else cut where the marker fits too, so the result
// is never longer than `limit` and printable(printable(x)) == printable(x).
std::string printable(std::string_view text, std::size_t limit) {
  constexpr std::size_t marker_room = 32;
  const std::size_t room = limit > marker_room ? limit - marker_room : limit;
  std::string out;
  std::size_t i = 0, cut_out = 0, cut_in = 0;
  while (i < text.size() && out.size() <= limit) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (const std::size_t n = c >= 0x80 ? utf8_sequence(text.substr(i)) : 0; n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : "\\x" + to_hex(std::span(&c, 1));
      ++i;
    }
    if (out.size() <= room) cut_out = out.size(), cut_in = i;
  }
  if (i == text.size() && out.size() <= limit) return out;
  out.resize(cut_out);
  return out + "...(" + std::to_string(text.size() - cut_in) + " more bytes)";
}

// --- Framing ----------------------------------------------------------------------------------

void LineFramer::append(std::string_view data) {
  if (pos_ > 0 && pos_ * 2 >= buffer_.size()) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  buffer_.append(data);
}

std::optional<LineFramer::Event> LineFramer::next() {
  for (;;) {
    if (overlong_pending_) {
      overlong_pending_ = false;
      return Event{Event::overlong, {}};
    }
    const auto nl = buffer_.find('\n', pos_);
    if (discarding_) {
      if (nl == std::string::npos) {
        buffer_.clear();
        pos_ = 0;
        return std::nullopt;
      }
      pos_ = nl + 1;
      discarding_ = false;
      continue;
    }
    if (nl == std::string::npos) {
      if (buffered() <= limit_) return std::nullopt;
      // Report now, not at the LF: a peer may never send one.
      buffer_.clear();
      pos_ = 0;
      discarding_ = true;
      overlong_pending_ = true;
      continue;
    }
    std::size_t end = nl;
    if (end > pos_ && buffer_[end - 1] == '\r') --end;
    const std::size_t start = pos_;
    pos_ = nl + 1;
    if (end - start > limit_) return Event{Event::overlong, {}};
    std::string_view line(buffer_.data() + start, end - start);
    if (std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; })) continue;
    return Event{Event::line, std::string(line)};
  }
}

// --- Messages ---------------------------------------------------------------------------------

std::optional<std::uint64_t> Message::numeric_id() const noexcept {
  if (id.is_uint64()) return id.get_uint64();
  if (id.is_int64() && id.get_int64() >= 0) return static_cast<std::uint64_t>(id.get_int64());
  if (id.is_string()) {
    const auto& s = id.get_string();
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (!s.empty() && ec == std::errc() && end == s.data() + s.size()) return value;
  }
  return std::nullopt;
}

Message decode_message(std::string_view line) {
  boost::system::error_code ec;
  json::value root = json::parse(line, ec);
  if (ec) throw ProtocolError("invalid JSON: " + ec.message());
  if (!root.is_object()) throw ProtocolError("a message must be a JSON object");
  json::object& obj = root.get_object();
  Message m;
  if (auto* id = obj.if_contains("id")) m.id = std::move(*id);
  if (auto* method = obj.if_contains("method"); method && !method->is_null()) {
    m.method = std::string(as_string(*method, "method"));
    if (m.method.empty()) throw ProtocolError("method is empty");
  }
  if (auto* params = obj.if_contains("params")) m.params = std::move(*params);
  if (auto* result = obj.if_contains("result")) m.result = std::move(*result);
  if (auto* error = obj.if_contains("error"); error && !error->is_null()) m.error = decode_error(*error);
  if (m.is_response() && m.id.is_null() && m.result.is_null() && !m.error)
    throw ProtocolError("neither a request nor a response (no method, id or result)");
  return m;
}

RpcError decode_error(const json::value& error) {
  auto code_of = [](const json::value& v) {
    const auto n = as_number(v);
    if (!n || !std::isfinite(*n)) return 0;
    return static_cast<int>(std::clamp(*n, double(std::numeric_limits<int>::min()), double(std::numeric_limits<int>::max())));
  };
  auto text_of = [](const json::value& v) {
    return printable(v.is_string() ? std::string_view(v.get_string()) : json::serialize(v));
  };
  if (error.is_string()) return {0, text_of(error)};
  if (error.is_array()) {
    const auto& a = error.get_array();
    RpcError out;
    if (!a.empty()) out.code = code_of(a[0]);
    if (a.size() > 1) out.message = text_of(a[1]);
    return out;
  }
  if (error.is_object()) {
    const auto& o = error.get_object();
    RpcError out;
    if (auto* c = o.if_contains("code")) out.code = code_of(*c);
    if (auto* m = o.if_contains("message")) out.message = text_of(*m);
    return out;
  }
  return {0, text_of(error)};
}

std::string request_line(PoolProtocol dialect, std::uint64_t id, std::string_view method, const json::value& params) {
  json::object o;
  o["id"] = id;
  if (dialect == PoolProtocol::ethproxy || dialect == PoolProtocol::getwork) o["jsonrpc"] = "2.0";
  o["method"] = method;
  if (!params.is_null()) o["params"] = params;
  else if (dialect != PoolProtocol::ethereum_stratum_2) o["params"] = json::array();
  return json::serialize(o) + "\n";
}

std::string notification_line(PoolProtocol dialect, std::string_view method, const json::value& params) {
  json::object o;
  if (dialect != PoolProtocol::ethereum_stratum_2) o["id"] = nullptr;
  o["method"] = method;
  if (!params.is_null()) o["params"] = params;
  return json::serialize(o) + "\n";
}

std::string response_line(PoolProtocol dialect, const json::value& id, const json::value& result,
                          const std::optional<RpcError>& error) {
  json::object o;
  // JSON-RPC ids are strings or numbers; anything else (and a number Boost.JSON would write as
  // "Infinity", which is not JSON) is answered with a null id.
  const bool usable = id.is_string() || id.is_int64() || id.is_uint64() || (id.is_double() && std::isfinite(id.get_double()));
  o["id"] = usable ? id : json::value(nullptr);
  if (dialect == PoolProtocol::ethereum_stratum_2) {
    if (error) o["error"] = json::object{{"code", error->code}, {"message", error->message}};
    else if (!result.is_null()) o["result"] = result;
    return json::serialize(o) + "\n";
  }
  if (dialect == PoolProtocol::getwork) {  // a node speaks JSON-RPC 2.0 exactly: result or error
    o["jsonrpc"] = "2.0";
    if (error) o["error"] = json::object{{"code", error->code}, {"message", error->message}};
    else o["result"] = result;
    return json::serialize(o) + "\n";
  }
  if (dialect == PoolProtocol::ethproxy) o["jsonrpc"] = "2.0";
  o["result"] = result;
  if (!error) o["error"] = nullptr;
  else if (dialect == PoolProtocol::ethproxy) o["error"] = json::object{{"code", error->code}, {"message", error->message}};
  else o["error"] = json::array{error->code, error->message, nullptr};
  return json::serialize(o) + "\n";
}

// --- Dialects ---------------------------------------------------------------------------------

Es1Subscription decode_es1_subscribe_result(const json::value& result) {
  const auto& a = as_array(result, "mining.subscribe result");
  if (a.empty()) throw ProtocolError("mining.subscribe result is empty");
  Es1Subscription out;
  if (a[0].is_array()) {
    const auto& sub = a[0].get_array();
    if (sub.size() > 2 && sub[2].is_string()) out.protocol = std::string(sub[2].get_string());
  }
  if (a.size() > 1 && !a[1].is_null()) out.nonces = extranonce_of(a[1]);
  return out;
}

WorkNotice decode_es1_notify(const json::value& params) {
  const auto& a = as_array(params, "mining.notify params");
  if (a.size() < 3) throw ProtocolError("mining.notify needs [job id, seed hash, header hash, clean]");
  WorkNotice w;
  w.job_id = job_id_of(a[0]);
  w.seed = as_hash(a[1], "seed hash");
  w.header = as_hash(a[2], "header hash");
  if (a.size() > 3) w.clean = flag_of(a[3], "clean flag");
  return w;
}

double decode_es1_difficulty(const json::value& params) {
  const auto& a = as_array(params, "mining.set_difficulty params");
  const auto d = a.empty() ? std::nullopt : as_number(a[0]);
  if (!d || !std::isfinite(*d) || *d <= 0) throw ProtocolError("mining.set_difficulty needs a positive number");
  return *d;
}

NonceSpace decode_es1_extranonce(const json::value& params) {
  const auto& a = as_array(params, "mining.set_extranonce params");
  if (a.empty()) throw ProtocolError("mining.set_extranonce needs an extranonce");
  return extranonce_of(a[0]);
}

bool looks_like_ethproxy_work(const json::value& result) noexcept {
  if (!result.is_array()) return false;
  const auto& a = result.get_array();
  return a.size() >= 3 && a[0].is_string() && a[1].is_string() && a[2].is_string();
}

WorkNotice decode_ethproxy_work(const json::value& result) {
  const auto& a = as_array(result, "work");
  if (a.size() < 3) throw ProtocolError("work needs [header hash, seed hash, boundary]");
  WorkNotice w;
  w.header = as_hash(a[0], "header hash");
  w.seed = as_hash(a[1], "seed hash");
  w.target = target_from_hex(as_string(a[2], "boundary"));
  if (!w.target) throw ProtocolError("boundary is not hex of at most 32 bytes");
  if (a.size() > 3 && !a[3].is_null()) w.height = height_of(a[3]);
  w.job_id = to_hex(std::span<const std::uint8_t>(w.header.data(), 8));
  w.clean = true;  // EthProxy sends work for a new block: older headers are void
  return w;
}

PushedWork decode_pushed_work(std::string_view body) {
  boost::system::error_code ec;
  const json::value root = json::parse(body, ec);
  if (ec) throw ProtocolError("pushed work is not JSON: " + ec.message());
  PushedWork out;
  if (root.is_array()) {
    out.work = decode_ethproxy_work(root);
    out.block = out.work->height;
  } else if (root.is_object()) {
    const auto* number = root.get_object().if_contains("number");
    if (!number) throw ProtocolError("pushed header has no block number");
    out.block = height_of(*number);
  } else {
    throw ProtocolError("pushed work is neither a work array nor a block header");
  }
  return out;
}

Es2Settings decode_es2_set(const json::value& params) {
  if (!params.is_object()) throw ProtocolError("mining.set params is not an object");
  const auto& o = params.get_object();
  Es2Settings s;
  if (auto* v = o.if_contains("epoch")) {
    const auto e = decode_hex_number(*v, "epoch");
    if (e > static_cast<std::uint64_t>(max_epoch)) throw ProtocolError("epoch is out of range");
    s.epoch = static_cast<int>(e);
  }
  if (auto* v = o.if_contains("target")) {
    s.target = target_from_hex(as_string(*v, "target"));
    if (!s.target) throw ProtocolError("target is not hex of at most 32 bytes");
  }
  if (auto* v = o.if_contains("algo")) {
    s.algo = parse_algorithm(as_string(*v, "algo"));
    if (!s.algo) throw ProtocolError("unsupported algorithm '" + printable(v->get_string()) + "'");
  }
  if (auto* v = o.if_contains("extranonce")) s.nonces = extranonce_of(*v);
  return s;
}

WorkNotice decode_es2_notify(const json::value& params) {
  const auto& a = as_array(params, "mining.notify params");
  if (a.size() < 4) throw ProtocolError("mining.notify needs [job id, block height, header hash, clean]");
  WorkNotice w;
  w.job_id = job_id_of(a[0]);
  w.height = decode_hex_number(a[1], "block height");
  w.header = as_hash(a[2], "header hash");
  w.clean = flag_of(a[3], "clean flag");
  return w;
}

ReconnectRequest decode_reconnect(const json::value& params) {
  ReconnectRequest r;
  auto port_of = [](const json::value& v, bool hex) -> std::uint16_t {
    std::uint64_t port = 0;
    if (v.is_string() && hex) port = decode_hex_number(v, "port");
    else if (v.is_string()) {
      const auto& s = v.get_string();
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
      if (ec != std::errc() || end != s.data() + s.size()) port = 0;
    } else if (v.is_int64() && v.get_int64() > 0) port = static_cast<std::uint64_t>(v.get_int64());
    else if (v.is_uint64()) port = v.get_uint64();
    if (port == 0 || port > 65535) throw ProtocolError("reconnect port is not a port number");
    return static_cast<std::uint16_t>(port);
  };
  if (params.is_object()) {  // EIP-1571: port in hex
    const auto& o = params.get_object();
    if (auto* h = o.if_contains("host"); h && !h->is_null()) r.host = host_of(*h);
    if (auto* p = o.if_contains("port"); p && !p->is_null()) r.port = port_of(*p, true);
  } else if (params.is_array()) {
    const auto& a = params.get_array();
    if (a.size() > 0 && !a[0].is_null()) r.host = host_of(a[0]);
    if (a.size() > 1 && !a[1].is_null()) r.port = port_of(a[1], false);
    if (a.size() > 2 && !a[2].is_null()) {
      const auto w = as_number(a[2]);
      if (!w || !std::isfinite(*w) || *w < 0) throw ProtocolError("reconnect wait is not a number of seconds");
      r.wait = std::chrono::seconds(static_cast<std::int64_t>(std::min(*w, 600.0)));
    }
  } else if (!params.is_null()) {
    throw ProtocolError("reconnect params are neither an array nor an object");
  }
  if (r.host && r.host->empty()) r.host.reset();
  return r;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string hex_number(std::uint64_t value) {
  std::string s = to_hex_u64(value);
  const auto first = s.find_first_not_of('0');
  return first == std::string::npos ? "0" : s.substr(first);
}

std::uint64_t decode_hex_number(const json::value& value, std::string_view what) {
  if (value.is_uint64()) return value.get_uint64();
  if (value.is_int64() && value.get_int64() >= 0) return static_cast<std::uint64_t>(value.get_int64());
  const auto n = value.is_string() ? parse_hex_u64(value.get_string()) : std::nullopt;
  if (!n) throw ProtocolError(std::string(what) + " is not a hex number");
  return *n;
}

}  // namespace dagminer::stratum
