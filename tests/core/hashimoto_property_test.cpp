// Hashimoto over the light cache (verification, the CPU backend) must equal hashimoto over a
// full dataset (what the GPU reads): checked on a small synthetic epoch, many inputs.
#include <gtest/gtest.h>

#include <random>

#include "dagminer/test/support.hpp"

namespace dagminer {
namespace {

Hash256 random_hash(std::mt19937_64& rng) {
  Hash256 h;
  for (auto& b : h) b = static_cast<std::uint8_t>(rng());
  return h;
}

TEST(HashimotoProperty, LightEqualsFullOnSyntheticDataset) {
  const auto cache = test::synthetic_light_cache(0x5a, 389, 3001);
  const std::vector<Page128> dataset = build_dataset(cache->items, cache->dataset_pages());
  ASSERT_EQ(dataset.size(), 3001u);

  std::mt19937_64 rng(20261125);
  for (int i = 0; i < 300; ++i) {
    const Hash256 header = random_hash(rng);
    const std::uint64_t nonce = rng();
    const HashResult light = hashimoto_light(*cache, header, nonce);
    const HashResult full = hashimoto_full(dataset, header, nonce);
    ASSERT_EQ(light.mix_hash, full.mix_hash) << "input " << i;
    ASSERT_EQ(light.final_hash, full.final_hash) << "input " << i;
    ASSERT_EQ(final_from_mix(header, nonce, light.mix_hash), light.final_hash) << "input " << i;
  }
}

TEST(HashimotoProperty, DatasetPagesAreAdjacentItems) {
  const auto cache = test::synthetic_light_cache(0x17, 257, 1021);
  const std::vector<Page128> one_thread = build_dataset(cache->items, 1021, 1);
  const std::vector<Page128> many_threads = build_dataset(cache->items, 1021, 3);
  for (std::uint32_t p = 0; p < 1021; ++p) {
    ASSERT_EQ(std::memcmp(&one_thread[p], &many_threads[p], sizeof(Page128)), 0) << "page " << p;
    if (p % 97 == 0) {
      const Item64 a = dataset_item(cache->items, 2 * p), b = dataset_item(cache->items, 2 * p + 1);
      EXPECT_EQ(std::memcmp(&one_thread[p].halves[0], &a, 64), 0) << "page " << p;
      EXPECT_EQ(std::memcmp(&one_thread[p].halves[1], &b, 64), 0) << "page " << p;
    }
  }
}

TEST(HashimotoProperty, EveryInputBitMatters) {
  // A different nonce, header or cache gives a different result: the inputs are really used.
  const auto cache = test::synthetic_light_cache(0x01, 263, 509);
  const auto other_cache = test::synthetic_light_cache(0x02, 263, 509);
  Hash256 header{};
  const HashResult base = hashimoto_light(*cache, header, 7);
  EXPECT_NE(hashimoto_light(*cache, header, 8).final_hash, base.final_hash);
  EXPECT_NE(hashimoto_light(*other_cache, header, 7).final_hash, base.final_hash);
  header[31] ^= 1;
  EXPECT_NE(hashimoto_light(*cache, header, 7).final_hash, base.final_hash);
  // The nonce is hashed little-endian: swapping its byte order changes the result.
  EXPECT_NE(hashimoto_light(*cache, Hash256{}, 0x0700000000000000ull).final_hash, base.final_hash);
}

}  // namespace
}  // namespace dagminer
