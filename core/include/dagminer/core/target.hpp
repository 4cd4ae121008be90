// 256-bit share targets, pool difficulty and the nonce layout pools impose.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dagminer/core/keccak.hpp"

namespace dagminer {

// A 256-bit big-endian number: the share target, or a final hash read as a number.
struct Target {
  std::array<std::uint8_t, 32> be{};
  auto operator<=>(const Target&) const = default;
};

inline constexpr double min_difficulty = 1e-12;  // below this a target would not fit 256 bits usefully

// Difficulty 1 = 0x00000000ffff0000...0 (the pool convention; stricter than 2^224, so shares
// pass either check). difficulty d -> floor(base / d), saturating at 2^256 - 1.
Target target_from_difficulty(double difficulty) noexcept;
// The target at which `hashes_per_second` find at most `max_shares_per_second` shares a second
// on average (difficulty 1 takes about 2^32 hashes a share), its difficulty a power of two.
Target target_for_share_rate(double hashes_per_second, double max_shares_per_second) noexcept;
// A boundary as pools send it: up to 64 hex digits, optional 0x, short values left-padded.
std::optional<Target> target_from_hex(std::string_view hex) noexcept;
std::string to_hex(const Target& target);
// The top 64 bits, which the search kernels compare against; a hash whose top 64 bits are
// <= this may meet the target and is then checked in full on the CPU.
std::uint64_t boundary64(const Target& target) noexcept;
// base / value as a double (0 maps to the largest double).
double difficulty_of(const Hash256& final_hash) noexcept;
double difficulty_of(const Target& target) noexcept;
bool meets_target(const Hash256& final_hash, const Target& target) noexcept;
// The top 64 bits of a final hash, big-endian, as kernels compute them.
std::uint64_t hash_top64(const Hash256& final_hash) noexcept;

// A pool's extranonce fixes the top bytes of the 64-bit nonce; the miner owns the rest.
// EthereumStratum/1.0.0 allows 0-3 bytes, EthereumStratum/2.0.0 up to 6.
class NonceSpace {
 public:
  static constexpr std::size_t max_extranonce_bytes = 6;
  NonceSpace() = default;
  // nullopt when the extranonce is longer than max_extranonce_bytes.
  static std::optional<NonceSpace> from_extranonce(std::span<const std::uint8_t> extranonce) noexcept;
  static std::optional<NonceSpace> from_extranonce_hex(std::string_view hex) noexcept;

  std::size_t extranonce_bytes() const noexcept { return bytes_; }
  std::uint64_t first() const noexcept { return prefix_; }  // lowest nonce with this prefix
  // Count of miner-chosen nonces, 2^(64 - 8n); returns 0 for n = 0 meaning "all 2^64".
  std::uint64_t size() const noexcept;
  std::uint64_t compose(std::uint64_t miner_part) const noexcept;
  bool contains(std::uint64_t nonce) const noexcept;
  std::uint64_t miner_part(std::uint64_t nonce) const noexcept;
  // The miner part as submitted: exactly 2 * (8 - n) hex digits.
  std::string miner_part_hex(std::uint64_t nonce) const;

  bool operator==(const NonceSpace&) const = default;

 private:
  std::uint64_t prefix_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace dagminer
