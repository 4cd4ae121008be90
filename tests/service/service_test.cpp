// The daemon as a service, end to end: `dagminer run` as a subprocess (CPU backend, a simulated
// pool on loopback) under the systemd notify protocol, through its HTTP API and /metrics, in its
// logs, and installed by `cmake --install` with the unit checked by `systemd-analyze verify`.
#include <algorithm>
#include <csignal>
#include <ctime>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "daemon_harness.hpp"
#include "dagminer/daemon/build_info.hpp"
#include "dagminer/daemon/config.hpp"
#include "prometheus_text.hpp"
#include "service_harness.hpp"

namespace dagminer::test {
namespace {

// --- the systemd notify socket -------------------------------------------------------------

class NotifySocket {
 public:
  NotifySocket() {
    std::random_device rd;
    path_ = (std::filesystem::temp_directory_path() / ("dagminer-notify-" + std::to_string(rd()) + ".sock")).string();
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    if (fd_ < 0 || bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot bind the notify socket " + path_);
  }
  ~NotifySocket() {
    close(fd_);
    unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

  // Collects datagrams until pred(all so far) holds or the timeout passes; returns pred's last value.
  bool receive_until(const std::function<bool(const std::vector<std::string>&)>& pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred(messages)) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const auto n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) messages.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  std::vector<std::string> messages;

 private:
  std::string path_;
  int fd_ = -1;
};

// Index of the first message at or after `from` that starts with `prefix`, or -1.
long find_message(const std::vector<std::string>& messages, const std::string& prefix, long from) {
  for (auto i = static_cast<std::size_t>(std::max(from, 0L)); i < messages.size(); ++i)
    if (messages[i].starts_with(prefix)) return static_cast<long>(i);
  return -1;
}

std::string joined(const std::vector<std::string>& messages) {
  std::string out;
  for (const auto& m : messages) out += "[" + m + "] ";
  return out;
}

// A reload before the start is over (no pool up yet, so no READY) says neither RELOADING nor
// READY: systemd would take that READY for the end of the start.
TEST_F(ServiceTest, AReloadBeforeTheFirstReadySaysNothing) {
  NotifySocket notify;
  DaemonProcess d(service_config("stratum+tcp://127.0.0.1:1", ""), {"NOTIFY_SOCKET=" + notify.path()});
  ASSERT_TRUE(notify.receive_until([](const auto& all) { return find_message(all, "STATUS=", 0) >= 0; }, 30s)) << d.log();
  d.signal(SIGHUP);
  ASSERT_TRUE(d.wait_for_log("configuration reloaded", 10s)) << d.log();
  notify.receive_until([](const auto&) { return false; }, 1500ms);
  EXPECT_LT(find_message(notify.messages, "READY=1", 0), 0) << joined(notify.messages);
  EXPECT_LT(find_message(notify.messages, "RELOADING=1", 0), 0) << joined(notify.messages);
  stop_cleanly(d);
}

TEST_F(ServiceTest, NotifiesReadyStatusWatchdogReloadingStoppingInOrder) {
  NotifySocket notify;
  auto d = start("", {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=2000000"});
  auto& m = notify.messages;
  // READY once mining, then the status line and the watchdog keep coming.
  ASSERT_TRUE(notify.receive_until(
      [](const auto& all) {
        const long ready = find_message(all, "READY=1", 0);
        return ready >= 0 && find_message(all, "STATUS=", ready + 1) >= 0 && find_message(all, "WATCHDOG=1", ready + 1) >= 0;
      },
      60s))
      << joined(m) << d->log();
  const long ready = find_message(m, "READY=1", 0);
  const std::string status = m[static_cast<std::size_t>(find_message(m, "STATUS=", ready + 1))];
  EXPECT_NE(status.find("pools up"), std::string::npos) << status;
  // Once the CPU backend has a rate, the STATUS line shows it in a unit that keeps it readable
  // (a few kH/s, never "0.00 MH/s").
  const std::regex nonzero_rate_re("STATUS=(0\\.0[1-9]|0\\.[1-9][0-9]|[1-9][0-9]*\\.[0-9]{2}) (H|kH|MH|GH)/s, .*");
  ASSERT_TRUE(notify.receive_until(
      [&](const auto& all) {
        return std::any_of(all.begin(), all.end(), [&](const std::string& s) { return std::regex_match(s, nonzero_rate_re); });
      },
      30s))
      << joined(m);

  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  d->signal(SIGHUP);
  ASSERT_TRUE(notify.receive_until(
      [&](const auto& all) {
        const long reloading = find_message(all, "RELOADING=1", ready + 1);
        return reloading >= 0 && find_message(all, "READY=1", reloading + 1) >= 0;
      },
      10s))
      << joined(m) << d->log();
  // RELOADING carries the monotonic time it was sent at (systemd matches it to the reload).
  const std::string reloading = m[static_cast<std::size_t>(find_message(m, "RELOADING=1", ready + 1))];
  const std::regex usec_re("RELOADING=1\nMONOTONIC_USEC=([0-9]+)");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(reloading, match, usec_re)) << reloading;
  EXPECT_GE(std::stoull(match[1]), static_cast<unsigned long long>(now.tv_sec) * 1000000ull);

  d->signal(SIGTERM);
  EXPECT_EQ(d->wait_exit(10s), 0) << d->log();
  notify.receive_until([&](const auto& all) { return find_message(all, "STOPPING=1", 0) >= 0; }, 2s);
  const long reload_at = find_message(m, "RELOADING=1", 0);
  const long ready_again = find_message(m, "READY=1", reload_at + 1);
  const long stopping = find_message(m, "STOPPING=1", 0);
  EXPECT_GT(stopping, ready_again) << joined(m);
  EXPECT_EQ(find_message(m, "READY=1", ready_again + 1), -1) << "READY=1 after the reload only once: " << joined(m);
  EXPECT_EQ(find_message(m, "READY=1", stopping), -1) << joined(m);
}

TEST_F(ServiceTest, ApiReadEndpointsDescribeTheDaemon) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();
  ASSERT_TRUE(eventually([&] { return accepted() >= 2; }, 60s)) << d->log();
  // The daemon's books catch up with the pool's answer.
  ASSERT_TRUE(eventually(
      [&] { return get(port, "/api/v1/summary").json().at("shares").at("accepted").to_number<std::uint64_t>() >= 2; }, 10s));

  const Reply summary = get(port, "/api/v1/summary?verbose=1");  // a query string is ignored
  ASSERT_EQ(summary.status, 200u) << summary.body;
  EXPECT_EQ(summary.header("content-type"), "application/json");
  const auto s = summary.json();
  const dagminer::BuildInfo& build = dagminer::build_info();  // the daemon is built from the same sources
  EXPECT_EQ(s.at("version").as_string(), build.version);
  EXPECT_EQ(s.at("build").at("commit").as_string(), build.commit);
  EXPECT_EQ(s.at("build").at("cuda_architectures").as_string(), build.cuda_architectures);
  EXPECT_EQ(s.at("paused"), false);
  EXPECT_EQ(s.at("mining"), true);
  EXPECT_EQ(s.at("healthy"), true);
  EXPECT_EQ(s.at("pools").at("total"), 1);
  EXPECT_EQ(s.at("pools").at("up"), 1);
  EXPECT_EQ(s.at("devices"), 1);
  EXPECT_GT(s.at("uptime_seconds").as_double(), 0);

  const Reply pools = get(port, "/api/v1/pools");
  ASSERT_EQ(pools.status, 200u) << pools.body;
  const auto pool = pools.json().at("pools").at(0);
  EXPECT_EQ(pool.at("name"), "solo");
  EXPECT_EQ(pool.at("url").as_string(), pools_.url(pool_));
  EXPECT_EQ(pool.at("enabled"), true);
  EXPECT_EQ(pool.at("up"), true);
  EXPECT_EQ(pool.at("mining"), true);
  EXPECT_EQ(pool.at("epoch"), 0);
  EXPECT_TRUE(pool.at("latency_ms").is_int64()) << pools.body;  // shares were answered
  EXPECT_GE(pool.at("shares").at("accepted").to_number<std::uint64_t>(), 2u);

  const Reply devices = get(port, "/api/v1/devices");
  ASSERT_EQ(devices.status, 200u) << devices.body;
  const auto device = devices.json().at("devices").at(0);
  EXPECT_EQ(device.at("kind"), "cpu");
  EXPECT_TRUE(device.at("gpu_memory").is_null());
  EXPECT_TRUE(eventually([&] { return device_hashes(port) > 0; }, 10s)) << "counted as each batch completes";

  for (const Reply* r : {&summary, &pools, &devices}) EXPECT_EQ(r->body.find(pool_password), std::string::npos);
  EXPECT_EQ(get(port, "/metrics").body.find(pool_password), std::string::npos);
  stop_cleanly(*d);
}

TEST_F(ServiceTest, ApiControlNeedsTheToken) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();

  // No header, or one that is not a bearer token: 401 with a challenge; a wrong token: 403.
  for (const std::string& header :
       {std::string(), std::string("Basic dXNlcjpwYXNz"), std::string("Bearer"), std::string("Bearer   ")}) {
    const Reply r = request(port, http::verb::post, "/api/v1/pause", header);
    EXPECT_EQ(r.status, 401u) << "'" << header << "': " << r.body;
    EXPECT_TRUE(r.json_error()) << r.body;
    EXPECT_EQ(r.header("www-authenticate"), "Bearer realm=\"dagminer\"");
  }
  for (const std::string& wrong : {api_token + "x", api_token.substr(1), std::string("0") + api_token.substr(1)}) {
    const Reply r = post(port, "/api/v1/pause", wrong);
    EXPECT_EQ(r.status, 403u) << r.body;
    EXPECT_TRUE(r.json_error()) << r.body;
  }
  EXPECT_EQ(get(port, "/api/v1/summary").json().at("paused"), false) << "refused requests change nothing";
  // An unknown pool is not revealed before the token is checked.
  EXPECT_EQ(request(port, http::verb::post, "/api/v1/pools/nosuch/disable").status, 401u);
  const Reply unknown = post(port, "/api/v1/pools/nosuch/disable");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_TRUE(unknown.json_error()) << unknown.body;

  // Pause: the device gets no work and its hash count stops.
  const Reply paused = request(port, http::verb::post, "/api/v1/pause", "bearer " + api_token);  // the scheme is case-insensitive
  ASSERT_EQ(paused.status, 200u) << paused.body;
  EXPECT_EQ(paused.json().at("paused"), true);
  ASSERT_TRUE(eventually([&] { return get(port, "/api/v1/summary").json().at("mining") == false; }, 10s));
  EXPECT_EQ(get(port, "/api/v1/pools").json().at("pools").at(0).at("mining"), false) << "paused, no pool is mined";
  std::this_thread::sleep_for(500ms);  // a batch under way when the work went away completes
  const auto hashes = device_hashes(port);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(device_hashes(port), hashes);
  ASSERT_EQ(post(port, "/api/v1/resume").status, 200u);
  EXPECT_TRUE(eventually([&] { return device_hashes(port) > hashes; }, 10s));

  // Disable and enable the pool: it disconnects, then mines again.
  const Reply disabled = post(port, "/api/v1/pools/solo/disable");
  ASSERT_EQ(disabled.status, 200u) << disabled.body;
  EXPECT_EQ(disabled.json().at("enabled"), false);
  auto pool_state = [&] { return get(port, "/api/v1/pools").json().at("pools").at(0); };
  EXPECT_EQ(pool_state().at("enabled"), false);
  EXPECT_EQ(pool_state().at("up"), false);
  ASSERT_EQ(post(port, "/api/v1/pools/s%6Flo/enable").status, 200u);  // names are percent-decoded
  const auto before = accepted();
  EXPECT_TRUE(eventually([&] { return pool_state().at("up") == true; }, 20s)) << d->log();
  EXPECT_TRUE(eventually([&] { return accepted() > before; }, 30s)) << d->log();
  EXPECT_EQ(d->log().find(api_token), std::string::npos) << "the token is never logged";
  stop_cleanly(*d);
}

TEST_F(ServiceTest, ApiBadRequestsGetJsonErrors) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();

  auto expect_error = [](const Reply& r, unsigned status, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    EXPECT_TRUE(r.json_error()) << what << ": " << r.body;
  };
  expect_error(get(port, "/api/v2/summary"), 404, "unknown path");
  expect_error(get(port, "/index.htm"), 404, "unknown file (the dashboard is at /)");
  expect_error(post(port, "/api/v1/pools/solo/explode"), 404, "unknown pool action");
  expect_error(post(port, "/api/v1/pools/%zz/enable"), 400, "broken percent-encoding");
  const Reply wrong_method = get(port, "/api/v1/pause");
  expect_error(wrong_method, 405, "GET on a control endpoint");
  EXPECT_EQ(wrong_method.header("allow"), "POST");
  const Reply post_summary = post(port, "/api/v1/summary");
  expect_error(post_summary, 405, "POST on a read endpoint");
  EXPECT_EQ(post_summary.header("allow"), "GET, HEAD");
  expect_error(request(port, http::verb::delete_, "/metrics"), 405, "DELETE /metrics");

  // A body over the limit (8 KiB), sent in full: answered 413, not reset.
  const std::string big_body(20000, 'x');
  expect_error(raw_request(port, "POST /api/v1/pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + api_token +
                                     "\r\nContent-Length: " + std::to_string(big_body.size()) + "\r\n\r\n" + big_body),
               413, "oversized body");
  expect_error(raw_request(port, "GET /api/v1/summary HTTP/1.1\r\nX-Filler: " + std::string(10000, 'a') + "\r\n\r\n"), 431,
               "oversized header");
  expect_error(raw_request(port, "GARBAGE\r\n\r\n"), 400, "malformed request line");
  expect_error(raw_request(port, "GET /api/v1/summary HTTP/9.x\r\n\r\n"), 400, "bad version");
  expect_error(raw_request(port, "POST /api/v1/pause HTTP/1.1\r\nContent-Length: nope\r\n\r\n"), 400, "bad Content-Length");
  EXPECT_EQ(get(port, "/api/v1/summary").json().at("paused"), false) << "nothing was paused by the broken requests";
  EXPECT_TRUE(d->running());
  stop_cleanly(*d);
}

TEST_F(ServiceTest, SilentClientsBlockNeitherRequestsNorMining) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();

  boost::asio::io_context io;
  auto silent = connect_to(io, port);  // connects and sends nothing
  tcp::socket half = connect_to(io, port);
  boost::asio::write(half, boost::asio::buffer(std::string("GET /api/v1/sum")));  // and one that stops mid-request
  EXPECT_EQ(get(port, "/api/v1/summary").status, 200u);
  const auto hashes = device_hashes(port);
  EXPECT_TRUE(eventually([&] { return device_hashes(port) > hashes; }, 10s));

  // At the connection cap (32), a further connection is closed at once; the others still count.
  // The crowd comes from several addresses: one address may hold only 8.
  std::vector<tcp::socket> crowd;
  for (int i = 0; i < 30; ++i) crowd.push_back(connect_to(io, port, "127.0.0." + std::to_string(10 + i / 8)));
  auto refused = connect_to(io, port, "127.0.0.20");
  EXPECT_TRUE(closed_by_server(refused));
  crowd.clear();
  EXPECT_TRUE(eventually(
      [&] {
        try {
          return get(port, "/api/v1/summary").status == 200u;
        } catch (const std::exception&) {
          return false;  // the server has not yet seen every closed connection
        }
      },
      10s));

  // The silent ones are dropped after the read timeout (10 s), without an answer.
  EXPECT_TRUE(closed_by_server(silent));
  EXPECT_TRUE(closed_by_server(half));
  EXPECT_TRUE(d->running());
  stop_cleanly(*d);
}

TEST_F(ServiceTest, MetricsPassPromtoolAndTheStrictParser) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();
  ASSERT_TRUE(eventually([&] { return accepted() >= 1; }, 60s)) << d->log();
  Reply r;
  std::vector<PromFamily> families;
  // The hashrate is first measured after 5 s; the daemon's books catch up with the pool's answer.
  ASSERT_TRUE(eventually(
      [&] {
        r = get(port, "/metrics");
        families = parse_prometheus_text(r.body);
        return prom_value(families, "dagminer_device_hashes_per_second").value_or(0) > 0 &&
               prom_value(families, "dagminer_shares_total", {{"pool", "solo"}, {"outcome", "accepted"}}).value_or(0) >= 1;
      },
      20s))
      << r.body;
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(prom_value(families, "dagminer_pool_up", {{"pool", "solo"}}), 1);
  EXPECT_GE(prom_value(families, "dagminer_pool_latency_seconds", {{"pool", "solo"}}).value_or(-1), 0);
  EXPECT_GT(prom_value(families, "dagminer_device_hashes_total").value_or(0), 0);
  EXPECT_GT(prom_value(families, "dagminer_uptime_seconds").value_or(0), 0);
  EXPECT_EQ(prom_value(families, "dagminer_shares_total", {{"pool", "solo"}, {"outcome", "hardware_error"}}), 0);
  if (auto run = promtool_check(r.body)) {
    EXPECT_EQ(run->status, 0) << run->output << r.body;
  } else {
    GTEST_LOG_(INFO) << "promtool is not installed (Debian: apt-get install prometheus); checked by the strict parser only";
  }
  stop_cleanly(*d);
}

// SIGHUP applies a new token at once, opens a log file, and `listen: ""` closes the API.
TEST_F(ServiceTest, ReloadAppliesApiAndLogChanges) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();
  const std::string new_token = "a-new-token-for-the-reload-0123";
  d->rewrite_config(
      service_config(pools_.url(pool_), "log: {file: after-reload.log}\n", "{listen: '127.0.0.1:0', token: " + new_token + "}"));
  d->signal(SIGHUP);
  ASSERT_TRUE(d->wait_for_log("configuration reloaded", 10s)) << d->log();
  EXPECT_EQ(post(port, "/api/v1/pause").status, 403u) << "the old token no longer works";
  EXPECT_EQ(post(port, "/api/v1/pause", new_token).status, 200u);
  EXPECT_EQ(d->count_in_log("api: listening"), 1u) << "the same address: the listener stays";
  EXPECT_TRUE(
      eventually([&] { return read_text(d->dir() / "after-reload.log").find("api: paused by") != std::string::npos; }, 5s));

  d->rewrite_config(service_config(pools_.url(pool_), "", "{listen: ''}"));
  d->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return d->count_in_log("configuration reloaded") >= 2; }, 10s)) << d->log();
  EXPECT_THROW(get(port, "/api/v1/summary"), boost::system::system_error) << "nothing listens any more";
  stop_cleanly(*d);
}

// An address in use costs the API, never the mining; a reload tries the address again.
TEST_F(ServiceTest, AddressInUseLeavesMiningAndAReloadRetries) {
  boost::asio::io_context io;
  auto squatter = std::make_unique<tcp::acceptor>(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto port = squatter->local_endpoint().port();
  auto d = start("", {}, "{listen: '127.0.0.1:" + std::to_string(port) + "'}");
  EXPECT_TRUE(d->wait_for_log("api: cannot listen on http://127.0.0.1:" + std::to_string(port), 30s)) << d->log();
  ASSERT_TRUE(eventually([&] { return accepted() >= 1; }, 60s)) << d->log();
  squatter.reset();
  d->signal(SIGHUP);
  ASSERT_TRUE(d->wait_for_log("api: listening on http://127.0.0.1:" + std::to_string(port), 10s)) << d->log();
  EXPECT_EQ(get(port, "/api/v1/summary").status, 200u);

  // Moved by a reload to an address in use: the API stays where it is.
  squatter = std::make_unique<tcp::acceptor>(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto taken = squatter->local_endpoint().port();
  d->rewrite_config(service_config(pools_.url(pool_), "", "{listen: '127.0.0.1:" + std::to_string(taken) + "'}"));
  d->signal(SIGHUP);
  ASSERT_TRUE(d->wait_for_log("api: keeping http://127.0.0.1:" + std::to_string(port) + " until a reload", 10s)) << d->log();
  EXPECT_EQ(get(port, "/api/v1/summary").status, 200u);
  stop_cleanly(*d);
}

TEST_F(ServiceTest, ApiOffWhenListenIsEmpty) {
  auto d = start("", {}, "{listen: ''}");
  EXPECT_TRUE(d->wait_for_log("api: off", 30s)) << d->log();
  EXPECT_EQ(d->count_in_log("api: listening"), 0u);
  stop_cleanly(*d);
}

// Under systemd (JOURNAL_STREAM set) each line starts with its syslog priority, so
// `journalctl -p warning` filters; the summary comes every interval; shares are info; connection
// events say why; the pool password never appears.
TEST_F(ServiceTest, LogsForTheJournal) {
  auto d = start("log_level: trace\n", {"JOURNAL_STREAM=8:12345"});
  ASSERT_TRUE(eventually([&] { return d->count_in_log("\n<6>speed ") >= 3; }, 60s)) << d->log();
  ASSERT_TRUE(d->wait_for_log("\n<6>pool solo: share accepted", 30s)) << d->log();
  EXPECT_TRUE(d->wait_for_log("\n<6>pool solo: connected to 127.0.0.1:", 1s));
  pools_.with(pool_, [](stratum::PoolSimulator& p) {
    p.inject(stratum::Fault::drop_connections);
    return 0;
  });
  ASSERT_TRUE(d->wait_for_log("\n<4>pool solo: disconnected: ", 20s)) << d->log();
  EXPECT_TRUE(eventually([&] { return d->count_in_log("\n<6>pool solo: connected to") >= 2; }, 20s)) << d->log();

  const std::string log = d->log();
  const std::regex summary_re(
      "\n<6>speed [0-9.]+ [kMG]?H/s \\[cpu [0-9.]+ [kMG]?H/s\\] \\| solo (up|down) A/R/S [0-9]+/[0-9]+/[0-9]+ \\| hw errors 0 "
      "\\| uptime [0-9]+h[0-9]{2}m[0-9]{2}s\n");
  EXPECT_GE(std::distance(std::sregex_iterator(log.begin(), log.end(), summary_re), std::sregex_iterator()), 3) << log;
  const std::regex disconnected_re("\n<4>pool solo: disconnected: [^\n]*[a-z][^\n]*\n");
  EXPECT_TRUE(std::regex_search(log, disconnected_re)) << "a disconnect says why";
  // Every line carries a priority prefix.
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) EXPECT_TRUE(std::regex_search(line, std::regex("^<[0-7]>"))) << line;
  EXPECT_EQ(log.find(pool_password), std::string::npos) << "the password never appears, not even at trace level";
  stop_cleanly(*d);
}

TEST_F(ServiceTest, LogFileRotatesAtItsSizeAndKeepsItsCount) {
  auto d = start("log_level: debug\nlog: {file: miner.log, max_size: 2KiB, max_files: 2}\n");
  const auto dir = d->dir();
  auto first_line = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::string line;
    std::getline(in, line);
    return line;
  };
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir / "miner.2.log"); }, 60s)) << d->log();
  // One rotation more shifts a new file into miner.2.log; none goes to miner.3.log.
  const std::string oldest = first_line(dir / "miner.2.log");
  ASSERT_TRUE(eventually([&] { return first_line(dir / "miner.2.log") != oldest; }, 60s));
  stop_cleanly(*d);
  EXPECT_FALSE(std::filesystem::exists(dir / "miner.3.log"));
  for (const char* name : {"miner.log", "miner.1.log", "miner.2.log"}) {
    EXPECT_LE(std::filesystem::file_size(dir / name), 2048u) << name;
    std::ifstream in(dir / name);
    for (std::string line; std::getline(in, line);)
      EXPECT_TRUE(std::regex_search(
          line, std::regex("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]{12} (trace|debug|info |warning|error|critical) ")))
          << name << ": " << line;
  }
  // stdout keeps every line besides the file.
  EXPECT_GT(d->count_in_log("pool solo: share"), 0u);
}

// --- installation ---------------------------------------------------------------------------

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
}

TEST(Install, PlacesTheBinaryTheUnitAndTheExampleConfig) {
  std::random_device rd;
  const auto root = std::filesystem::temp_directory_path() / ("dagminer-install-" + std::to_string(rd()));
  const std::string install = "DESTDIR='" + root.string() + "' '" DAGMINER_CMAKE_COMMAND "' --install '" DAGMINER_BUILD_DIR "'";
  const auto first = run_command(install);
  ASSERT_EQ(first.status, 0) << first.output;

  const std::string bin = DAGMINER_INSTALL_BINDIR "/dagminer";
  const std::string config = DAGMINER_INSTALL_SYSCONFDIR "/dagminer/dagminer.yaml";
  const auto staged = [&](const std::string& path) { return root / std::filesystem::path(path).relative_path(); };
  const auto unit = staged(DAGMINER_INSTALL_UNITDIR "/dagminer.service");
  ASSERT_TRUE(std::filesystem::exists(staged(bin))) << first.output;
  ASSERT_TRUE(std::filesystem::exists(unit)) << first.output;
  ASSERT_TRUE(std::filesystem::exists(staged(config))) << first.output;
  EXPECT_EQ(run_command("'" + staged(bin).string() + "' check-config '" + staged(config).string() + "'").status, 0);
  const auto load = load_config(staged(config));
  EXPECT_TRUE(load.config) << (load.errors.empty() ? "" : load.errors[0].to_string());

  // The unit names the installed binary and configuration.
  std::string text = read_text(unit);
  EXPECT_NE(text.find("ExecStart=" + bin + " run --config " + config + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ExecStartPre=" + bin + " check-config " + config + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nType=notify\n"), std::string::npos);

  // A reinstall keeps the configuration the user edited.
  std::ofstream(staged(config), std::ios::app) << "# edited by the user\n";
  const auto second = run_command(install);
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_NE(read_text(staged(config)).find("# edited by the user"), std::string::npos) << second.output;

  // systemd-analyze verify on a copy whose commands point at the staged binary (the real path
  // does not exist on this machine); warnings about the unit count as failures.
  if (std::string(DAGMINER_SYSTEMD_ANALYZE).empty()) {
    GTEST_LOG_(INFO) << "systemd-analyze is not installed (Debian: apt-get install systemd); the unit was not verified";
  } else {
    replace_all(text, bin, staged(bin).string());
    const auto check_dir = root / "verify";
    std::filesystem::create_directories(check_dir);
    std::ofstream(check_dir / "dagminer.service") << text;
    const auto verify = run_command("'" DAGMINER_SYSTEMD_ANALYZE "' verify '" + (check_dir / "dagminer.service").string() + "'");
    EXPECT_EQ(verify.status, 0) << verify.output;
    EXPECT_EQ(verify.output.find("dagminer"), std::string::npos) << verify.output;
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace dagminer::test
