#include "dagminer/core/target.hpp"

#include <cmath>
#include <limits>

#include "dagminer/core/hex.hpp"

namespace dagminer {
namespace {

// Difficulty 1 is 0xffff * 2^208.
constexpr std::uint64_t base_mantissa = 0xffff;
constexpr int base_shift = 208;

Target max_target() noexcept {
  Target t;
  t.be.fill(0xff);
  return t;
}

__extension__ typedef unsigned __int128 uint128;  // GCC/Clang: exact 128-by-64 division steps

// 0xffff << shift, divided by a 64-bit divisor, in 512-bit arithmetic (limbs little-endian).
Target shifted_base_over(int shift, std::uint64_t divisor) noexcept {
  std::uint64_t num[8] = {};
  const int limb = shift / 64, bit = shift % 64;
  num[limb] = base_mantissa << bit;
  if (bit > 48 && limb + 1 < 8) num[limb + 1] = base_mantissa >> (64 - bit);
  std::uint64_t quotient[8] = {};
  uint128 rem = 0;
  for (int i = 7; i >= 0; --i) {
    const uint128 cur = rem << 64 | num[i];
    quotient[i] = static_cast<std::uint64_t>(cur / divisor);
    rem = cur % divisor;
  }
  for (int i = 4; i < 8; ++i)
    if (quotient[i]) return max_target();
  Target t;
  for (int i = 0; i < 32; ++i) t.be[31 - i] = static_cast<std::uint8_t>(quotient[i / 8] >> (8 * (i % 8)));
  return t;
}

long double to_long_double(const std::array<std::uint8_t, 32>& be) noexcept {
  long double v = 0;
  for (std::uint8_t b : be) v = v * 256 + b;
  return v;
}

}  // namespace

Target target_from_difficulty(double difficulty) noexcept {
  if (!(difficulty >= min_difficulty)) return max_target();  // also NaN
  if (std::isinf(difficulty)) return Target{};
  // difficulty = mantissa * 2^(exp - 53) exactly, so target = 0xffff * 2^(261 - exp) / mantissa.
  int exp = 0;
  const double m = std::frexp(difficulty, &exp);
  const auto mantissa = static_cast<std::uint64_t>(std::ldexp(m, 53));
  const int shift = base_shift + 53 - exp;
  if (shift < 0) return Target{};
  if (shift > 512 - 17) return max_target();
  return shifted_base_over(shift, mantissa);
}

Target target_for_share_rate(double hashes_per_second, double max_shares_per_second) noexcept {
  // Rounded up to a power of two: a rate that moves a little does not change the devices' work.
  const double difficulty = hashes_per_second / (max_shares_per_second * 4294967296.0);
  return target_from_difficulty(difficulty > 0 ? std::exp2(std::ceil(std::log2(difficulty))) : 0);
}

std::optional<Target> target_from_hex(std::string_view hex) noexcept {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  if (hex.empty() || hex.size() > 64) return std::nullopt;
  std::string padded(64 - hex.size(), '0');
  padded.append(hex);
  const auto bytes = parse_hex_array<32>(padded);
  if (!bytes) return std::nullopt;
  return Target{*bytes};
}

std::string to_hex(const Target& target) { return to_hex(std::span<const std::uint8_t>(target.be)); }

std::uint64_t boundary64(const Target& target) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | target.be[i];
  return v;
}

std::uint64_t hash_top64(const Hash256& final_hash) noexcept { return boundary64(Target{final_hash}); }

double difficulty_of(const Target& target) noexcept {
  const long double value = to_long_double(target.be);
  if (value == 0) return std::numeric_limits<double>::max();
  return static_cast<double>(std::ldexp(static_cast<long double>(base_mantissa), base_shift) / value);
}

double difficulty_of(const Hash256& final_hash) noexcept { return difficulty_of(Target{final_hash}); }

bool meets_target(const Hash256& final_hash, const Target& target) noexcept { return Target{final_hash} <= target; }

std::optional<NonceSpace> NonceSpace::from_extranonce(std::span<const std::uint8_t> extranonce) noexcept {
  if (extranonce.size() > max_extranonce_bytes) return std::nullopt;
  NonceSpace s;
  s.bytes_ = extranonce.size();
  for (std::size_t i = 0; i < extranonce.size(); ++i) s.prefix_ |= std::uint64_t{extranonce[i]} << (56 - 8 * i);
  return s;
}

std::optional<NonceSpace> NonceSpace::from_extranonce_hex(std::string_view hex) noexcept {
  const auto bytes = parse_hex(hex);
  if (!bytes) return std::nullopt;
  return from_extranonce(*bytes);
}

std::uint64_t NonceSpace::size() const noexcept { return bytes_ == 0 ? 0 : 1ull << (64 - 8 * bytes_); }

std::uint64_t NonceSpace::compose(std::uint64_t miner_part) const noexcept {
  return bytes_ == 0 ? miner_part : prefix_ | (miner_part & (size() - 1));
}

bool NonceSpace::contains(std::uint64_t nonce) const noexcept { return compose(nonce) == nonce; }

std::uint64_t NonceSpace::miner_part(std::uint64_t nonce) const noexcept { return bytes_ == 0 ? nonce : nonce & (size() - 1); }

std::string NonceSpace::miner_part_hex(std::uint64_t nonce) const { return to_hex_u64(miner_part(nonce)).substr(2 * bytes_); }

}  // namespace dagminer
