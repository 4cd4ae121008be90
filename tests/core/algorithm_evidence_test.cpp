// Telling Ethash and Etchash jobs apart by their seed and block height.
#include <gtest/gtest.h>

#include "dagminer/core/algorithm_evidence.hpp"

namespace dagminer {
namespace {

TEST(AlgorithmEvidence, AnOddSeedEpochIsEthashForSure) {
  const auto e = algorithm_evidence(ethash_seed(383), std::nullopt);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->algo, Algorithm::ethash);
  EXPECT_TRUE(e->settled);
  EXPECT_NE(e->seen.find("Ethash epoch 383, odd"), std::string::npos) << e->seen;
}

// ETC in late 2026: Etchash epoch 431 has the seed of Ethash epoch 862, past Ethereum's last.
TEST(AlgorithmEvidence, AnEvenSeedEpochPastEthereumsLastIsLikelyEtchash) {
  const auto e = algorithm_evidence(seed_of_epoch(Algorithm::etchash, 431), std::nullopt);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->algo, Algorithm::etchash);
  EXPECT_FALSE(e->settled);
  EXPECT_EQ(e->seen, "its seed is that of Ethash epoch 862 and of Etchash epoch 431, past Ethereum's last Ethash epoch 517");
}

// Below it an even epoch fits both (Ethereum before the merge, Mordor's Etchash, the tests'):
// nothing is claimed.
TEST(AlgorithmEvidence, AnEvenSeedEpochBelowItFitsBoth) {
  EXPECT_FALSE(algorithm_evidence(ethash_seed(500), std::nullopt));
  EXPECT_FALSE(algorithm_evidence(ethash_seed(2), std::nullopt));
  EXPECT_FALSE(algorithm_evidence(ethash_seed(0), std::nullopt));
}

TEST(AlgorithmEvidence, TheBlockHeightSettlesItWhereOnlyOneEpochFits) {
  // Block 25,890,000: Etchash epoch 431 (seed rounds 862), Ethash epoch 863.
  const auto etc = algorithm_evidence(seed_of_epoch(Algorithm::etchash, 431), 25'890'000);
  ASSERT_TRUE(etc);
  EXPECT_EQ(etc->algo, Algorithm::etchash);
  EXPECT_TRUE(etc->settled);
  EXPECT_NE(etc->seen.find("block height 25890000 is in Ethash epoch 863 and Etchash epoch 431"), std::string::npos) << etc->seen;
  // A height in Ethash epoch 2k lies in Etchash epoch k too, so for an even seed the height can
  // only ever settle Etchash: block 3,000,000 is Ethash epoch 100 and Etchash epoch 50, both fit.
  EXPECT_FALSE(algorithm_evidence(ethash_seed(100), 3'000'000));
}

TEST(AlgorithmEvidence, AHeightThatFitsNeitherFallsBackToTheSeed) {
  // An off-by-one height just before the epoch: neither reading fits, so the seed alone speaks.
  EXPECT_FALSE(algorithm_evidence(ethash_seed(100), 2'999'999));
  const auto e = algorithm_evidence(seed_of_epoch(Algorithm::etchash, 431), 25'859'999);
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->settled);
}

TEST(AlgorithmEvidence, ASeedOfNoEpochSaysNothing) {
  Hash256 unknown;
  unknown.fill(0xab);
  EXPECT_FALSE(algorithm_evidence(unknown, 1000));
}

}  // namespace
}  // namespace dagminer
