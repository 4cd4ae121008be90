#include "service_harness.hpp"

#include <fstream>
#include <sstream>

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace dagminer::test {

std::string service_config(const std::string& pool_url, const std::string& extra, const std::string& api) {
  std::ostringstream y;
  y << "pools:\n"
    << "  - {name: solo, url: '" << pool_url << "', user: testwallet, password: " << pool_password << ", worker: rig}\n"
    << "devices: cpu\n"
    << "cpu_threads: 1\n"
    << "light_cache_dir: '" << test::shared_cache_directory().string() << "'\n"
    << "summary_interval: 1s\n"
    << "job_timeout: 6s\n"
    << "response_timeout: 3s\n"
    << "backoff: {initial: 200ms, max: 1s}\n"
    << "api: " << api << "\n"
    << extra;
  return y.str();
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json::value Reply::json() const { return json::parse(body); }

std::string Reply::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

bool Reply::json_error() const {
  if (header("content-type") != "application/json") return false;
  const auto v = json::parse(body);
  return v.is_object() && v.as_object().contains("error") && v.at("error").is_string() && !v.at("error").as_string().empty();
}

tcp::socket connect_to(boost::asio::io_context& io, std::uint16_t port, const std::string& source) {
  tcp::socket socket(io);
  socket.open(tcp::v4());
  socket.bind({boost::asio::ip::make_address(source), 0});
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  // Bounds every blocking call, so a server that never answers fails the test, not hangs it.
  const timeval timeout{20, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  return socket;
}

Reply read_reply(tcp::socket& socket, bool head) {
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(head);
  http::read(socket, buffer, parser);
  const auto& res = parser.get();
  Reply r{static_cast<unsigned>(res.result_int()), res.body(), {}};
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(field.value());
  }
  return r;
}

Reply raw_request(std::uint16_t port, const std::string& bytes, bool head) {
  boost::asio::io_context io;
  auto socket = connect_to(io, port);
  boost::asio::write(socket, boost::asio::buffer(bytes));
  return read_reply(socket, head);
}

Reply request(std::uint16_t port, http::verb method, const std::string& target, const std::string& authorization) {
  std::ostringstream r;
  r << http::to_string(method) << ' ' << target << " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!authorization.empty()) r << "Authorization: " << authorization << "\r\n";
  if (method == http::verb::post) r << "Content-Length: 0\r\n";
  r << "\r\n";
  return raw_request(port, r.str(), method == http::verb::head);
}

Reply get(std::uint16_t port, const std::string& target) { return request(port, http::verb::get, target); }

Reply post(std::uint16_t port, const std::string& target, const std::string& token) {
  return request(port, http::verb::post, target, "Bearer " + token);
}

bool closed_by_server(tcp::socket& socket) {
  char byte;
  boost::system::error_code ec;
  socket.read_some(boost::asio::buffer(&byte, 1), ec);
  return ec && ec != boost::asio::error::would_block && ec != boost::asio::error::try_again;
}

void ServiceTest::SetUp() {
  shared_light_cache(Algorithm::ethash, 0);  // built once, so the daemon and the pool load it
  stratum::SimulatorConfig c;
  c.name = "solo";
  c.difficulty = easy_difficulty;
  c.job_interval = std::chrono::milliseconds(4000);
  pool_ = pools_.add(std::move(c));
}

std::unique_ptr<DaemonProcess> ServiceTest::start(const std::string& extra, std::vector<std::string> env,
                                                  const std::string& api) {
  return std::make_unique<DaemonProcess>(service_config(pools_.url(pool_), extra, api), std::move(env));
}

std::uint16_t ServiceTest::api_port(const DaemonProcess& d) {
  const std::string marker = "api: listening on http://127.0.0.1:";
  if (!d.wait_for_log(marker, 30s)) return 0;
  const std::string log = d.log();
  return static_cast<std::uint16_t>(std::stoul(log.substr(log.find(marker) + marker.size())));
}

std::unique_ptr<DaemonProcess> ServiceTest::start_with_api(std::uint16_t& port, const std::string& extra_api) {
  auto d = start("", {}, "{listen: '127.0.0.1:0', token: " + api_token + extra_api + "}");
  port = api_port(*d);
  if (port && !eventually([&] { return get(port, "/api/v1/summary").json().at("mining") == true; }, 60s)) port = 0;
  return d;
}

void ServiceTest::stop_cleanly(DaemonProcess& d) {
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10s), 0) << d.log();
}

std::uint64_t ServiceTest::device_hashes(std::uint16_t port) {
  return get(port, "/api/v1/devices").json().at("devices").at(0).at("hashes").to_number<std::uint64_t>();
}

}  // namespace dagminer::test
