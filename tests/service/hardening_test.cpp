// Issue 16, as an attacker or a careless user would try it against the running daemon: pool URLs
// that pass a first look, a pool that asks for a huge epoch, a stop during a light-cache build,
// API clients that hold every connection, and request paths that are not UTF-8.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <sys/socket.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "dagminer/core/ethash.hpp"
#include "dagminer/core/hex.hpp"
#include "prometheus_text.hpp"
#include "service_harness.hpp"

namespace dagminer::test {
namespace {

// --- pool URLs that check-config must refuse (row 1) ----------------------------------------

int check_config(const std::filesystem::path& file, std::string& output) {
  const std::string command = std::string(DAGMINER_BINARY) + " check-config '" + file.string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  char buf[512];
  while (pipe && std::fgets(buf, sizeof buf, pipe)) output += buf;
  const int status = pipe ? pclose(pipe) : -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const std::vector<std::string> bad_urls = {"stratum+tcp://user@127.0.0.1:14444", "stratum+tcp://[]:4444",
                                           "stratum+tcp://a:b:4444", "stratum+tcp://[::1]x:4444"};

TEST_F(ServiceTest, PoolUrlsThatCannotConnectAreRefusedByCheckConfigAndReload) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();
  const std::string good = read_text(d->config_path());
  for (const std::string& url : bad_urls) {
    SCOPED_TRACE(url);
    const std::string bad =
        service_config(url, "", "{listen: '127.0.0.1:" + std::to_string(port) + "', token: " + api_token + "}");
    const auto file = d->dir() / "bad.yaml";
    std::ofstream(file) << bad;
    std::string output;
    EXPECT_EQ(check_config(file, output), 1) << output;
    EXPECT_NE(output.find("bad.yaml:2:"), std::string::npos) << "the error names the file and line: " << output;

    const auto refusals = d->count_in_log("reload refused");
    d->rewrite_config(bad);
    d->signal(SIGHUP);
    EXPECT_TRUE(eventually([&] { return d->count_in_log("reload refused") > refusals; }, 10s)) << d->log();
    ASSERT_TRUE(d->running()) << d->log();
    EXPECT_EQ(get(port, "/api/v1/summary").status, 200u);
  }
  d->rewrite_config(good);
  stop_cleanly(*d);
}

// --- a pool written for the test: EthProxy work with the seed of any epoch (rows 3, 4, 16) ----

class EpochPool {
 public:
  // height: sent as the work's fourth element when given.
  explicit EpochPool(int seed_rounds, std::optional<std::uint64_t> height = std::nullopt)
      : seed_(to_hex(ethash_seed(seed_rounds))), height_(height) {
    acceptor_.open(tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { serve(); });
  }
  ~EpochPool() {
    stopping_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocking accept; close() would not
    thread_.join();
  }
  std::string url() const { return "stratum1+tcp://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

 private:
  // Answers every request; eth_getWork (and three pushes after it) with work at the seed.
  void serve() {
    while (!stopping_) {
      boost::system::error_code ec;
      tcp::socket socket = acceptor_.accept(ec);
      if (ec) return;
      const timeval timeout{0, 200'000};
      setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      boost::asio::streambuf in;
      int pushes = 0;
      while (!stopping_) {
        boost::asio::read_until(socket, in, '\n', ec);
        if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
          if (pushes > 0 && pushes < 4) boost::asio::write(socket, boost::asio::buffer(work(0, pushes++)), ec);
          continue;
        }
        if (ec) break;
        std::string line;
        std::getline(std::istream(&in), line);
        const auto request = json::parse(line).as_object();
        const auto id = request.at("id").to_number<std::int64_t>();
        const bool get_work = request.at("method") == "eth_getWork";
        boost::asio::write(socket, boost::asio::buffer(get_work ? work(id, pushes++) : reply(id, true)), ec);
      }
    }
  }
  std::string work(std::int64_t id, int n) const {
    const std::string header = to_hex(ethash_seed(1000 + n));  // any distinct 32 bytes
    json::array result{json::string("0x" + header), json::string("0x" + seed_),
                       json::string("0x00000000ffff0000000000000000000000000000000000000000000000000000")};
    if (height_) result.push_back(json::string(fmt_hex(*height_)));
    return reply(id, std::move(result));
  }
  static std::string fmt_hex(std::uint64_t v) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(v));
    return text;
  }
  static std::string reply(std::int64_t id, json::value result) {
    return json::serialize(json::object{{"id", id}, {"jsonrpc", "2.0"}, {"result", std::move(result)}}) + "\n";
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::string seed_;
  std::optional<std::uint64_t> height_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

std::string epoch_pool_config(const std::string& url, const std::string& extra) {
  return "pools:\n  - {name: greedy, url: '" + url +
         "', user: testwallet}\ndevices: cpu\ncpu_threads: 1\nlight_cache_dir: caches\napi: {listen: ''}\n" + extra;
}

TEST(Hardening, AJobPastMaxEpochIsRefusedOncePerEpochAndNothingIsBuilt) {
  EpochPool pool(200);
  DaemonProcess d(epoch_pool_config(pool.url(), "max_epoch: 100\n"));
  ASSERT_TRUE(d.wait_for_log("epoch 200", 20s)) << d.log();
  std::this_thread::sleep_for(2s);  // the further pushes of the same epoch
  EXPECT_EQ(d.count_in_log("past max_epoch 100"), 1u) << d.log();
  EXPECT_EQ(d.count_in_log("light cache ethash epoch 200"), 0u) << "no build started: " << d.log();
  EXPECT_FALSE(std::filesystem::exists(d.dir() / "caches" / "ethash-200.lightcache"));
  EXPECT_TRUE(d.running());
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10s), 0) << d.log();
}

TEST(Hardening, StopCancelsALightCacheBuild) {
  EpochPool pool(1000);  // a light cache of about 147 MB: seconds to build
  DaemonProcess d(epoch_pool_config(pool.url(), ""));
  ASSERT_TRUE(d.wait_for_log("light cache ethash epoch 1000: loading or building", 20s)) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(60s), 0) << d.log();  // generous: the behaviour is checked in the log
  EXPECT_EQ(d.count_in_log("light cache ethash epoch 1000: cancelled"), 1u) << d.log();
  EXPECT_EQ(d.count_in_log("light cache ethash epoch 1000: built"), 0u) << d.log();
  EXPECT_FALSE(std::filesystem::exists(d.dir() / "caches" / "ethash-1000.lightcache"));
}

// Block 90,000 is in Etchash epoch 1 (seed rounds 2) and Ethash epoch 3: a pool configured as
// Ethash that sends the seed of Ethash epoch 2 with it computes Etchash. Said at its first job,
// which is refused: no light cache of the wrong epoch, no share to be rejected.
TEST(Hardening, ABlockHeightThatSettlesTheOtherAlgorithmIsSaidAtTheFirstJob) {
  EpochPool pool(2, 90'000);
  DaemonProcess d(epoch_pool_config(pool.url(), ""));
  ASSERT_TRUE(d.wait_for_log("the pool computes etchash, not ethash", 20s)) << d.log();
  std::this_thread::sleep_for(2s);  // the further pushes of the same seed
  EXPECT_EQ(d.count_in_log("set `algorithm: etchash` for this pool"), 1u) << d.log();
  EXPECT_NE(d.log().find("block height 90000 is in Ethash epoch 3 and Etchash epoch 1"), std::string::npos) << d.log();
  EXPECT_EQ(d.count_in_log("light cache ethash epoch 2"), 0u) << "the job was mined: " << d.log();
  EXPECT_TRUE(d.running());
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10s), 0) << d.log();
}

// --- the HTTP API (rows 6 and 13) -----------------------------------------------------------

// A client that sends a byte now and then, as the slowest clients would.
tcp::socket slow_client(boost::asio::io_context& io, std::uint16_t port, const std::string& source) {
  auto s = connect_to(io, port, source);
  boost::asio::write(s, boost::asio::buffer(std::string("G")));
  return s;
}

TEST_F(ServiceTest, OneAddressCannotHoldEveryApiConnection) {
  std::uint16_t port = 0;
  auto d = start_with_api(port, ", max_connections_per_address: 8");
  ASSERT_NE(port, 0) << d->log();

  boost::asio::io_context io;
  std::vector<tcp::socket> hog;
  for (int i = 0; i < 8; ++i) hog.push_back(slow_client(io, port, "127.0.0.1"));
  for (int i = 0; i < 40; ++i) {  // a connect loop from the same address: each refused at once
    auto refused = connect_to(io, port, "127.0.0.1");
    EXPECT_TRUE(closed_by_server(refused));
  }
  // Another address is still served, while the eight stay open.
  boost::asio::io_context other_io;
  auto other = connect_to(other_io, port, "127.0.0.2");
  boost::asio::write(other, boost::asio::buffer(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  const Reply metrics = read_reply(other);
  ASSERT_EQ(metrics.status, 200u);
  EXPECT_NO_THROW(parse_prometheus_text(metrics.body));
  EXPECT_NE(metrics.body.find("dagminer_api_refused_connections_total{reason=\"per_address\"} 40"), std::string::npos)
      << metrics.body;
  EXPECT_EQ(d->count_in_log("api: refused"), 1u) << "refusals are logged at most once a minute: " << d->log();
  EXPECT_NE(d->log().find("per address"), std::string::npos) << d->log();
  EXPECT_TRUE(d->running());
  stop_cleanly(*d);
}

TEST_F(ServiceTest, EchoedPathsAreValidUtf8AndCapped) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();
  for (const std::string& target :
       {std::string("/api/v1/\xff\xfe"), std::string("/api/v1/%ff%c3"), std::string("/api/v1/") + std::string(6000, 'a'),
        std::string("/api/v1/pools/%ff%0a%1b/enable")}) {
    SCOPED_TRACE(target.substr(0, 40));
    const Reply r = target.find("/enable") != std::string::npos ? post(port, target) : get(port, target);
    EXPECT_EQ(r.status, 404u);
    ASSERT_NO_THROW(r.json()) << "invalid JSON (UTF-8): " << r.body;  // Boost.JSON rejects invalid UTF-8
    EXPECT_TRUE(r.json_error());
    const std::string error(r.json().at("error").as_string());
    EXPECT_LT(error.size(), 200u) << error;
    for (unsigned char c : error) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "a control or non-ASCII byte: " << error;
  }
  EXPECT_TRUE(d->running());
  stop_cleanly(*d);
}

TEST_F(ServiceTest, HeadIsAnsweredLikeGetWithoutABody) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();
  for (const std::string target : {"/api/v1/summary", "/metrics"}) {
    SCOPED_TRACE(target);
    const Reply head = request(port, http::verb::head, target);
    EXPECT_EQ(head.status, 200u);
    EXPECT_TRUE(head.body.empty());
    EXPECT_GT(std::stoul(head.header("content-length")), 0u);
    EXPECT_EQ(head.header("content-type"), get(port, target).header("content-type"));
  }
  const Reply post_summary = post(port, "/api/v1/summary");
  EXPECT_EQ(post_summary.status, 405u);
  EXPECT_EQ(post_summary.header("allow"), "GET, HEAD");
  stop_cleanly(*d);
}

// Beast 1.81's chunked parser asserts when the last chunk arrives in pieces (the API fuzz target
// found it): a chunked body is refused once the header is read; one with a length is read.
TEST_F(ServiceTest, AChunkedBodyIsRefusedAndABodyWithALengthIsRead) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();
  boost::asio::io_context io;
  auto s = connect_to(io, port);
  for (const std::string& piece : {"POST /api/v1/pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + api_token +
                                       "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
                                   std::string("\r"), std::string("\n")}) {
    boost::asio::write(s, boost::asio::buffer(piece));
    std::this_thread::sleep_for(50ms);
  }
  const Reply chunked = read_reply(s);
  EXPECT_EQ(chunked.status, 411u);
  ASSERT_TRUE(chunked.json_error()) << chunked.body;
  EXPECT_EQ(chunked.json().at("error").as_string(), "chunked request bodies are not accepted: send Content-Length");
  EXPECT_TRUE(closed_by_server(s));

  const Reply with_length = raw_request(port, "POST /api/v1/pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + api_token +
                                                  "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
  EXPECT_EQ(with_length.status, 200u) << with_length.body;
  EXPECT_TRUE(d->running());
  stop_cleanly(*d);
}

// --- a wrong algorithm (row 16) -------------------------------------------------------------

// An Ethereum Classic pool configured without `algorithm: etchash`, next to one that accepts, under
// split. Etchash epoch 1 has the seed of Ethash epoch 2, so the daemon mines Ethash epoch 2: every
// share verifies here and the pool rejects each one. EthProxy, because its shares carry the mix
// hash, which the pool checks first: at the tests' tiny difficulty a hash the pool recomputes
// would otherwise meet its target one time in nine. Before the fix the pool kept half the hashes
// and the daemon said nothing but the rejections.
TEST_F(ServiceTest, APoolOfTheOtherAlgorithmIsNamedMarkedAndLeftUntilItsCoolDown) {
  stratum::SimulatorConfig etc;
  etc.name = "etc";
  etc.dialect = PoolProtocol::ethproxy;
  etc.algo = Algorithm::etchash;
  etc.epoch = 1;
  etc.difficulty = easy_difficulty;
  etc.job_interval = std::chrono::milliseconds(4000);
  const auto etc_pool = pools_.add(std::move(etc));
  shared_light_cache(Algorithm::ethash, 2);  // what the daemon mines for it: built once, loaded there
  std::string config = service_config(pools_.url(pool_), "strategy: split\nmax_share_rate: 20\n",
                                      "{listen: '127.0.0.1:0', token: " + api_token + "}");
  config.insert(config.find("devices: cpu"),
                "  - {name: etc, url: '" + pools_.url(etc_pool) + "', user: testwallet, rejection_cooldown: 10s}\n");
  DaemonProcess d(config);
  const std::uint16_t port = api_port(d);
  ASSERT_NE(port, 0) << d.log();
  const auto pool_json = [&](const std::string& name) {
    const json::value pools = get(port, "/api/v1/pools").json();
    for (const auto& p : pools.at("pools").as_array())
      if (p.at("name") == name.c_str()) return p.as_object();
    throw std::out_of_range(name);
  };
  ASSERT_TRUE(eventually([&] { return pool_json("etc").at("problem").is_string(); }, 60s)) << d.log();
  const auto marked = pool_json("etc");
  const std::string problem(marked.at("problem").as_string());
  EXPECT_NE(problem.find("Ethash epoch 2 and of Etchash epoch 1"), std::string::npos) << problem;
  EXPECT_NE(problem.find("set `algorithm: etchash`"), std::string::npos) << problem;
  EXPECT_EQ(marked.at("shares").at("accepted"), 0);
  EXPECT_GE(marked.at("shares").at("rejected").to_number<int>(), 5);
  EXPECT_TRUE(pool_json("solo").at("problem").is_null());
  EXPECT_EQ(d.count_in_log("the pool likely computes etchash"), 1u) << d.log();

  // Its hashes go to the pool that accepts: it is not mined, and its shares stop.
  EXPECT_EQ(marked.at("mining"), false);
  EXPECT_EQ(pool_json("solo").at("mining"), true);
  const auto metrics = parse_prometheus_text(get(port, "/metrics").body);
  EXPECT_EQ(prom_value(metrics, "dagminer_pool_unhealthy", {{"pool", "etc"}}), 1.0);
  EXPECT_EQ(prom_value(metrics, "dagminer_pool_unhealthy", {{"pool", "solo"}}), 0.0);
  const auto solo_before = accepted();
  std::this_thread::sleep_for(3s);
  EXPECT_GT(accepted(), solo_before);
  const auto found = [&](const std::string& name) { return pool_json(name).at("shares").at("found").to_number<int>(); };
  EXPECT_LE(found("etc"), marked.at("shares").at("found").to_number<int>() + 2) << "mined while marked";

  // After the cool-down it is tried again, rejects again and is marked again.
  const int found_marked = found("etc");
  ASSERT_TRUE(eventually([&] { return found("etc") > found_marked; }, 25s)) << d.log();
  ASSERT_TRUE(eventually([&] { return d.count_in_log("the pool likely computes etchash") == 2; }, 30s)) << d.log();
  EXPECT_EQ(pools_.totals(etc_pool).accepted, 0u);
  stop_cleanly(d);
}

}  // namespace
}  // namespace dagminer::test
