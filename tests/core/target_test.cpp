// 256-bit targets, pool difficulty, boundaries, extranonce nonce spaces and hex parsing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "dagminer/core/hex.hpp"
#include "dagminer/core/target.hpp"

namespace dagminer {
namespace {

const std::string difficulty_one = "00000000ffff0000000000000000000000000000000000000000000000000000";

TEST(Target, DifficultyOneIsThePoolBase) {
  EXPECT_EQ(to_hex(target_from_difficulty(1.0)), difficulty_one);
  EXPECT_EQ(boundary64(target_from_difficulty(1.0)), 0x00000000ffff0000ull);
  EXPECT_EQ(difficulty_of(target_from_difficulty(1.0)), 1.0);
  // Exact halvings and doublings of the base.
  EXPECT_EQ(to_hex(target_from_difficulty(2.0)), "000000007fff8000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(to_hex(target_from_difficulty(0.5)), "00000001fffe0000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(to_hex(target_from_difficulty(65536.0)), "000000000000ffff000000000000000000000000000000000000000000000000");
}

TEST(Target, DifficultyIsFloorOfBaseOverD) {
  // base / 3 = 0x5555 * 2^208 exactly; base / 7 leaves a remainder and must round down.
  EXPECT_EQ(to_hex(target_from_difficulty(3.0)), "0000000055550000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(to_hex(target_from_difficulty(7.0)), "0000000024922492492492492492492492492492492492492492492492492492");
}

TEST(Target, RoundTripsOverAWideRange) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(-9.0, 30.0);
  for (int i = 0; i < 5000; ++i) {
    const double d = std::pow(10.0, exponent(rng));
    const double back = difficulty_of(target_from_difficulty(d));
    ASSERT_NEAR(back / d, 1.0, 1e-9) << "difficulty " << d;
  }
  for (double d : {1e-9, 0.001, 0.5, 1.0, 1.863, 4e9, 1.2345678e15, 1e30}) {
    EXPECT_NEAR(difficulty_of(target_from_difficulty(d)) / d, 1.0, 1e-9) << d;
  }
}

TEST(Target, HigherDifficultyNeverLoosensTheTarget) {
  Target previous = target_from_difficulty(1e-9);
  for (double d = 1e-9; d < 1e20; d *= 1.37) {
    const Target t = target_from_difficulty(d);
    EXPECT_LE(t, previous) << "difficulty " << d;
    previous = t;
  }
}

TEST(Target, EdgeCases) {
  Target max;
  max.be.fill(0xff);
  EXPECT_EQ(target_from_difficulty(0.0), max);
  EXPECT_EQ(target_from_difficulty(-1.0), max);
  EXPECT_EQ(target_from_difficulty(std::nan("")), max);
  EXPECT_EQ(target_from_difficulty(min_difficulty), max);
  EXPECT_EQ(target_from_difficulty(1e-11), max);  // base / d would exceed 2^256
  EXPECT_EQ(target_from_difficulty(std::numeric_limits<double>::infinity()), Target{});
  EXPECT_EQ(target_from_difficulty(1e300), Target{});
  EXPECT_EQ(boundary64(max), ~std::uint64_t{0});
  EXPECT_EQ(boundary64(Target{}), 0u);
  EXPECT_EQ(difficulty_of(Target{}), std::numeric_limits<double>::max());
  EXPECT_NEAR(difficulty_of(max), 0xffff / std::ldexp(1.0, 48), 1e-20);  // base / 2^256 ~ 2^-32
}

TEST(Target, FromBoundaryHex) {
  EXPECT_EQ(to_hex(*target_from_hex(difficulty_one)), difficulty_one);
  EXPECT_EQ(to_hex(*target_from_hex("0x" + difficulty_one)), difficulty_one);
  EXPECT_EQ(to_hex(*target_from_hex("0X00000000FFFF" + std::string(52, '0'))), difficulty_one);
  // Short values are numbers: left-padded, including odd digit counts.
  EXPECT_EQ(to_hex(*target_from_hex("ffff")), std::string(60, '0') + "ffff");
  EXPECT_EQ(to_hex(*target_from_hex("0xfff")), std::string(61, '0') + "fff");
  EXPECT_EQ(to_hex(*target_from_hex("1")), std::string(63, '0') + "1");
  EXPECT_EQ(to_hex(*target_from_hex("0x0000000394427b08175efa9a9eb59b9123e2969bf19bf272b20787ed022fbe6c")),
            "0000000394427b08175efa9a9eb59b9123e2969bf19bf272b20787ed022fbe6c");
  EXPECT_EQ(boundary64(*target_from_hex("0x0000000394427b08175efa9a9eb59b9123e2969bf19bf272b20787ed022fbe6c")),
            0x0000000394427b08ull);
  EXPECT_EQ(target_from_hex(""), std::nullopt);
  EXPECT_EQ(target_from_hex("0x"), std::nullopt);
  EXPECT_EQ(target_from_hex(std::string(65, '1')), std::nullopt);
  EXPECT_EQ(target_from_hex("0x" + std::string(65, '1')), std::nullopt);
  EXPECT_EQ(target_from_hex("12g4"), std::nullopt);
  EXPECT_EQ(target_from_hex(" ffff"), std::nullopt);
}

TEST(Target, MeetsTargetAndTop64) {
  const Target t = *target_from_hex(difficulty_one);
  Hash256 equal = t.be;
  EXPECT_TRUE(meets_target(equal, t));
  Hash256 above = t.be;
  above[31] = 1;
  EXPECT_FALSE(meets_target(above, t));
  // Same top 64 bits as the boundary: the kernel reports it, the full check rejects it.
  EXPECT_EQ(hash_top64(above), boundary64(t));
  Hash256 below = t.be;
  below[5] = 0xfe;
  EXPECT_TRUE(meets_target(below, t));
  EXPECT_LT(hash_top64(below), boundary64(t));
  const Hash256 worked = *parse_hex_array<32>("000000008967835bc523bf58c952df82be871ba937996c86b9419bcc967028a0");
  EXPECT_EQ(hash_top64(worked), 0x000000008967835bull);
  EXPECT_NEAR(difficulty_of(worked), 1.863, 0.0005);
}

TEST(NonceSpace, ExtranoncesOfZeroToSixBytes) {
  const std::uint8_t bytes[7] = {0xa2, 0xee, 0xa0, 0x11, 0x22, 0x33, 0x44};
  for (std::size_t n = 0; n <= 6; ++n) {
    SCOPED_TRACE("extranonce bytes " + std::to_string(n));
    const auto space = NonceSpace::from_extranonce(std::span(bytes, n));
    ASSERT_TRUE(space);
    EXPECT_EQ(space->extranonce_bytes(), n);
    const std::uint64_t miner_bits = n == 0 ? ~std::uint64_t{0} : (std::uint64_t{1} << (64 - 8 * n)) - 1;
    EXPECT_EQ(space->size(), n == 0 ? 0 : miner_bits + 1);
    std::uint64_t prefix = 0;
    for (std::size_t i = 0; i < n; ++i) prefix |= std::uint64_t{bytes[i]} << (56 - 8 * i);
    EXPECT_EQ(space->first(), prefix);

    const std::uint64_t miner = 0x0123456789abcdefull;
    const std::uint64_t nonce = space->compose(miner);
    EXPECT_EQ(nonce & ~miner_bits, prefix);
    EXPECT_EQ(nonce & miner_bits, miner & miner_bits);
    EXPECT_TRUE(space->contains(nonce));
    EXPECT_EQ(space->miner_part(nonce), miner & miner_bits);
    const std::string hex = space->miner_part_hex(nonce);
    EXPECT_EQ(hex.size(), 2 * (8 - n));
    EXPECT_EQ(to_hex_u64(nonce).substr(2 * n), hex);
    if (n > 0) {
      EXPECT_FALSE(space->contains(nonce ^ (std::uint64_t{1} << 63)));
    }
  }
}

TEST(NonceSpace, RejectsSevenBytesAndBadHex) {
  const std::uint8_t seven[7] = {};
  EXPECT_EQ(NonceSpace::from_extranonce(seven), std::nullopt);
  EXPECT_EQ(NonceSpace::from_extranonce_hex("a2eea0cfae7df7"), std::nullopt);
  EXPECT_EQ(NonceSpace::from_extranonce_hex("abc"), std::nullopt);
  EXPECT_EQ(NonceSpace::from_extranonce_hex("zz"), std::nullopt);
  ASSERT_TRUE(NonceSpace::from_extranonce_hex(""));
  EXPECT_EQ(NonceSpace::from_extranonce_hex("")->extranonce_bytes(), 0u);
  ASSERT_TRUE(NonceSpace::from_extranonce_hex("0x080c"));
  EXPECT_EQ(NonceSpace::from_extranonce_hex("0x080c")->first(), 0x080c000000000000ull);
  // The specification's own example: extranonce 080c leaves a 6-byte miner nonce.
  EXPECT_EQ(NonceSpace::from_extranonce_hex("080c")->miner_part_hex(0x080c6a909d9bbc0full), "6a909d9bbc0f");
}

TEST(Hex, ParsesWithOrWithoutPrefixInEitherCase) {
  EXPECT_EQ(to_hex(*parse_hex("0xDeadBEEF")), "deadbeef");
  EXPECT_EQ(to_hex(*parse_hex("0Xdeadbeef")), "deadbeef");
  EXPECT_EQ(parse_hex("")->size(), 0u);
  EXPECT_EQ(parse_hex("0x")->size(), 0u);
  EXPECT_EQ(parse_hex("abc"), std::nullopt);
  EXPECT_EQ(parse_hex("0xabc"), std::nullopt);
  EXPECT_EQ(parse_hex("gg"), std::nullopt);
  EXPECT_EQ(parse_hex("a "), std::nullopt);
  EXPECT_EQ(parse_hex("x0ab"), std::nullopt);
  EXPECT_EQ((parse_hex_array<2>("0x0102")), (std::array<std::uint8_t, 2>{1, 2}));
  EXPECT_EQ(parse_hex_array<2>("010203"), std::nullopt);
  EXPECT_EQ(parse_hex_array<2>("01"), std::nullopt);
}

TEST(Hex, SixtyFourBitNumbers) {
  EXPECT_EQ(parse_hex_u64("0xa2eea0cfae7df760"), 0xa2eea0cfae7df760ull);
  EXPECT_EQ(parse_hex_u64("FFFFFFFFFFFFFFFF"), ~std::uint64_t{0});
  EXPECT_EQ(parse_hex_u64("1"), 1u);
  EXPECT_EQ(parse_hex_u64("0x0"), 0u);
  EXPECT_EQ(parse_hex_u64(""), std::nullopt);
  EXPECT_EQ(parse_hex_u64("0x"), std::nullopt);
  EXPECT_EQ(parse_hex_u64("10000000000000000"), std::nullopt);  // 17 digits
  EXPECT_EQ(parse_hex_u64("12-4"), std::nullopt);
  EXPECT_EQ(to_hex_u64(0xa2eea0cfae7df760ull), "a2eea0cfae7df760");
  EXPECT_EQ(to_hex_u64(1), "0000000000000001");
}

}  // namespace
}  // namespace dagminer
