// Which epochs a card's memory holds: last_epoch_within, and the README's table of it.
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "dagminer/core/ethash.hpp"

namespace dagminer {
namespace {

std::uint64_t need(int epoch) { return dataset_bytes(epoch) + light_cache_bytes(epoch); }

TEST(DagMemory, LastEpochWithinIsTheLastThatFits) {
  for (const std::uint64_t gib : {2ull, 4ull, 8ull, 24ull}) {
    const std::uint64_t bytes = gib << 30;
    const int e = last_epoch_within(bytes);
    EXPECT_LE(need(e), bytes) << gib;
    EXPECT_GT(need(e + 1), bytes) << gib;
  }
  EXPECT_EQ(last_epoch_within(need(431)), 431);
  EXPECT_EQ(last_epoch_within(need(431) - 1), 430);
  EXPECT_EQ(last_epoch_within(need(0) - 1), -1);
  EXPECT_EQ(last_epoch_within(~std::uint64_t{0}), max_epoch);
  // Ethereum Classic's epoch 431 (a 4.69 GB DAG) is beyond a 4 GiB card.
  EXPECT_LT(last_epoch_within(4ull << 30), 431);
}

// The last block of a chain at DAG epochs up to `epoch`. Ethereum Classic mined Ethash epochs
// until ECIP-1099 (block 11,700,000), which halved its epoch number: Etchash epoch 195 on.
std::uint64_t last_block(Algorithm algo, int epoch) {
  const auto e = static_cast<std::uint64_t>(epoch) + 1;
  if (algo == Algorithm::etchash && epoch >= epoch_of_block(Algorithm::etchash, etchash_activation_block))
    return e * etchash_epoch_length - 1;
  return e * ethash_epoch_length - 1;
}

std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// README.md, "GPU memory and DAG epochs": each row as computed here.
TEST(DagMemory, TheReadmeTableIsComputed) {
  std::ifstream in(DAGMINER_SOURCE_DIR "/README.md");
  ASSERT_TRUE(in) << "cannot open README.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  for (const int gib : {2, 3, 4, 6, 8, 10, 11, 12, 16, 24}) {
    const std::uint64_t bytes = static_cast<std::uint64_t>(gib) << 30;
    const int e = last_epoch_within(bytes);
    const int budget = last_epoch_within(bytes / 10 * 9);
    const std::string row = "| " + std::to_string(gib) + " GiB | " + std::to_string(e) + " | " +
                            with_commas(last_block(Algorithm::ethash, e)) + " | " +
                            with_commas(last_block(Algorithm::etchash, e)) + " | " + std::to_string(budget) + " |";
    EXPECT_NE(readme.find(row + "\n"), std::string::npos) << "README.md lacks the row\n" << row;
  }
}

}  // namespace
}  // namespace dagminer
