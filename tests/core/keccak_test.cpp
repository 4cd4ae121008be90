// Keccak-256/512 against the Keccak team's known answers (original padding, not SHA-3),
// including inputs one byte either side of each rate, where padding spills into a new block.
#include <gtest/gtest.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/core/keccak.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer {
namespace {

template <typename Hash>
void check_known_answers(const char* group, Hash (*hash)(std::span<const std::uint8_t>), std::size_t rate) {
  const auto doc = test::load_vectors("extra_vectors.json");
  const auto& vectors = doc.at("keccak").at(group).as_array();
  bool below = false, at = false, above = false;
  for (const auto& v : vectors) {
    const auto& o = v.as_object();
    const auto message = parse_hex(test::str(o.at("message")));
    ASSERT_TRUE(message) << group << ": bad message hex";
    ASSERT_EQ(message->size(), static_cast<std::size_t>(o.at("bytes").as_int64()));
    EXPECT_EQ(to_hex(hash(*message)), test::str(o.at("digest"))) << group << " of " << message->size() << " bytes";
    below |= message->size() == rate - 1;
    at |= message->size() == rate;
    above |= message->size() == rate + 1;
  }
  EXPECT_TRUE(below && at && above) << group << ": the vectors must cover lengths rate-1, rate and rate+1";
}

TEST(Keccak, Keccak256KnownAnswers) { check_known_answers("keccak256", &keccak256, 136); }
TEST(Keccak, Keccak512KnownAnswers) { check_known_answers("keccak512", &keccak512, 72); }

TEST(Keccak, IsNotSha3) {
  // SHA3-256("") is a7ffc6f8...; the 0x01 padding must give Keccak's c5d24601... instead.
  EXPECT_EQ(to_hex(keccak256({})), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_NE(to_hex(keccak256({})).substr(0, 8), "a7ffc6f8");
}

TEST(Keccak, PermutationOfZeroStateIsKeccakF1600) {
  // The first lane of Keccak-f[1600] applied to the all-zero state (Keccak team's
  // KeccakF-1600-IntermediateValues.txt): F1258F7940E1DDE7.
  std::uint64_t state[25] = {};
  keccakf1600(state);
  EXPECT_EQ(state[0], 0xF1258F7940E1DDE7ull);
}

}  // namespace
}  // namespace dagminer
