// Ethash and Etchash (ECIP-1099): epochs, seeds, sizes, the light cache, dataset items and
// hashimoto. Pure functions over explicit inputs, checked against mainnet known answers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string_view>
#include <vector>

#include "dagminer/core/keccak.hpp"

namespace dagminer {

enum class Algorithm : std::uint8_t { ethash, etchash };

std::string_view to_string(Algorithm algo) noexcept;
std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept;

inline constexpr std::uint64_t ethash_epoch_length = 30000;
inline constexpr std::uint64_t etchash_epoch_length = 60000;  // ECIP-1099
inline constexpr std::uint64_t etchash_activation_block = 11'700'000;
inline constexpr int max_epoch = 32767;  // far beyond any chain; bounds seed searches and sizes

inline constexpr std::size_t light_item_bytes = 64;
inline constexpr std::size_t dataset_item_bytes = 64;
inline constexpr std::size_t page_bytes = 128;  // hashimoto reads two adjacent dataset items

int epoch_of_block(Algorithm algo, std::uint64_t block) noexcept;

// Sizes by DAG epoch (the Etchash DAG epoch uses the Ethash size tables unchanged).
std::uint64_t light_cache_bytes(int epoch) noexcept;
std::uint64_t dataset_bytes(int epoch) noexcept;
// The last DAG epoch whose dataset and light cache together fit in `bytes`; -1 when not even
// epoch 0's do. Both algorithms: Etchash DAG epochs have the same sizes.
int last_epoch_within(std::uint64_t bytes) noexcept;

// Keccak-256 applied n times to 32 zero bytes.
Hash256 ethash_seed(int seed_rounds) noexcept;
// Seed of a DAG epoch: Ethash epoch e -> ethash_seed(e); Etchash epoch e -> ethash_seed(2e).
Hash256 seed_of_epoch(Algorithm algo, int epoch) noexcept;
// The DAG epoch whose seed this is, or nullopt. Walks a shared, cached Keccak chain: the first
// lookup of a deep seed hashes once per epoch, later lookups are a table search.
std::optional<int> epoch_of_seed(Algorithm algo, const Hash256& seed);

// 64-byte items as 16 little-endian 32-bit words.
struct Item64 {
  std::uint32_t words[16];
};
static_assert(sizeof(Item64) == 64);
struct Page128 {
  Item64 halves[2];
};
static_assert(sizeof(Page128) == 128);

// The verification cache of one epoch. Items are 64-byte aligned; the GPU uploads them as is.
struct LightCache {
  Algorithm algo = Algorithm::ethash;
  int epoch = 0;
  Hash256 seed{};
  std::uint64_t dataset_bytes = 0;  // full DAG size for this epoch
  std::vector<Item64> items;

  std::uint32_t dataset_pages() const noexcept { return static_cast<std::uint32_t>(dataset_bytes / page_bytes); }
  std::span<const std::uint8_t> bytes() const noexcept {
    return {reinterpret_cast<const std::uint8_t*>(items.data()), items.size() * sizeof(Item64)};
  }
};

// Thrown by a light-cache build whose stop token was triggered: a stop, or a job that no longer
// needs the epoch, must not wait for a build of seconds (or minutes, at a hostile epoch).
struct LightCacheCancelled : std::runtime_error {
  LightCacheCancelled() : std::runtime_error("light cache build cancelled") {}
};

// Storage for a light cache of n (zeroed) items, backed by 2 MiB pages where the kernel allows
// (Linux transparent huge pages): hashimoto and RandMemoHash read it at random, and with 4 KiB
// pages nearly every read of a cache of tens of MB also misses the TLB.
std::vector<Item64> allocate_light_cache_items(std::size_t item_count);
// Builds the cache from a seed and an item count (any count >= 1; real epochs use primes).
// Throws LightCacheCancelled once `stop` is requested (checked every few thousand items).
std::vector<Item64> build_light_cache_items(const Hash256& seed, std::size_t item_count, std::stop_token stop = {});
// The real cache of a DAG epoch (seconds for recent epochs; see LightCacheStore to keep it).
LightCache build_light_cache(Algorithm algo, int epoch, std::stop_token stop = {});

// Dataset item i (64 bytes) from 256 cache parents with FNV mixing.
Item64 dataset_item(std::span<const Item64> cache, std::uint32_t index) noexcept;
Page128 dataset_page(std::span<const Item64> cache, std::uint32_t page) noexcept;

struct HashResult {
  Hash256 mix_hash{};
  Hash256 final_hash{};
};

// Hashimoto over any source of 128-byte pages: the light path computes pages from the cache,
// the full path reads them from a prepared dataset. Nonce is a number, hashed little-endian.
using PageLookup = std::function<Page128(std::uint32_t page)>;
HashResult hashimoto(const Hash256& header, std::uint64_t nonce, std::uint32_t page_count, const PageLookup& lookup);

HashResult hashimoto_light(const LightCache& cache, const Hash256& header, std::uint64_t nonce);
HashResult hashimoto_full(std::span<const Page128> dataset, const Hash256& header, std::uint64_t nonce);

// Final hash from a claimed mix hash: the cheap check that a share is self-consistent
// (it does not prove the mix; hashimoto_light does).
Hash256 final_from_mix(const Hash256& header, std::uint64_t nonce, const Hash256& mix_hash) noexcept;

// Whole dataset in memory (small synthetic epochs in tests; the CPU reference for GPU checks).
std::vector<Page128> build_dataset(std::span<const Item64> cache, std::uint32_t page_count, unsigned threads = 0);

}  // namespace dagminer
