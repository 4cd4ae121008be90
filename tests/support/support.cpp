#include "dagminer/test/support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>

#include <sys/wait.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/core/light_cache_store.hpp"

namespace dagminer::test {

boost::json::object load_vectors(std::string_view file_name) {
  const auto path = std::filesystem::path(DAGMINER_TEST_DATA) / file_name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto doc = boost::json::parse(text.str(), ec);
  if (ec || !doc.is_object()) throw std::runtime_error(path.string() + ": not a JSON object: " + ec.message());
  return std::move(doc.as_object());
}

std::string str(const boost::json::value& v) { return std::string(v.as_string()); }

Hash256 hash256(std::string_view hex) {
  const auto bytes = parse_hex_array<32>(hex);
  if (!bytes) throw std::invalid_argument("not a 32-byte hex value: " + std::string(hex));
  return *bytes;
}

std::uint16_t free_loopback_port() {
  boost::asio::io_context io;
  const boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

std::filesystem::path shared_cache_directory() { return DAGMINER_TEST_CACHE_DIR; }

std::shared_ptr<const LightCache> shared_light_cache(Algorithm algo, int epoch) {
  static std::mutex mutex;
  static std::map<std::pair<Algorithm, int>, std::shared_ptr<const LightCache>> loaded;
  std::lock_guard lock(mutex);
  auto& cache = loaded[{algo, epoch}];
  if (!cache) cache = LightCacheStore(shared_cache_directory()).get(algo, epoch).cache;
  return cache;
}

std::shared_ptr<const LightCache> synthetic_light_cache(int epoch, std::size_t items, std::uint32_t pages, Algorithm algo) {
  auto cache = std::make_shared<LightCache>();
  cache->algo = algo;
  cache->epoch = epoch;
  cache->seed = ethash_seed(epoch);
  cache->items = build_light_cache_items(cache->seed, items);
  cache->dataset_bytes = std::uint64_t{pages} * page_bytes;
  return cache;
}

CommandRun run_command(const std::string& command) {
  CommandRun run;
  if (FILE* p = popen((command + " 2>&1").c_str(), "r")) {
    char buf[512];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, p)) run.output.append(buf, n);
    const int status = pclose(p);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  return run;
}

TempDir::TempDir() {
  std::random_device random;
  path_ = std::filesystem::temp_directory_path() / ("dagminer-test-" + std::to_string(random()) + "-" + std::to_string(random()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace dagminer::test
