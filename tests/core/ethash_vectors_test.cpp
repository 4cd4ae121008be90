// Ethash and Etchash against public known answers: mainnet blocks, sizes, seeds, the epoch-0
// light cache, dataset items, the EthereumStratum/1.0.0 worked example and ECIP-1099 epoch 191.
#include <gtest/gtest.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/core/target.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer {
namespace {

const boost::json::object& mainnet() {
  static const auto doc = test::load_vectors("ethash_vectors.json");
  return doc;
}
const boost::json::object& extra() {
  static const auto doc = test::load_vectors("extra_vectors.json");
  return doc;
}
int as_int(const boost::json::value& v) { return static_cast<int>(v.as_int64()); }

// One test per mainnet block, so each builds (or loads) only its own epoch's light cache.
class MainnetBlock : public ::testing::TestWithParam<std::size_t> {};

TEST_P(MainnetBlock, HashimotoLightMatchesChain) {
  const auto& v = mainnet().at("hashimoto").as_array().at(GetParam()).as_object();
  const auto block = static_cast<std::uint64_t>(v.at("block").as_int64());
  const Hash256 header = test::hash256(test::str(v.at("header_hash")));
  const auto nonce = parse_hex_u64(test::str(v.at("nonce")));
  ASSERT_TRUE(nonce);

  const auto cache = test::shared_light_cache(Algorithm::ethash, epoch_of_block(Algorithm::ethash, block));
  const HashResult r = hashimoto_light(*cache, header, *nonce);
  EXPECT_EQ(to_hex(r.mix_hash), test::str(v.at("mix_hash"))) << "block " << block;
  EXPECT_EQ(to_hex(r.final_hash), test::str(v.at("final_hash"))) << "block " << block;
  EXPECT_EQ(final_from_mix(header, *nonce, r.mix_hash), r.final_hash);
}

// Blocks 0, 2, 2683077 and 5000000: epochs 0, 0, 89 and 166.
INSTANTIATE_TEST_SUITE_P(Ethash, MainnetBlock, ::testing::Range<std::size_t>(0, 4), [](const auto& test_info) {
  return "block_" + std::to_string(mainnet().at("hashimoto").as_array().at(test_info.param).at("block").as_int64());
});

TEST(EthashVectors, EveryMainnetBlockIsCovered) {
  EXPECT_EQ(mainnet().at("hashimoto").as_array().size(), 4u) << "add new blocks to the Range above";
}

TEST(EthashVectors, SizesOfEveryListedEpoch) {
  for (const auto& v : mainnet().at("sizes").as_array()) {
    const int epoch = as_int(v.at("epoch"));
    EXPECT_EQ(light_cache_bytes(epoch), static_cast<std::uint64_t>(v.at("light_cache_bytes").as_int64())) << "epoch " << epoch;
    EXPECT_EQ(dataset_bytes(epoch), static_cast<std::uint64_t>(v.at("dataset_bytes").as_int64())) << "epoch " << epoch;
  }
}

TEST(EthashVectors, SeedsAndTheirEpochs) {
  for (const auto& v : mainnet().at("epoch_seeds").as_array()) {
    const int epoch = as_int(v.at("epoch"));
    const Hash256 seed = test::hash256(test::str(v.at("seed")));
    EXPECT_EQ(ethash_seed(epoch), seed) << "epoch " << epoch;
    EXPECT_EQ(seed_of_epoch(Algorithm::ethash, epoch), seed) << "epoch " << epoch;
    EXPECT_EQ(epoch_of_seed(Algorithm::ethash, seed), epoch) << "epoch " << epoch;
  }
}

TEST(EthashVectors, LightCacheOfEpoch0) {
  // Built here, not loaded, so the known answer proves the generator itself.
  const LightCache cache = build_light_cache(Algorithm::ethash, 0);
  const auto& v = mainnet().at("light_cache_keccak256").as_array().at(0).as_object();
  ASSERT_EQ(as_int(v.at("epoch")), 0);
  EXPECT_EQ(cache.bytes().size(), light_cache_bytes(0));
  EXPECT_EQ(cache.dataset_bytes, dataset_bytes(0));
  EXPECT_EQ(cache.seed, Hash256{});
  EXPECT_EQ(to_hex(keccak256(cache.bytes())), test::str(v.at("light_cache_keccak256")));
}

TEST(EthashVectors, DatasetPagesOfEpoch13) {
  const auto cache = test::shared_light_cache(Algorithm::ethash, 13);
  for (const auto& v : mainnet().at("dataset_items").as_array()) {
    ASSERT_EQ(as_int(v.at("epoch")), 13);
    // The vector's index counts 128-byte pages: its two halves are items 2i and 2i + 1.
    const auto page = static_cast<std::uint32_t>(v.at("index").as_int64());
    const Page128 p = dataset_page(cache->items, page);
    const auto half = [](const Item64& item) {
      return to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(item.words), 64));
    };
    EXPECT_EQ(half(p.halves[0]), test::str(v.at("first_64_bytes"))) << "page " << page;
    EXPECT_EQ(half(p.halves[1]), test::str(v.at("second_64_bytes"))) << "page " << page;
    EXPECT_EQ(half(dataset_item(cache->items, 2 * page)), test::str(v.at("first_64_bytes"))) << "item " << 2 * page;
    EXPECT_EQ(half(dataset_item(cache->items, 2 * page + 1)), test::str(v.at("second_64_bytes"))) << "item " << 2 * page + 1;
  }
}

TEST(EthashVectors, EthereumStratumWorkedExample) {
  const auto& v = extra().at("ethereum_stratum_1_worked_example").as_object();
  const int epoch = as_int(v.at("epoch"));
  const Hash256 seed = test::hash256(test::str(v.at("seed")));
  EXPECT_EQ(epoch_of_seed(Algorithm::ethash, seed), epoch);

  // The nonce is the pool's extranonce followed by the miner's part, and splits back.
  const auto space = NonceSpace::from_extranonce_hex(test::str(v.at("extranonce")));
  ASSERT_TRUE(space);
  const auto miner_part = parse_hex_u64(test::str(v.at("miner_nonce")));
  const auto nonce = parse_hex_u64(test::str(v.at("nonce")));
  ASSERT_TRUE(miner_part && nonce);
  EXPECT_EQ(space->compose(*miner_part), *nonce);
  EXPECT_TRUE(space->contains(*nonce));
  EXPECT_EQ(space->miner_part_hex(*nonce), test::str(v.at("miner_nonce")));

  const auto cache = test::shared_light_cache(Algorithm::ethash, epoch);
  ASSERT_EQ(cache->seed, seed);
  const HashResult r = hashimoto_light(*cache, test::hash256(test::str(v.at("header_hash"))), *nonce);
  EXPECT_EQ(to_hex(r.final_hash), test::str(v.at("final_hash")));

  // "Result is share with difficulty of 1.863 which is above 1.0."
  EXPECT_NEAR(difficulty_of(r.final_hash), v.at("difficulty").as_double(), 0.0005);
  EXPECT_TRUE(meets_target(r.final_hash, target_from_difficulty(v.at("pool_difficulty").as_double())));
  EXPECT_FALSE(meets_target(r.final_hash, target_from_difficulty(1.864)));
}

TEST(EtchashVectors, Epoch191SeedAndSizes) {
  for (const auto& v : extra().at("etchash").at("epochs").as_array()) {
    const int epoch = as_int(v.at("epoch"));
    const Hash256 seed = test::hash256(test::str(v.at("seed")));
    EXPECT_EQ(to_hex(seed).substr(0, 16), "d3d0aa11197dcdcf");  // the prefix the design brief quotes
    EXPECT_EQ(seed_of_epoch(Algorithm::etchash, epoch), seed);
    EXPECT_EQ(ethash_seed(as_int(v.at("seed_rounds"))), seed);
    EXPECT_EQ(light_cache_bytes(epoch), static_cast<std::uint64_t>(v.at("light_cache_bytes").as_int64()));
    EXPECT_EQ(dataset_bytes(epoch), static_cast<std::uint64_t>(v.at("dataset_bytes").as_int64()));
    EXPECT_EQ(epoch_of_seed(Algorithm::etchash, seed), epoch);
    // The same seed read as Ethash is epoch 2E: a miner that forgets the halving builds a
    // DAG twice too large.
    EXPECT_EQ(epoch_of_seed(Algorithm::ethash, seed), 2 * epoch);
  }
}

TEST(EtchashVectors, SeedLookupRejectsOddRoundsAndUnknownSeeds) {
  EXPECT_EQ(epoch_of_seed(Algorithm::etchash, ethash_seed(0)), 0);
  EXPECT_EQ(epoch_of_seed(Algorithm::etchash, ethash_seed(862)), 431);
  // An odd round count is an Ethash epoch but no Etchash epoch.
  EXPECT_EQ(epoch_of_seed(Algorithm::ethash, ethash_seed(383)), 383);
  EXPECT_EQ(epoch_of_seed(Algorithm::etchash, ethash_seed(383)), std::nullopt);
  EXPECT_EQ(epoch_of_seed(Algorithm::etchash, ethash_seed(1)), std::nullopt);

  Hash256 unknown;
  unknown.fill(0xab);
  EXPECT_EQ(epoch_of_seed(Algorithm::ethash, unknown), std::nullopt);
  EXPECT_EQ(epoch_of_seed(Algorithm::etchash, unknown), std::nullopt);
  // Lookups after a deep walk still agree with the chain (the cache answers them).
  EXPECT_EQ(epoch_of_seed(Algorithm::ethash, ethash_seed(2048)), 2048);
  EXPECT_EQ(epoch_of_seed(Algorithm::ethash, ethash_seed(5)), 5);
}

TEST(Epochs, OfBlockForBothAlgorithms) {
  EXPECT_EQ(epoch_of_block(Algorithm::ethash, 0), 0);
  EXPECT_EQ(epoch_of_block(Algorithm::ethash, 29'999), 0);
  EXPECT_EQ(epoch_of_block(Algorithm::ethash, 30'000), 1);
  EXPECT_EQ(epoch_of_block(Algorithm::ethash, 2'683'077), 89);
  EXPECT_EQ(epoch_of_block(Algorithm::ethash, 5'000'000), 166);
  EXPECT_EQ(epoch_of_block(Algorithm::etchash, 59'999), 0);
  EXPECT_EQ(epoch_of_block(Algorithm::etchash, 60'000), 1);
  // ECIP-1099 activation: Ethash epoch 390 becomes Etchash epoch 195 with the same seed.
  EXPECT_EQ(epoch_of_block(Algorithm::etchash, etchash_activation_block), 195);
  EXPECT_EQ(epoch_of_block(Algorithm::ethash, etchash_activation_block), 390);
  EXPECT_EQ(seed_of_epoch(Algorithm::etchash, 195), seed_of_epoch(Algorithm::ethash, 390));
  EXPECT_EQ(epoch_of_block(Algorithm::etchash, 25'860'000), 431);
  EXPECT_EQ(epoch_of_block(Algorithm::ethash, ~std::uint64_t{0}), max_epoch);
}

TEST(Epochs, AlgorithmNames) {
  EXPECT_EQ(parse_algorithm("ethash"), Algorithm::ethash);
  EXPECT_EQ(parse_algorithm("etchash"), Algorithm::etchash);
  EXPECT_EQ(parse_algorithm("ETHASH"), std::nullopt);
  EXPECT_EQ(parse_algorithm(""), std::nullopt);
  EXPECT_EQ(to_string(Algorithm::etchash), "etchash");
}

}  // namespace
}  // namespace dagminer
