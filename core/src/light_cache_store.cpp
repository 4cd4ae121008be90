#include "dagminer/core/light_cache_store.hpp"

#include "dagminer/core/file_descriptor.hpp"
#include "dagminer/core/file_replace.hpp"

#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dagminer {
namespace {

constexpr char magic[8] = {'D', 'A', 'G', 'M', 'L', 'C', '0', '1'};

struct FileHeader {
  char magic[8];
  std::uint32_t algo;
  std::uint32_t epoch;
  std::uint8_t seed[32];
  std::uint64_t item_count;
  std::uint64_t dataset_bytes;
  std::uint64_t checksum;
};
static_assert(sizeof(FileHeader) == 72);

// A fast 4-lane multiply-rotate checksum: it catches truncation, bit rot and torn writes at
// memory speed, which a cryptographic hash of 70 MB would not (hundreds of milliseconds).
std::uint64_t checksum(std::span<const std::uint8_t> bytes) noexcept {
  constexpr std::uint64_t p1 = 0x9E3779B185EBCA87ull, p2 = 0xC2B2AE3D27D4EB4Full;
  std::uint64_t lanes[4] = {p1, p2, p1 ^ p2, p1 + p2};
  const std::size_t words = bytes.size() / 8;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + 8 * i, 8);
    std::uint64_t& lane = lanes[i % 4];
    lane = std::rotl(lane + w * p2, 31) * p1;
  }
  std::uint64_t h = bytes.size() * p1;
  for (std::uint64_t lane : lanes) h = std::rotl(h ^ lane, 27) * p1 + p2;
  for (std::size_t i = words * 8; i < bytes.size(); ++i) h = std::rotl(h ^ bytes[i], 11) * p1;
  return h ^ (h >> 29);
}

// Reads exactly `size` bytes, or says it could not (an error, or the file ended first).
bool read_exact(const FileDescriptor& in, void* out, std::size_t size) {
  auto* bytes = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = ::read(in.get(), bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::filesystem::path LightCacheStore::default_directory() {
  if (const char* dir = std::getenv("CACHE_DIRECTORY"); dir && *dir) {
    // systemd may list several directories separated by ':'; the first is ours.
    std::string_view first(dir);
    return std::filesystem::path(first.substr(0, first.find(':')));
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "dagminer";
  if (const char* home = std::getenv("HOME"); home && *home && getuid() != 0)
    return std::filesystem::path(home) / ".cache" / "dagminer";
  return "/var/cache/dagminer";
}

LightCacheStore::LightCacheStore(std::filesystem::path directory) : directory_(std::move(directory)) {}

std::filesystem::path LightCacheStore::path_for(Algorithm algo, int epoch) const {
  return directory_ / (std::string(to_string(algo)) + "-" + std::to_string(epoch) + ".lightcache");
}

std::optional<LightCache> LightCacheStore::load(Algorithm algo, int epoch) const {
  // Opened without blocking and read only if it is a regular file: a FIFO or a device at the path
  // would block the build, and a stop waiting for it, forever. Anything else counts as damaged.
  const FileDescriptor in(::open(path_for(algo, epoch).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!in.is_open() || ::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  FileHeader h;
  if (!read_exact(in, &h, sizeof h)) return std::nullopt;
  LightCache c;
  c.algo = algo;
  c.epoch = epoch;
  c.seed = seed_of_epoch(algo, epoch);
  c.dataset_bytes = dataset_bytes(epoch);
  const std::uint64_t items = light_cache_bytes(epoch) / light_item_bytes;
  if (std::memcmp(h.magic, magic, sizeof magic) != 0 || h.algo != static_cast<std::uint32_t>(algo) ||
      h.epoch != static_cast<std::uint32_t>(epoch) || std::memcmp(h.seed, c.seed.data(), 32) != 0 || h.item_count != items ||
      h.dataset_bytes != c.dataset_bytes)
    return std::nullopt;
  const std::uint64_t payload_bytes = items * sizeof(Item64);
  if (static_cast<std::uint64_t>(st.st_size) != sizeof h + payload_bytes) return std::nullopt;  // truncated or trailing garbage
  c.items = allocate_light_cache_items(items);
  if (!read_exact(in, c.items.data(), payload_bytes)) return std::nullopt;
  if (checksum(c.bytes()) != h.checksum) return std::nullopt;
  return c;
}

void LightCacheStore::save(const LightCache& cache) const {
  std::filesystem::create_directories(directory_);
  FileHeader h{};
  std::memcpy(h.magic, magic, sizeof magic);
  h.algo = static_cast<std::uint32_t>(cache.algo);
  h.epoch = static_cast<std::uint32_t>(cache.epoch);
  std::memcpy(h.seed, cache.seed.data(), 32);
  h.item_count = cache.items.size();
  h.dataset_bytes = cache.dataset_bytes;
  h.checksum = checksum(cache.bytes());

  replace_file(path_for(cache.algo, cache.epoch), {std::as_bytes(std::span(&h, 1)), std::as_bytes(cache.bytes())});
}

LightCacheStore::Result LightCacheStore::get(Algorithm algo, int epoch, std::stop_token stop) const {
  if (auto loaded = load(algo, epoch)) return {std::make_shared<const LightCache>(std::move(*loaded)), Source::loaded, {}};
  std::error_code ec;
  const bool existed = std::filesystem::exists(path_for(algo, epoch), ec);
  Result r{std::make_shared<const LightCache>(build_light_cache(algo, epoch, std::move(stop))),
           existed ? Source::rebuilt : Source::built,
           {}};
  try {
    save(*r.cache);
  } catch (const std::exception& e) {
    r.save_error = e.what();
  }
  return r;
}

}  // namespace dagminer
