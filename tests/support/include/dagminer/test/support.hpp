// The helpers test binaries share (target dagminer_test_support): known-answer files, hex, real
// light caches kept between test processes, synthetic epochs, and scratch directories.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "dagminer/core/ethash.hpp"

namespace dagminer::test {

// A file of tests/data parsed as JSON; throws naming the file when it is missing or malformed.
boost::json::object load_vectors(std::string_view file_name);

std::string str(const boost::json::value& v);  // a JSON string as std::string
Hash256 hash256(std::string_view hex);         // 64 hex digits; throws otherwise

// Real light caches shared by every test process of one build tree (ctest runs each case in
// its own process): built once into shared_cache_directory() through LightCacheStore, loaded
// afterwards, and kept for the rest of the process.
// A loopback port free a moment ago, for a listener the code under test opens itself.
std::uint16_t free_loopback_port();

std::filesystem::path shared_cache_directory();
std::shared_ptr<const LightCache> shared_light_cache(Algorithm algo, int epoch);

// A small synthetic epoch: the seed of Ethash epoch `epoch`, a few hundred cache items and a few
// thousand pages. Hashimoto costs the same 64 page reads as on a real epoch, but the cache fits
// in CPU caches and a GPU or the CPU builds its whole dataset at once. Its algorithm and epoch
// name its DAG (memory managers key DAGs by them): give each distinct cache its own epoch.
std::shared_ptr<const LightCache> synthetic_light_cache(int epoch, std::size_t items = 301, std::uint32_t pages = 4099,
                                                        Algorithm algo = Algorithm::ethash);

// A shell command's exit status (-1 when it did not exit normally) and its output, stderr included.
struct CommandRun {
  int status = -1;
  std::string output;
};
CommandRun run_command(const std::string& command);

// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace dagminer::test
