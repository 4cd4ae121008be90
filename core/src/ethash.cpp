#include "dagminer/core/ethash.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace dagminer {
namespace {

constexpr std::uint32_t fnv_prime = 0x01000193;
constexpr std::uint32_t fnv(std::uint32_t a, std::uint32_t b) noexcept { return a * fnv_prime ^ b; }

constexpr int dataset_parents = 256;
constexpr int cache_rounds = 3;
constexpr int accesses = 64;

bool is_prime(std::uint64_t n) noexcept {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (std::uint64_t d = 3; d * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

// Largest prime <= limit, walking down odd numbers (limit is odd for every epoch).
std::uint64_t largest_prime_at_most(std::uint64_t limit) noexcept {
  while (!is_prime(limit)) limit -= 2;
  return limit;
}

Item64 to_item(const Hash512& h) noexcept {
  Item64 item;
  std::memcpy(item.words, h.data(), 64);
  return item;
}

Item64 keccak512_item(const Item64& in) noexcept {
  std::uint64_t lanes[8];
  std::memcpy(lanes, in.words, 64);
  keccak512_64(lanes);
  Item64 out;
  std::memcpy(out.words, lanes, 64);
  return out;
}

}  // namespace

std::string_view to_string(Algorithm algo) noexcept { return algo == Algorithm::ethash ? "ethash" : "etchash"; }

std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept {
  if (name == "ethash") return Algorithm::ethash;
  if (name == "etchash") return Algorithm::etchash;
  return std::nullopt;
}

int epoch_of_block(Algorithm algo, std::uint64_t block) noexcept {
  const std::uint64_t length = algo == Algorithm::ethash ? ethash_epoch_length : etchash_epoch_length;
  return static_cast<int>(std::min<std::uint64_t>(block / length, max_epoch));
}

std::uint64_t light_cache_bytes(int epoch) noexcept {
  const std::uint64_t limit = ((1ull << 24) + (1ull << 17) * static_cast<std::uint64_t>(epoch)) / light_item_bytes - 1;
  return largest_prime_at_most(limit) * light_item_bytes;
}

std::uint64_t dataset_bytes(int epoch) noexcept {
  const std::uint64_t limit = ((1ull << 30) + (1ull << 23) * static_cast<std::uint64_t>(epoch)) / page_bytes - 1;
  return largest_prime_at_most(limit) * page_bytes;
}

int last_epoch_within(std::uint64_t bytes) noexcept {
  const auto need = [](int e) { return dataset_bytes(e) + light_cache_bytes(e); };
  if (need(0) > bytes) return -1;
  int fits = 0, beyond = max_epoch + 1;  // sizes grow with the epoch: bisect
  if (need(max_epoch) <= bytes) return max_epoch;
  while (beyond - fits > 1) {
    const int mid = fits + (beyond - fits) / 2;
    (need(mid) <= bytes ? fits : beyond) = mid;
  }
  return fits;
}

namespace {

// The Keccak-256 chain from 32 zero bytes, grown on demand and shared by all threads.
class SeedChain {
 public:
  Hash256 at(int rounds) {
    std::lock_guard lock(mutex_);
    grow_to(rounds);
    return chain_[static_cast<std::size_t>(rounds)];
  }
  std::optional<int> rounds_of(const Hash256& seed, int max_rounds) {
    std::lock_guard lock(mutex_);
    for (;;) {
      if (auto it = index_.find(key(seed)); it != index_.end()) {
        // Distinct seeds can share a key prefix; the full compare settles it.
        for (int r : it->second)
          if (chain_[static_cast<std::size_t>(r)] == seed) return r <= max_rounds ? std::optional<int>(r) : std::nullopt;
      }
      if (static_cast<int>(chain_.size()) > max_rounds) return std::nullopt;
      grow_to(std::min(max_rounds, static_cast<int>(chain_.size()) * 2 + 64));
    }
  }

 private:
  static std::uint64_t key(const Hash256& h) noexcept {
    std::uint64_t k;
    std::memcpy(&k, h.data(), 8);
    return k;
  }
  void grow_to(int rounds) {
    if (chain_.empty()) {
      chain_.push_back(Hash256{});
      index_[0].push_back(0);
    }
    while (static_cast<int>(chain_.size()) <= rounds) {
      chain_.push_back(keccak256(chain_.back()));
      index_[key(chain_.back())].push_back(static_cast<int>(chain_.size() - 1));
    }
  }
  std::mutex mutex_;
  std::vector<Hash256> chain_;
  std::unordered_map<std::uint64_t, std::vector<int>> index_;
};

SeedChain& seed_chain() {
  static SeedChain chain;
  return chain;
}

}  // namespace

Hash256 ethash_seed(int seed_rounds) noexcept { return seed_chain().at(seed_rounds); }

Hash256 seed_of_epoch(Algorithm algo, int epoch) noexcept { return ethash_seed(algo == Algorithm::ethash ? epoch : 2 * epoch); }

std::optional<int> epoch_of_seed(Algorithm algo, const Hash256& seed) {
  if (algo == Algorithm::ethash) return seed_chain().rounds_of(seed, max_epoch);
  // An Etchash seed is the Ethash seed of twice the DAG epoch: an odd round count is no
  // Etchash epoch at all.
  const auto rounds = seed_chain().rounds_of(seed, 2 * max_epoch);
  if (!rounds || *rounds % 2) return std::nullopt;
  return *rounds / 2;
}

std::vector<Item64> allocate_light_cache_items(std::size_t n) {
  std::vector<Item64> items;
  items.reserve(n);
#if defined(__linux__)
  // Asked for before the first touch, so the pages are faulted in huge; advice only: where the
  // kernel declines, nothing changes but the speed.
  constexpr std::uintptr_t huge_page = std::uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(items.data()) + huge_page - 1) & ~(huge_page - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(items.data() + n) & ~(huge_page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
  items.resize(n);
  return items;
}

std::vector<Item64> build_light_cache_items(const Hash256& seed, std::size_t n, std::stop_token stop) {
  constexpr std::size_t stop_check_items = 4096;  // a few milliseconds of hashing between checks
  const auto check_stop = [&stop](std::size_t i) {
    if (i % stop_check_items == 0 && stop.stop_requested()) throw LightCacheCancelled();
  };
  std::vector<Item64> cache = allocate_light_cache_items(n);
  cache[0] = to_item(keccak512(seed));
  for (std::size_t i = 1; i < n; ++i) {
    check_stop(i);
    cache[i] = keccak512_item(cache[i - 1]);
  }
  for (int round = 0; round < cache_rounds; ++round) {
    for (std::size_t i = 0; i < n; ++i) {
      check_stop(i);
      const std::size_t v = cache[i].words[0] % n;
      // The next step's random parent is known now (its index is in an item not yet rewritten):
      // fetching it during this step's Keccak hides a miss in a cache larger than the CPU's.
      if (i + 1 < n) __builtin_prefetch(&cache[cache[i + 1].words[0] % n]);
      const Item64& prev = cache[i == 0 ? n - 1 : i - 1];
      Item64 x;
      for (int w = 0; w < 16; ++w) x.words[w] = prev.words[w] ^ cache[v].words[w];
      cache[i] = keccak512_item(x);
    }
  }
  return cache;
}

LightCache build_light_cache(Algorithm algo, int epoch, std::stop_token stop) {
  LightCache c;
  c.algo = algo;
  c.epoch = epoch;
  c.seed = seed_of_epoch(algo, epoch);
  c.dataset_bytes = dataset_bytes(epoch);
  c.items = build_light_cache_items(c.seed, light_cache_bytes(epoch) / light_item_bytes, std::move(stop));
  return c;
}

namespace {

// Dataset items `first`, `first` + 1, ... computed together. Each is a chain of 256 dependent
// reads of the light cache, mostly cache misses at recent epochs; interleaving K chains lets the
// CPU overlap their misses (figures in bench/RESULTS.md).
template <std::size_t K>
std::array<Item64, K> dataset_items(std::span<const Item64> cache, std::uint32_t first) noexcept {
  const std::uint32_t n = static_cast<std::uint32_t>(cache.size());
  std::array<Item64, K> mix;
  for (std::uint32_t k = 0; k < K; ++k) {
    mix[k] = cache[(first + k) % n];
    mix[k].words[0] ^= first + k;
    mix[k] = keccak512_item(mix[k]);
  }
  for (std::uint32_t j = 0; j < dataset_parents; ++j) {
    std::array<const Item64*, K> parent;
    for (std::uint32_t k = 0; k < K; ++k) parent[k] = &cache[fnv((first + k) ^ j, mix[k].words[j % 16]) % n];
    for (std::uint32_t k = 0; k < K; ++k)
      for (int w = 0; w < 16; ++w) mix[k].words[w] = fnv(mix[k].words[w], parent[k]->words[w]);
  }
  for (auto& m : mix) m = keccak512_item(m);
  return mix;
}

}  // namespace

Item64 dataset_item(std::span<const Item64> cache, std::uint32_t index) noexcept { return dataset_items<1>(cache, index)[0]; }

Page128 dataset_page(std::span<const Item64> cache, std::uint32_t page) noexcept {
  const auto items = dataset_items<2>(cache, 2 * page);
  return {{items[0], items[1]}};
}

namespace {

Hash512 hashimoto_seed(const Hash256& header, std::uint64_t nonce) noexcept {
  std::uint8_t input[40];
  std::memcpy(input, header.data(), 32);
  for (int i = 0; i < 8; ++i) input[32 + i] = static_cast<std::uint8_t>(nonce >> (8 * i));
  return keccak512(input);
}

Hash256 final_hash(const Hash512& seed, const Hash256& mix_hash) noexcept {
  std::uint8_t input[96];
  std::memcpy(input, seed.data(), 64);
  std::memcpy(input + 64, mix_hash.data(), 32);
  return keccak256(input);
}

}  // namespace

HashResult hashimoto(const Hash256& header, std::uint64_t nonce, std::uint32_t page_count, const PageLookup& lookup) {
  const Hash512 seed = hashimoto_seed(header, nonce);
  std::uint32_t s[16];
  std::memcpy(s, seed.data(), 64);

  std::uint32_t mix[32];
  for (int w = 0; w < 32; ++w) mix[w] = s[w % 16];
  for (std::uint32_t i = 0; i < accesses; ++i) {
    const std::uint32_t p = fnv(i ^ s[0], mix[i % 32]) % page_count;
    const Page128 page = lookup(p);
    const std::uint32_t* words = page.halves[0].words;  // the two halves are contiguous
    for (int w = 0; w < 32; ++w) mix[w] = fnv(mix[w], words[w]);
  }

  HashResult r;
  std::uint32_t cmix[8];
  for (int w = 0; w < 8; ++w) cmix[w] = fnv(fnv(fnv(mix[4 * w], mix[4 * w + 1]), mix[4 * w + 2]), mix[4 * w + 3]);
  std::memcpy(r.mix_hash.data(), cmix, 32);
  r.final_hash = final_hash(seed, r.mix_hash);
  return r;
}

Hash256 final_from_mix(const Hash256& header, std::uint64_t nonce, const Hash256& mix_hash) noexcept {
  return final_hash(hashimoto_seed(header, nonce), mix_hash);
}

HashResult hashimoto_light(const LightCache& cache, const Hash256& header, std::uint64_t nonce) {
  return hashimoto(header, nonce, cache.dataset_pages(), [&](std::uint32_t p) { return dataset_page(cache.items, p); });
}

HashResult hashimoto_full(std::span<const Page128> dataset, const Hash256& header, std::uint64_t nonce) {
  return hashimoto(header, nonce, static_cast<std::uint32_t>(dataset.size()), [&](std::uint32_t p) { return dataset[p]; });
}

std::vector<Page128> build_dataset(std::span<const Item64> cache, std::uint32_t page_count, unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<Page128> dataset(page_count);
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (std::uint32_t p = t; p < page_count; p += threads) dataset[p] = dataset_page(cache, p);
      });
  }  // joined here
  return dataset;
}

}  // namespace dagminer
