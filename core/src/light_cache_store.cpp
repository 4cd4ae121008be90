#include "dagminer/core/light_cache_store.hpp"

#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <system_error>
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
  std::ifstream in(path_for(algo, epoch), std::ios::binary);
  if (!in) return std::nullopt;
  FileHeader h;
  if (!in.read(reinterpret_cast<char*>(&h), sizeof h)) return std::nullopt;
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
  c.items.resize(items);
  const auto payload_bytes = static_cast<std::streamsize>(items * sizeof(Item64));
  if (!in.read(reinterpret_cast<char*>(c.items.data()), payload_bytes)) return std::nullopt;
  if (in.peek() != std::ifstream::traits_type::eof()) return std::nullopt;  // trailing garbage
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

  // A name no other process or thread uses, in the same directory so the rename is atomic.
  const auto final_path = path_for(cache.algo, cache.epoch);
  auto tmp = final_path;
  tmp += ".tmp." + std::to_string(getpid()) + "." + std::to_string(std::random_device{}());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(reinterpret_cast<const char*>(cache.items.data()), static_cast<std::streamsize>(cache.bytes().size()));
    out.flush();
    if (!out) {
      const int err = errno;
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw std::system_error(err ? err : EIO, std::generic_category(), "writing light cache " + tmp.string());
    }
  }
  std::filesystem::rename(tmp, final_path);
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
