// Issue 16, as an attacker or a careless user would try it against the running daemon: pool URLs
// that pass a first look, a pool that asks for a huge epoch, a stop during a light-cache build,
// API clients that hold every connection, and request paths that are not UTF-8.
#include <atomic>
#include <cstdio>
#include <fstream>
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

// --- a pool written for the test: EthProxy work with the seed of any epoch (rows 3 and 4) ----

class EpochPool {
 public:
  explicit EpochPool(int seed_rounds) : seed_(to_hex(ethash_seed(seed_rounds))) {
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
    return reply(id, json::array{json::string("0x" + header), json::string("0x" + seed_),
                                 json::string("0x00000000ffff0000000000000000000000000000000000000000000000000000")});
  }
  static std::string reply(std::int64_t id, json::value result) {
    return json::serialize(json::object{{"id", id}, {"jsonrpc", "2.0"}, {"result", std::move(result)}}) + "\n";
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::string seed_;
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

}  // namespace
}  // namespace dagminer::test
