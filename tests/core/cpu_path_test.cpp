// Every CPU path (portable, x86-64-v3, x86-64-v4) against the same known answers: Keccak, the
// permutation itself on random states, the epoch-0 light cache, dataset pages of epoch 13 and a
// mainnet hashimoto. A path this CPU lacks is skipped, saying so; the CI machine and the
// development VM (AMD EPYC) run all three. Also the light cache's storage (huge-page advice).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "dagminer/core/hex.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer {
namespace {

class OnCpuPath : public ::testing::TestWithParam<CpuPath> {
 protected:
  void SetUp() override {
    if (!cpu_path_supported(GetParam())) GTEST_SKIP() << "this CPU lacks " << to_string(GetParam());
    use_cpu_path(GetParam());
  }
  void TearDown() override { use_cpu_path(best); }
  const CpuPath best = cpu_path();
};

std::string hex_of(const Item64& item) {
  return to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(item.words), 64));
}

TEST_P(OnCpuPath, KeccakKnownAnswers) {
  const auto doc = test::load_vectors("extra_vectors.json");
  for (const auto* group : {"keccak256", "keccak512"})
    for (const auto& v : doc.at("keccak").at(group).as_array()) {
      const auto message = parse_hex(test::str(v.at("message")));
      ASSERT_TRUE(message);
      const std::string digest =
          std::string_view(group) == "keccak256" ? to_hex(keccak256(*message)) : to_hex(keccak512(*message));
      EXPECT_EQ(digest, test::str(v.at("digest"))) << group << " of " << message->size() << " bytes";
    }
}

TEST_P(OnCpuPath, PermutationMatchesPortableOnRandomStates) {
  std::mt19937_64 rng(1600);
  std::uint64_t zero[25] = {};
  keccakf1600(zero);
  EXPECT_EQ(zero[0], 0xF1258F7940E1DDE7ull);  // the Keccak team's intermediate values
  for (int trial = 0; trial < 200; ++trial) {
    std::uint64_t state[25], expected[25];
    for (auto& lane : state) lane = rng();
    std::memcpy(expected, state, sizeof state);
    keccakf1600(state);
    use_cpu_path(CpuPath::portable);
    keccakf1600(expected);
    use_cpu_path(GetParam());
    ASSERT_EQ(std::memcmp(state, expected, sizeof state), 0) << "trial " << trial;
  }
}

TEST_P(OnCpuPath, Keccak512Of64BytesMatchesTheGeneralHash) {
  std::mt19937_64 rng(512);
  for (int trial = 0; trial < 100; ++trial) {
    std::uint64_t lanes[8];
    for (auto& lane : lanes) lane = rng();
    const Hash512 expected = keccak512({reinterpret_cast<const std::uint8_t*>(lanes), 64});
    keccak512_64(lanes);
    ASSERT_EQ(std::memcmp(lanes, expected.data(), 64), 0) << "trial " << trial;
  }
}

TEST_P(OnCpuPath, LightCacheOfEpoch0) {
  const LightCache cache = build_light_cache(Algorithm::ethash, 0);
  const auto doc = test::load_vectors("ethash_vectors.json");
  const auto& v = doc.at("light_cache_keccak256").as_array().at(0).as_object();
  ASSERT_EQ(v.at("epoch").as_int64(), 0);
  EXPECT_EQ(to_hex(keccak256(cache.bytes())), test::str(v.at("light_cache_keccak256")));
}

TEST_P(OnCpuPath, DatasetPagesOfEpoch13AndHashimotoOfEpoch89) {
  const auto doc = test::load_vectors("ethash_vectors.json");
  const auto cache13 = test::shared_light_cache(Algorithm::ethash, 13);
  for (const auto& v : doc.at("dataset_items").as_array()) {
    const auto page = static_cast<std::uint32_t>(v.at("index").as_int64());
    const Page128 p = dataset_page(cache13->items, page);
    EXPECT_EQ(hex_of(p.halves[0]), test::str(v.at("first_64_bytes"))) << "page " << page;
    EXPECT_EQ(hex_of(p.halves[1]), test::str(v.at("second_64_bytes"))) << "page " << page;
    EXPECT_EQ(hex_of(dataset_item(cache13->items, 2 * page + 1)), test::str(v.at("second_64_bytes"))) << "item " << 2 * page + 1;
  }
  for (const auto& v : doc.at("hashimoto").as_array()) {
    const auto block = static_cast<std::uint64_t>(v.at("block").as_int64());
    if (block != 2683077) continue;  // epoch 89: a cache well beyond the CPU's L2
    const auto nonce = parse_hex_u64(test::str(v.at("nonce")));
    ASSERT_TRUE(nonce);
    const auto cache = test::shared_light_cache(Algorithm::ethash, epoch_of_block(Algorithm::ethash, block));
    const HashResult r = hashimoto_light(*cache, test::hash256(test::str(v.at("header_hash"))), *nonce);
    EXPECT_EQ(to_hex(r.mix_hash), test::str(v.at("mix_hash")));
    EXPECT_EQ(to_hex(r.final_hash), test::str(v.at("final_hash")));
  }
}

TEST(CpuPath, PortableIsAlwaysThereAndAnUnsupportedPathIsRefused) {
  EXPECT_TRUE(cpu_path_supported(CpuPath::portable));
  EXPECT_TRUE(cpu_path_supported(cpu_path()));
  for (CpuPath path : {CpuPath::x86_64_v3, CpuPath::x86_64_v4})
    if (!cpu_path_supported(path)) EXPECT_THROW(use_cpu_path(path), std::invalid_argument) << to_string(path);
}

TEST(LightCacheStorage, ZeroedItemsOfEveryCountWhetherOrNotHugePagesFit) {
  // 1 and 1000 items are less than one 2 MiB page; 100003 items span several.
  for (std::size_t n : {std::size_t{1}, std::size_t{1000}, std::size_t{100003}}) {
    const std::vector<Item64> items = allocate_light_cache_items(n);
    ASSERT_EQ(items.size(), n);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(items.data());
    EXPECT_TRUE(std::all_of(bytes, bytes + n * sizeof(Item64), [](std::uint8_t b) { return b == 0; })) << n << " items";
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, OnCpuPath, ::testing::Values(CpuPath::portable, CpuPath::x86_64_v3, CpuPath::x86_64_v4),
                         [](const auto& info) {
                           std::string name(to_string(info.param));
                           std::erase(name, '-');
                           return name;
                         });

}  // namespace
}  // namespace dagminer
