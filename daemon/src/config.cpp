#include "dagminer/daemon/config.hpp"

#include "dagminer/core/ethash.hpp"
#include "dagminer/core/file_descriptor.hpp"
#include "dagminer/core/pool_url.hpp"
#include "dagminer/gpu/launch_tuning.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace dagminer {

const PoolConfig* Config::find_pool(std::string_view name) const noexcept {
  for (const auto& p : pools)
    if (p.name == name) return &p;
  return nullptr;
}

std::string ConfigError::to_string() const {
  std::ostringstream s;
  s << file;
  if (line > 0) s << ':' << line << ':' << column;
  s << ": " << message;
  return s.str();
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || !(value >= 0) || !std::isfinite(value)) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  double ms_per_unit = 0;
  if (unit.empty() || unit == "s") ms_per_unit = 1000;
  else if (unit == "ms") ms_per_unit = 1;
  else if (unit == "m" || unit == "min") ms_per_unit = 60000;
  else if (unit == "h") ms_per_unit = 3600000;
  else return std::nullopt;
  const double ms = value * ms_per_unit;
  if (ms > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

std::optional<MemoryBudget> parse_memory_budget(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || !(value > 0) || !std::isfinite(value)) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  MemoryBudget b;
  if (unit == "%") {
    if (value > 100) return std::nullopt;
    b.fraction = value / 100;
    return b;
  }
  static const std::pair<std::string_view, double> units[] = {{"", 1},
                                                              {"B", 1},
                                                              {"K", 1e3},
                                                              {"M", 1e6},
                                                              {"G", 1e9},
                                                              {"T", 1e12},
                                                              {"KiB", 1024.0},
                                                              {"MiB", 1048576.0},
                                                              {"GiB", 1073741824.0},
                                                              {"TiB", 1099511627776.0}};
  for (const auto& [name, scale] : units)
    if (unit == name) {
      // Beyond 2^64 bytes the conversion would be undefined (the config fuzzer found 4.8e112).
      // Below one byte it would be 0, which MemoryBudget reads as "use the fraction".
      if (!(value * scale < 18446744073709551615.0) || value * scale < 1) return std::nullopt;
      b.bytes = static_cast<std::uint64_t>(value * scale);
      return b;
    }
  return std::nullopt;
}

namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Where a duration makes sense: past a day a deadline added to the clock can overflow it, and a
// zero timeout or backoff turns a dead pool into a reconnect loop.
struct DurationRange {
  milliseconds min;
  milliseconds max;
};
constexpr DurationRange timeout_range{1s, 24h};
constexpr DurationRange interval_range{1s, 24h};
constexpr DurationRange zero_allowed_range{0s, 24h};
constexpr DurationRange backoff_range{1ms, 24h};
constexpr DurationRange getwork_poll_range{10ms, 1h};

// "0", "1ms", "1s", "2m", "24h": the largest unit that divides the duration exactly.
std::string duration_text(milliseconds d) {
  if (d == 0ms) return "0";
  const std::int64_t ms = d.count();
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string key_at(const YAML::Mark& mark) { return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1); }

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Mark& mark, std::string message) {
    errors_.push_back({file_, mark.line + 1, mark.column + 1, std::move(message)});
  }
  void error(const YAML::Node& node, std::string message) { error(node.Mark(), std::move(message)); }
  std::vector<ConfigError> take_errors() { return std::move(errors_); }

  // Every key of a mapping must be known and appear once (YAML would silently keep the first of
  // two); reports the rest and returns false if not a map.
  bool check_map(const YAML::Node& node, std::string_view what, std::initializer_list<std::string_view> known) {
    if (!node.IsMap()) {
      error(node, std::string(what) + " must be a mapping of keys to values");
      return false;
    }
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : node) {
      const auto key = kv.first.as<std::string>();
      if (const auto [first, inserted] = seen.emplace(key, kv.first.Mark()); !inserted)
        error(kv.first, "duplicate key '" + key + "' in " + std::string(what) + " (first at " + key_at(first->second) +
                            "): each key may appear once");
      bool ok = false;
      for (auto k : known) ok = ok || key == k;
      if (!ok) {
        std::string list;
        for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        error(kv.first, "unknown key '" + key + "' in " + std::string(what) + " (known: " + list + ")");
      }
    }
    return true;
  }

  std::optional<std::string> string(const YAML::Node& node, std::string_view key) {
    if (!node.IsScalar()) {
      error(node, std::string(key) + " must be a single value");
      return std::nullopt;
    }
    return node.Scalar();
  }

  template <typename T>
  std::optional<T> number(const YAML::Node& node, std::string_view key, T min, T max) {
    auto text = string(node, key);
    if (!text) return std::nullopt;
    T value{};
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    // Written so that NaN, which compares false with everything, is out of every range.
    if (ec != std::errc{} || end != text->data() + text->size() || !(value >= min && value <= max)) {
      std::ostringstream range;
      range << min << " to " << max;
      error(node, std::string(key) + ": expected a number from " + range.str() + ", got '" + *text + "'");
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(const YAML::Node& node, std::string_view key) {
    auto text = string(node, key);
    if (!text) return std::nullopt;
    if (*text == "true" || *text == "yes" || *text == "on") return true;
    if (*text == "false" || *text == "no" || *text == "off") return false;
    error(node, std::string(key) + ": expected true or false, got '" + *text + "'");
    return std::nullopt;
  }

  template <typename Rep, typename Period>
  void duration(const YAML::Node& node, std::string_view key, DurationRange range, std::chrono::duration<Rep, Period>& out) {
    auto text = string(node, key);
    if (!text) return;
    const auto d = parse_duration(*text);
    if (!d || *d < range.min || *d > range.max) {
      error(node, std::string(key) + ": expected a duration from " + duration_text(range.min) + " to " +
                      duration_text(range.max) + " (500ms, 30s, 2m, 1h), got '" + *text + "'");
      return;
    }
    const auto converted = std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(*d);
    // Keys kept in whole seconds round down; "500ms" would become 0, which turns some keys off.
    if (converted.count() == 0 && d->count() != 0) {
      error(node, std::string(key) + ": counts whole seconds, '" + *text + "' would be 0 (write 0 to turn it off)");
      return;
    }
    out = converted;
  }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

// The pool client's own parser, so that a URL check-config accepts is one the client can use.
std::optional<std::string> url_problem(const std::string& url) {
  try {
    (void)parse_pool_url(url);
    return std::nullopt;
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
}

void read_backoff(Reader& r, const YAML::Node& node, BackoffConfig& b) {
  if (!r.check_map(node, "backoff", {"initial", "max", "multiplier", "jitter"})) return;
  if (node["initial"]) r.duration(node["initial"], "backoff.initial", backoff_range, b.initial);
  if (node["max"]) r.duration(node["max"], "backoff.max", backoff_range, b.max);
  if (node["multiplier"]) b.multiplier = r.number(node["multiplier"], "backoff.multiplier", 1.0, 100.0).value_or(b.multiplier);
  if (node["jitter"]) b.jitter = r.number(node["jitter"], "backoff.jitter", 0.0, 1.0).value_or(b.jitter);
  if (b.max < b.initial) r.error(node, "backoff.max must be at least backoff.initial");
}

// Keys shared by the top level (defaults for every pool) and each pool. The top level reads them
// into a PoolConfig that every pool starts from, so PoolConfig's initialisers are the only defaults.
void read_connection_settings(Reader& r, const YAML::Node& node, PoolConfig& d) {
  if (node["job_timeout"]) r.duration(node["job_timeout"], "job_timeout", timeout_range, d.job_timeout);
  if (node["response_timeout"]) r.duration(node["response_timeout"], "response_timeout", timeout_range, d.response_timeout);
  if (node["hashrate_interval"])
    r.duration(node["hashrate_interval"], "hashrate_interval", zero_allowed_range, d.hashrate_interval);
  if (node["backoff"]) read_backoff(r, node["backoff"], d.backoff);
  if (node["max_protocol_errors"])
    d.max_protocol_errors =
        r.number(node["max_protocol_errors"], "max_protocol_errors", 1u, 100000u).value_or(d.max_protocol_errors);
  if (node["max_share_rate"])
    d.max_share_rate = r.number(node["max_share_rate"], "max_share_rate", 0.01, 100000.0).value_or(d.max_share_rate);
  if (node["rejection_cooldown"])
    r.duration(node["rejection_cooldown"], "rejection_cooldown", interval_range, d.rejection_cooldown);
}

// Why a file cannot be read, or nothing: a trust anchor the daemon cannot read is said at the
// start (or the reload), not at every connection attempt. Only a regular file is opened (opening
// a device or FIFO can have effects of its own).
std::optional<std::string> unreadable_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (!FileDescriptor(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)).is_open()) return std::strerror(errno);
  return std::nullopt;
}

void read_tls(Reader& r, const YAML::Node& node, TlsConfig& tls) {
  if (!r.check_map(node, "tls", {"verify", "ca_file", "fingerprint", "server_name"})) return;
  if (node["verify"]) tls.verify = r.boolean(node["verify"], "tls.verify").value_or(tls.verify);
  if (node["ca_file"]) {
    tls.ca_file = r.string(node["ca_file"], "tls.ca_file").value_or("");
    if (!tls.ca_file.empty())
      if (auto why = unreadable_file(tls.ca_file))
        r.error(node["ca_file"], "tls.ca_file: cannot read '" + tls.ca_file + "': " + *why);
  }
  if (node["server_name"]) tls.server_name = r.string(node["server_name"], "tls.server_name").value_or("");
  if (node["fingerprint"]) {
    tls.fingerprint = r.string(node["fingerprint"], "tls.fingerprint").value_or("");
    if (!tls.fingerprint.empty() && !parse_sha256_fingerprint(tls.fingerprint))
      r.error(node["fingerprint"], "tls.fingerprint: expected a SHA-256 digest, 64 hex digits (':' separators allowed)");
  }
}

bool is_loopback(const std::string& host);
std::optional<std::string> read_listen(const std::string& listen, ListenAddress& out);

// A getwork pool's notify_listen: loopback only, since the node's POSTs carry no credentials.
void read_notify_listen(Reader& r, const YAML::Node& node, PoolConfig& p) {
  auto text = r.string(node, "notify_listen");
  if (!text || text->empty()) return;
  ListenAddress at;
  if (auto problem = read_listen(*text, at)) r.error(node, "notify_listen: " + *problem);
  else if (!is_loopback(at.host))
    r.error(node, "notify_listen: " + *text + " is not a loopback address: anyone who reaches it could push work to the miner");
  else if (at.port == 0) r.error(node, "notify_listen: give a port, the node's --miner.notify URL names it");
  else p.notify_listen = at;
}

PoolConfig read_pool(Reader& r, const YAML::Node& node, std::size_t index, const PoolConfig& defaults) {
  PoolConfig p = defaults;
  p.name = "pool" + std::to_string(index);
  p.priority = static_cast<int>(index);
  if (!r.check_map(node, "a pool",
                   {"name", "url", "user", "password", "worker", "algorithm", "priority", "weight", "enabled", "tls",
                    "job_timeout", "response_timeout", "hashrate_interval", "backoff", "max_protocol_errors", "max_share_rate",
                    "rejection_cooldown", "getwork_poll", "notify_listen"}))
    return p;
  if (node["name"]) p.name = r.string(node["name"], "name").value_or(p.name);
  if (!node["url"]) r.error(node, "pool '" + p.name + "': url is required");
  else if (auto url = r.string(node["url"], "url")) {
    p.url = *url;
    if (auto problem = url_problem(p.url)) r.error(node["url"], "url: " + *problem);
  }
  // A node mines to its own etherbase: a getwork pool needs no user.
  const bool getwork = !p.url.empty() && !url_problem(p.url) && parse_pool_url(p.url).protocol == PoolProtocol::getwork;
  if (!node["user"] && !getwork) r.error(node, "pool '" + p.name + "': user is required (wallet or account)");
  else if (node["user"]) p.user = r.string(node["user"], "user").value_or("");
  if (node["password"]) p.password = r.string(node["password"], "password").value_or(p.password);
  if (node["worker"]) p.worker = r.string(node["worker"], "worker").value_or("");
  if (node["algorithm"]) {
    if (auto name = r.string(node["algorithm"], "algorithm")) {
      if (auto algo = parse_algorithm(*name)) p.algo = *algo;
      else r.error(node["algorithm"], "algorithm: expected ethash or etchash, got '" + *name + "'");
    }
  }
  if (node["priority"]) p.priority = r.number(node["priority"], "priority", -1000000, 1000000).value_or(p.priority);
  if (node["weight"]) p.weight = r.number(node["weight"], "weight", 1u, 1000000u).value_or(p.weight);
  if (node["enabled"]) p.enabled = r.boolean(node["enabled"], "enabled").value_or(p.enabled);
  if (node["tls"]) read_tls(r, node["tls"], p.tls);
  read_connection_settings(r, node, p);
  if (node["getwork_poll"]) r.duration(node["getwork_poll"], "getwork_poll", getwork_poll_range, p.getwork_poll);
  if (node["notify_listen"]) read_notify_listen(r, node["notify_listen"], p);
  if (!getwork && (node["getwork_poll"] || node["notify_listen"]))
    r.error(node, "pool '" + p.name + "': getwork_poll and notify_listen are for getwork+http(s):// pools");
  return p;
}

// A device's index, the digits of "gpu1", "cpu2" or the bare "1" of the devices list: 0 to 255.
std::optional<int> device_index(std::string_view digits) {
  int index = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc{} || end != digits.data() + digits.size() || index < 0 || index > 255) return std::nullopt;
  return index;
}

// "1" or "gpu1" (the devices list and launch_shapes name GPUs either way).
std::optional<int> gpu_index(std::string_view text) {
  if (text.starts_with("gpu")) text.remove_prefix(3);
  return device_index(text);
}

void read_devices(Reader& r, const YAML::Node& node, DeviceSelection& d) {
  if (node.IsScalar()) {
    if (node.Scalar() == "all") return;
    if (node.Scalar() == "cpu") {
      d.all_gpus = false;
      d.cpu = 1;
      return;
    }
    r.error(node, "devices: expected 'all', 'cpu' or a list such as [0, 1, cpu], got '" + node.Scalar() + "'");
    return;
  }
  if (!node.IsSequence() || node.size() == 0) {
    r.error(node, "devices: expected 'all', 'cpu' or a non-empty list such as [0, 1, cpu]");
    return;
  }
  d.all_gpus = false;
  for (const auto& item : node) {
    auto text = r.string(item, "devices entry");
    if (!text) continue;
    if (*text == "cpu") {  // listed n times: n CPU devices, each with cpu_threads threads
      ++d.cpu;
      continue;
    }
    const auto index = gpu_index(*text);
    if (!index) r.error(item, "devices: expected a GPU index (0, 1, ... or gpu0, gpu1, ...) or cpu, got '" + *text + "'");
    else if (std::find(d.gpus.begin(), d.gpus.end(), *index) != d.gpus.end())
      r.error(item, "devices: GPU " + std::to_string(*index) + " is listed twice");
    else d.gpus.push_back(*index);
  }
}

void read_launch_shapes(Reader& r, const YAML::Node& node, std::map<int, std::string>& shapes) {
  if (!node.IsMap()) {
    r.error(node, "launch_shapes must map GPU indices to shapes, such as 0: block=128 registers=96 launch=2097152 streams=3");
    return;
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const auto index = gpu_index(key);
    if (!index) {
      r.error(kv.first, "launch_shapes: expected a GPU index (0, 1, ... or gpu0, gpu1, ...), got '" + key + "'");
      continue;
    }
    const auto text = r.string(kv.second, "launch_shapes." + key);
    if (!text) continue;
    if (!gpu::parse_launch_shape(*text))
      r.error(kv.second, "launch_shapes." + key +
                             ": expected block=32..256 (a multiple of 32) registers=128|96|80|72|64 launch=1.." +
                             std::to_string(gpu::max_launch_hashes) + " streams=1..16, got '" + *text + "'");
    else if (!shapes.emplace(*index, *text).second)
      r.error(kv.first, "launch_shapes: GPU " + std::to_string(*index) + " is given twice");
  }
}

void read_log_file(Reader& r, const YAML::Node& node, LogFileConfig& log) {
  if (!r.check_map(node, "log", {"file", "max_size", "max_files"})) return;
  if (node["file"]) log.file = r.string(node["file"], "log.file").value_or("");
  if (node["max_size"]) {
    if (auto text = r.string(node["max_size"], "log.max_size")) {
      const auto size = parse_memory_budget(*text);
      if (size && size->bytes >= 1024) log.max_size = size->bytes;
      else r.error(node["max_size"], "log.max_size: expected a size of at least 1KiB (10MiB, 500KiB), got '" + *text + "'");
    }
  }
  if (node["max_files"]) log.max_files = r.number(node["max_files"], "log.max_files", 1u, 1000u).value_or(log.max_files);
}

bool is_loopback(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// "127.0.0.1:4067" or "[::1]:4067"; host names are not resolved, so the address is exact.
std::optional<std::string> read_listen(const std::string& listen, ListenAddress& out) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return "expected address:port, e.g. 127.0.0.1:4067 or [::1]:4067";
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  unsigned char address[sizeof(in6_addr)];
  const bool v4 = !bracketed && inet_pton(AF_INET, host.c_str(), address) == 1;
  const bool v6 = bracketed && inet_pton(AF_INET6, host.c_str(), address) == 1;
  if (!v4 && !v6)
    return "'" + host +
           "' is not an IP address (IPv6 in brackets: [::1]:4067; names are not resolved, use 127.0.0.1 for localhost)";
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    return "bad port '" + port + "' (0 to 65535; 0 picks a free one)";
  out.host = host;
  out.port = static_cast<std::uint16_t>(value);
  return std::nullopt;
}

void read_api(Reader& r, const YAML::Node& node, ApiConfig& api) {
  if (!r.check_map(node, "api", {"listen", "token", "max_connections_per_address"})) return;
  if (node["max_connections_per_address"])
    if (auto n = r.number<unsigned>(node["max_connections_per_address"], "api.max_connections_per_address", 1u, 32u))
      api.max_connections_per_address = *n;
  if (node["token"]) {
    if (auto token = r.string(node["token"], "api.token")) {
      // RFC 6750's token characters, so the value goes into a header unchanged.
      constexpr std::string_view allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=";
      if (!token->empty() && (token->size() < 16 || token->find_first_not_of(allowed) != std::string::npos))
        r.error(node["token"],
                "api.token: expected at least 16 characters of letters, digits and - . _ ~ + / = (e.g. the output of openssl "
                "rand -hex 16)");
      else api.token = *token;
    }
  }
  if (node["listen"]) {
    if (auto listen = r.string(node["listen"], "api.listen")) {
      ListenAddress at;
      if (listen->empty()) {
        api.enabled = false;
      } else if (auto problem = read_listen(*listen, at)) {
        r.error(node["listen"], "api.listen: " + *problem);
      } else if (api.host = at.host, api.port = at.port; !is_loopback(api.host) && api.token.empty()) {
        r.error(node["listen"],
                "api.listen: " + *listen +
                    " is not a loopback address: set api.token first, the control endpoints would be open to the network");
      }
    }
  }
}

// The four temperature keys of `node` over `p`; `where` prefixes the messages ("", "device_settings.gpu0: ").
void read_temperature_limits(Reader& r, const YAML::Node& node, const std::string& where, ProtectionSettings& p) {
  const auto read = [&](const char* key, double& out) {
    if (node[key]) out = r.number(node[key], where + key, 0.0, 150.0).value_or(out);
  };
  read("temperature_limit", p.core.limit);
  read("temperature_resume", p.core.resume);
  read("memory_temperature_limit", p.memory.limit);
  read("memory_temperature_resume", p.memory.resume);
  const auto check = [&](const TemperatureLimit& l, const char* limit_key, const char* resume_key) {
    if (!l.on() || l.resume < l.limit) return;
    std::ostringstream m;
    m << where << resume_key << " (" << l.resume << " °C) must be below " << limit_key << " (" << l.limit
      << " °C): the device would never cool enough to mine again";
    r.error(node, m.str());
  };
  check(p.core, "temperature_limit", "temperature_resume");
  check(p.memory, "memory_temperature_limit", "memory_temperature_resume");
}

// Temperature protection (global, then per device over it) and the GPU fault action.
void read_health(Reader& r, const YAML::Node& root, Config& c) {
  read_temperature_limits(r, root, "", c.protection.defaults);
  if (const auto section = root["device_settings"]; section && !section.IsMap()) {
    r.error(section, "device_settings must be a mapping of device ids (gpu0, ...) to their settings");
  } else if (section) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : section) {
      const auto key = kv.first.as<std::string>();
      // The id as the daemon names the device: "gpu01" is gpu1, as in the devices list.
      const auto index = (key.starts_with("gpu") || key.starts_with("cpu")) ? device_index(key.substr(3)) : std::nullopt;
      if (key != "cpu" && !index) {
        r.error(kv.first, "device_settings: '" + key + "' is not a device id (gpu0, gpu1, ..., cpu)");
        continue;
      }
      const std::string id = index ? key.substr(0, 3) + std::to_string(*index) : key;
      if (const auto [first, inserted] = seen.emplace(id, kv.first.Mark()); !inserted) {
        r.error(kv.first, "device_settings: " + id + " is given twice (first at " + key_at(first->second) + ")");
        continue;
      }
      ProtectionSettings p = c.protection.defaults;
      if (r.check_map(kv.second, "device_settings." + id,
                      {"temperature_limit", "temperature_resume", "memory_temperature_limit", "memory_temperature_resume"}))
        read_temperature_limits(r, kv.second, "device_settings." + id + ".", p);
      c.protection.devices[id] = p;
    }
  }
  if (root["gpu_fault_action"]) {
    if (auto action = r.string(root["gpu_fault_action"], "gpu_fault_action")) {
      if (*action == "restart") c.gpu_fault_action = GpuFaultAction::restart;
      else if (*action == "continue") c.gpu_fault_action = GpuFaultAction::continue_;
      else r.error(root["gpu_fault_action"], "gpu_fault_action: expected restart or continue, got '" + *action + "'");
    }
  }
}

Config read_config(Reader& r, const YAML::Node& root) {
  Config c;
  if (!r.check_map(root, "the configuration",
                   {"pools",
                    "strategy",
                    "fallback_after",
                    "devices",
                    "cpu_threads",
                    "memory_budget",
                    "light_cache_dir",
                    "launch_shapes",
                    "share_journal",
                    "log_level",
                    "summary_interval",
                    "job_timeout",
                    "response_timeout",
                    "prepare_next_epoch",
                    "max_epoch",
                    "light_cache_memory",
                    "hashrate_interval",
                    "backoff",
                    "max_protocol_errors",
                    "max_share_rate",
                    "rejection_cooldown",
                    "log",
                    "api",
                    "temperature_limit",
                    "temperature_resume",
                    "memory_temperature_limit",
                    "memory_temperature_resume",
                    "device_settings",
                    "gpu_fault_action"}))
    return c;
  PoolConfig defaults;
  read_connection_settings(r, root, defaults);

  if (!root["pools"] || !root["pools"].IsSequence() || root["pools"].size() == 0) {
    r.error(root["pools"] ? root["pools"].Mark() : root.Mark(), "pools: a list of at least one pool is required");
  } else {
    std::set<std::string> names;
    std::set<std::pair<std::string, std::uint16_t>> notify_ports;
    std::size_t index = 0;
    for (const auto& node : root["pools"]) {
      c.pools.push_back(read_pool(r, node, index++, defaults));
      if (!names.insert(c.pools.back().name).second) r.error(node, "pool name '" + c.pools.back().name + "' is used twice");
      if (const auto& at = c.pools.back().notify_listen; at && !notify_ports.insert({at->host, at->port}).second)
        r.error(node["notify_listen"], "notify_listen: another pool listens there already");
    }
  }
  if (root["strategy"]) {
    if (auto s = r.string(root["strategy"], "strategy")) {
      if (*s == "failover") c.strategy = Strategy::failover;
      else if (*s == "split") c.strategy = Strategy::split;
      else r.error(root["strategy"], "strategy: expected failover or split, got '" + *s + "'");
    }
  }
  if (root["fallback_after"]) r.duration(root["fallback_after"], "fallback_after", zero_allowed_range, c.fallback_after);
  if (root["devices"]) read_devices(r, root["devices"], c.devices);
  if (root["cpu_threads"]) c.devices.cpu_threads = r.number(root["cpu_threads"], "cpu_threads", 0u, 4096u).value_or(0);
  if (root["memory_budget"]) {
    if (auto text = r.string(root["memory_budget"], "memory_budget")) {
      // A size below the smallest DAG (epoch 0's, 1 GiB less 1920 bytes) would never mine: most
      // likely a unit left out ("8", bytes).
      const auto b = parse_memory_budget(*text);
      if (b && (b->bytes == 0 || b->bytes >= 1ull << 30)) c.memory = *b;  // bytes 0: a percentage
      else
        r.error(root["memory_budget"],
                "memory_budget: expected a size of at least 1GiB (8GiB, 4000MiB, 5G) or a percentage "
                "of free memory (90%), got '" +
                    *text + "'");
    }
  }
  if (root["prepare_next_epoch"])
    c.prepare_next_epoch = r.boolean(root["prepare_next_epoch"], "prepare_next_epoch").value_or(c.prepare_next_epoch);
  if (root["max_epoch"]) c.max_epoch = r.number(root["max_epoch"], "max_epoch", 0, max_epoch).value_or(c.max_epoch);
  if (root["light_cache_memory"]) {
    if (auto text = r.string(root["light_cache_memory"], "light_cache_memory")) {
      const auto size = parse_memory_budget(*text);
      if (size && size->bytes >= light_cache_bytes(0)) c.light_cache_memory = size->bytes;
      else
        r.error(root["light_cache_memory"],
                "light_cache_memory: expected a size of at least 16MiB (1GiB, 512MiB), got '" + *text + "'");
    }
  }
  if (root["light_cache_dir"]) c.light_cache_dir = r.string(root["light_cache_dir"], "light_cache_dir").value_or("");
  if (root["launch_shapes"]) read_launch_shapes(r, root["launch_shapes"], c.launch_shapes);
  if (root["share_journal"]) c.share_journal = r.string(root["share_journal"], "share_journal").value_or("");
  if (root["log_level"]) {
    if (auto level = r.string(root["log_level"], "log_level")) {
      static const std::set<std::string> levels{"trace", "debug", "info", "warning", "error", "critical", "off"};
      if (levels.count(*level)) c.log_level = *level;
      else
        r.error(root["log_level"],
                "log_level: expected trace, debug, info, warning, error, critical or off, got '" + *level + "'");
    }
  }
  if (root["summary_interval"]) r.duration(root["summary_interval"], "summary_interval", interval_range, c.summary_interval);
  if (root["log"]) read_log_file(r, root["log"], c.log);
  if (root["api"]) read_api(r, root["api"], c.api);
  read_health(r, root, c);
  return c;
}

// Where a second document starts, if there is one. The parser is asked for two documents at
// most: yaml-cpp 0.7's LoadAll loops forever, allocating, on some broken input (",").
std::optional<YAML::Mark> second_document(const std::string& yaml) {
  struct DocumentStarts final : YAML::EventHandler {
    YAML::Mark last;
    void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } starts;
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  if (!parser.HandleNextDocument(starts) || !parser.HandleNextDocument(starts)) return std::nullopt;
  return starts.last;
}

}  // namespace

ConfigLoad parse_config(std::string_view text, const std::string& file_name) {
  Reader r(file_name);
  ConfigLoad out;
  try {
    const std::string yaml(text);
    const YAML::Node root = YAML::Load(yaml);
    if (!root || root.IsNull()) {
      out.errors.push_back({file_name, 0, 0, "the configuration is empty"});
      return out;
    }
    // A second document would be ignored: refuse it rather than run on half the file.
    if (const auto second = second_document(yaml))
      r.error(*second, "a second YAML document ('---'): the configuration is one document, remove the rest");
    Config c = read_config(r, root);
    out.errors = r.take_errors();
    std::stable_sort(out.errors.begin(), out.errors.end(),
                     [](const auto& a, const auto& b) { return std::pair(a.line, a.column) < std::pair(b.line, b.column); });
    if (out.errors.empty()) out.config = std::move(c);
  } catch (const YAML::Exception& e) {
    out.errors = r.take_errors();
    out.errors.push_back({file_name, e.mark.line + 1, e.mark.column + 1, e.msg});
  }
  return out;
}

namespace {

// A file's text, or why it cannot be the configuration.
struct FileText {
  std::string text;
  std::string problem;  // empty when text is the whole file
};

FileText problem(std::string why) { return {{}, std::move(why)}; }

// Only a regular file is read, opened without blocking (a FIFO with no writer would hang the
// daemon), and only up to the size cap (/dev/zero never ends).
FileText read_config_text(const std::filesystem::path& file) {
  const FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.is_open()) return problem(std::string("cannot read the file: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return problem("not a regular file (a directory, FIFO or device): give the path of the YAML file");
  const std::string too_large = "larger than " + std::to_string(max_config_bytes >> 20) + " MiB: not a configuration file";
  if (static_cast<std::uint64_t>(st.st_size) > max_config_bytes) return problem(too_large);
  std::string text(max_config_bytes + 1, '\0');  // one byte more shows a file that grew since fstat
  std::size_t size = 0;
  while (size < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + size, text.size() - size);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return problem(std::string("cannot read the file: ") + std::strerror(errno));
    size += static_cast<std::size_t>(n);
  }
  if (size > max_config_bytes) return problem(too_large);
  text.resize(size);
  return {std::move(text), {}};
}

}  // namespace

ConfigLoad load_config(const std::filesystem::path& file) {
  const FileText file_text = read_config_text(file);
  if (!file_text.problem.empty()) return {std::nullopt, {{file.string(), 0, 0, file_text.problem}}};
  return parse_config(file_text.text, file.string());
}

}  // namespace dagminer
