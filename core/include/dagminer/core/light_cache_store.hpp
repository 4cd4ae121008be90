// Light caches kept on disk: building one for a recent epoch takes seconds, reading it back
// milliseconds. One file per (algorithm, epoch), checksummed, written to a temporary file and
// renamed into place, so concurrent processes and crashes never leave a half-written cache.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "dagminer/core/ethash.hpp"

namespace dagminer {

class LightCacheStore {
 public:
  // $CACHE_DIRECTORY (systemd), else $XDG_CACHE_HOME/dagminer, else $HOME/.cache/dagminer,
  // else /var/cache/dagminer.
  static std::filesystem::path default_directory();

  explicit LightCacheStore(std::filesystem::path directory);

  const std::filesystem::path& directory() const noexcept { return directory_; }
  std::filesystem::path path_for(Algorithm algo, int epoch) const;

  enum class Source { loaded, built, rebuilt };  // rebuilt: a file existed but was damaged
  struct Result {
    std::shared_ptr<const LightCache> cache;
    Source source;
    std::string save_error;  // why a built cache could not be stored (it is still returned)
  };
  // Loads the cache, or builds it and stores it. A damaged or truncated file is rebuilt; a
  // directory that cannot be written only costs the rebuild next time. A build throws
  // LightCacheCancelled once `stop` is requested.
  Result get(Algorithm algo, int epoch, std::stop_token stop = {}) const;

  // nullopt when the file is missing, truncated, damaged or for another epoch.
  std::optional<LightCache> load(Algorithm algo, int epoch) const;
  // Throws std::system_error when the directory or file cannot be written.
  void save(const LightCache& cache) const;

 private:
  std::filesystem::path directory_;
};

}  // namespace dagminer
