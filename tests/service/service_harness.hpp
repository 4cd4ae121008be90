// Shared by the service tests: the daemon's configuration for them, an HTTP client that sends
// bytes as they are (malformed requests included) from a chosen loopback address, and the fixture
// that starts `dagminer run` against one simulated pool with its API on a free port.
#pragma once

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "daemon_harness.hpp"

namespace dagminer::test {

namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;

inline const std::string pool_password = "hunter2-Pool-Password";
inline const std::string api_token = "service-test-token-0123456789";

// Each daemon takes a free port for its API unless `api` says otherwise, so tests run in parallel.
std::string service_config(const std::string& pool_url, const std::string& extra,
                           const std::string& api = "{listen: '127.0.0.1:0'}");
std::string read_text(const std::filesystem::path& p);

// --- HTTP, as a client sees it -------------------------------------------------------------

struct Reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  json::value json() const;
  std::string header(const std::string& name) const;
  // A 4xx answer carries {"error": "..."} as JSON.
  bool json_error() const;
};

// Connects from `source` (any 127/8 address is loopback on Linux), with every blocking call bounded.
tcp::socket connect_to(boost::asio::io_context& io, std::uint16_t port, const std::string& source = "127.0.0.1");
// head: the answer to a HEAD request, which has a Content-Length but no body.
Reply read_reply(tcp::socket& socket, bool head = false);
// Sends bytes as they are (malformed requests included) and reads the answer.
Reply raw_request(std::uint16_t port, const std::string& bytes, bool head = false);
Reply request(std::uint16_t port, http::verb method, const std::string& target, const std::string& authorization = "");
Reply get(std::uint16_t port, const std::string& target);
Reply post(std::uint16_t port, const std::string& target, const std::string& token = api_token);
// True once the server closed the connection (read returns end of file or an error other than
// our own receive timeout).
bool closed_by_server(tcp::socket& socket);

// --- fixture --------------------------------------------------------------------------------

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override;
  std::unique_ptr<DaemonProcess> start(const std::string& extra, std::vector<std::string> env = {},
                                       const std::string& api = "{listen: '127.0.0.1:0'}");
  // The daemon listens on a free port (listen: 127.0.0.1:0) and names it in its log.
  static std::uint16_t api_port(const DaemonProcess& d);
  // A daemon with its API (and a token) on a free port, once it mines; port is 0 if it never does.
  std::unique_ptr<DaemonProcess> start_with_api(std::uint16_t& port, const std::string& extra_api = "");
  static void stop_cleanly(DaemonProcess& d);
  std::uint64_t accepted() { return pools_.totals(pool_).accepted; }
  static std::uint64_t device_hashes(std::uint16_t port);

  SimulatedPools pools_;
  std::size_t pool_ = 0;
};

}  // namespace dagminer::test
