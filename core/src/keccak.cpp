#include "dagminer/core/keccak.hpp"

#include <bit>
#include <cstring>

namespace dagminer {
namespace {

constexpr std::uint64_t round_constants[24] = {
    0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000, 0x000000000000808b, 0x0000000080000001,
    0x8000000080008081, 0x8000000000008009, 0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
    0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003, 0x8000000000008002, 0x8000000000000080,
    0x000000000000800a, 0x800000008000000a, 0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
};

// rho offsets and pi destinations, in the order of the single-lane walk of the pi permutation
constexpr int rho[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};
constexpr int pi[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};

static_assert(std::endian::native == std::endian::little, "lanes are loaded little-endian");

template <std::size_t Bits>
std::array<std::uint8_t, Bits / 8> keccak(std::span<const std::uint8_t> data) noexcept {
  constexpr std::size_t rate = 200 - 2 * (Bits / 8);
  std::uint64_t st[25] = {};
  auto absorb = [&](const std::uint8_t* block) {
    for (std::size_t i = 0; i < rate / 8; ++i) {
      std::uint64_t lane;
      std::memcpy(&lane, block + 8 * i, 8);
      st[i] ^= lane;
    }
    keccakf1600(st);
  };
  std::size_t n = data.size();
  const std::uint8_t* p = data.data();
  for (; n >= rate; n -= rate, p += rate) absorb(p);
  std::uint8_t last[rate] = {};
  if (n) std::memcpy(last, p, n);
  last[n] ^= 0x01;  // original Keccak padding
  last[rate - 1] ^= 0x80;
  absorb(last);
  std::array<std::uint8_t, Bits / 8> out;
  std::memcpy(out.data(), st, out.size());
  return out;
}

}  // namespace

// Unrolled so that the 25 lanes live in registers: a loop with run-time lane indices keeps
// the state in memory and runs several times slower.
void keccakf1600(std::uint64_t state[25]) noexcept {
  std::uint64_t st[25];
  std::memcpy(st, state, sizeof st);
  for (int round = 0; round < 24; ++round) {
    std::uint64_t c[5];
#pragma GCC unroll 5
    for (int x = 0; x < 5; ++x) c[x] = st[x] ^ st[x + 5] ^ st[x + 10] ^ st[x + 15] ^ st[x + 20];
#pragma GCC unroll 5
    for (int x = 0; x < 5; ++x) {
      const std::uint64_t d = c[(x + 4) % 5] ^ std::rotl(c[(x + 1) % 5], 1);
#pragma GCC unroll 5
      for (int y = 0; y < 25; y += 5) st[y + x] ^= d;
    }
    std::uint64_t carry = st[1];
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) {
      const std::uint64_t next = st[pi[i]];
      st[pi[i]] = std::rotl(carry, rho[i]);
      carry = next;
    }
#pragma GCC unroll 5
    for (int y = 0; y < 25; y += 5) {
      const std::uint64_t a0 = st[y], a1 = st[y + 1], a2 = st[y + 2], a3 = st[y + 3], a4 = st[y + 4];
      st[y] = a0 ^ (~a1 & a2);
      st[y + 1] = a1 ^ (~a2 & a3);
      st[y + 2] = a2 ^ (~a3 & a4);
      st[y + 3] = a3 ^ (~a4 & a0);
      st[y + 4] = a4 ^ (~a0 & a1);
    }
    st[0] ^= round_constants[round];
  }
  std::memcpy(state, st, sizeof st);
}

Hash256 keccak256(std::span<const std::uint8_t> data) noexcept { return keccak<256>(data); }
Hash512 keccak512(std::span<const std::uint8_t> data) noexcept { return keccak<512>(data); }

}  // namespace dagminer
