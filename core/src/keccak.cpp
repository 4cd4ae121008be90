#include "dagminer/core/keccak.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dagminer {
namespace {

constexpr std::uint64_t round_constants[24] = {
    0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000, 0x000000000000808b, 0x0000000080000001,
    0x8000000080008081, 0x8000000000008009, 0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
    0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003, 0x8000000000008002, 0x8000000000000080,
    0x000000000000800a, 0x800000008000000a, 0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
};

// rho rotation of lane x + 5y
constexpr int rho[25] = {0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14};

static_assert(std::endian::native == std::endian::little, "lanes are loaded little-endian");

// One round from state `a` into state `e`: writing a second state instead of permuting in place
// leaves every index a constant once unrolled, so the lanes are plain variables to the compiler.
// Output lane (x, y) of rho-pi comes from input lane ((x + 3y) mod 5, x). The column parities
// `c` of `a` come in and those of `e` go out, summed as each output row is made: each lane is
// then read once and written once per round, which keeps the spills to the lanes themselves.
[[gnu::always_inline]] inline void keccak_round(const std::uint64_t (&a)[25], std::uint64_t (&e)[25], std::uint64_t (&c)[5],
                                                std::uint64_t rc) noexcept {
  std::uint64_t d[5];
#pragma GCC unroll 5
  for (int x = 0; x < 5; ++x) d[x] = c[(x + 4) % 5] ^ std::rotl(c[(x + 1) % 5], 1);
#pragma GCC unroll 5
  for (int y = 0; y < 5; ++y) {
    std::uint64_t b[5];
#pragma GCC unroll 5
    for (int x = 0; x < 5; ++x) {
      const int sx = (x + 3 * y) % 5, src = sx + 5 * x;
      b[x] = std::rotl(a[src] ^ d[sx], rho[src]);
    }
#pragma GCC unroll 5
    for (int x = 0; x < 5; ++x) {
      std::uint64_t lane = b[x] ^ (~b[(x + 1) % 5] & b[(x + 2) % 5]);
      if (y == 0 && x == 0) lane ^= rc;
      e[5 * y + x] = lane;
      c[x] = y == 0 ? lane : c[x] ^ lane;
    }
  }
}

[[gnu::always_inline]] inline void permute(std::uint64_t state[25]) noexcept {
  std::uint64_t a[25], e[25], c[5];
  std::memcpy(a, state, sizeof a);
#pragma GCC unroll 5
  for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
  for (int round = 0; round < 24; round += 2) {
    keccak_round(a, e, c, round_constants[round]);
    keccak_round(e, a, c, round_constants[round + 1]);
  }
  std::memcpy(state, a, sizeof a);
}

void permute_portable(std::uint64_t state[25]) noexcept { permute(state); }

#if defined(__x86_64__)
// The same rounds with and-not (BMI1) and rotates into a new register (BMI2 rorx): fewer copies.
[[gnu::target("avx2,bmi,bmi2")]] void permute_x86_64_v3(std::uint64_t state[25]) noexcept { permute(state); }

// AVX-512: one register per row y, lane x in element x (elements 5-7 unused). Theta and chi
// rotate rows with permutes, rho is one variable rotate per row, and pi gathers output row Y from
// input row X's element (X + 3Y) mod 5 with three permutes and two blends (side by side, so a
// round's dependency chain stays short).
struct RowIndices {
  std::int64_t minus1[8] = {4, 0, 1, 2, 3, 5, 6, 7};
  std::int64_t plus1[8] = {1, 2, 3, 4, 0, 5, 6, 7};
  std::int64_t plus2[8] = {2, 3, 4, 0, 1, 5, 6, 7};
  std::int64_t rho_row[5][8] = {};
  std::int64_t pi01[5][8] = {};  // elements 0, 1 of output row Y from input rows 0 and 1 (+8)
  std::int64_t pi23[5][8] = {};  // elements 2, 3 from input rows 2 and 3 (+8)
  std::int64_t pi4[5][8] = {};   // element 4 from input row 4
  constexpr RowIndices() {
    for (int y = 0; y < 5; ++y) {
      for (int x = 0; x < 5; ++x) rho_row[y][x] = rho[5 * y + x];
      const auto column = [y](int x) { return static_cast<std::int64_t>((x + 3 * y) % 5); };
      pi01[y][0] = column(0);
      pi01[y][1] = 8 + column(1);
      pi23[y][2] = column(2);
      pi23[y][3] = 8 + column(3);
      pi4[y][4] = column(4);
    }
  }
};
alignas(64) constexpr RowIndices row_indices;

// GCC 12's AVX-512 headers start some intrinsics from a deliberately uninitialised vector and
// then warn about it (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
[[gnu::target("avx512f")]] void permute_x86_64_v4(std::uint64_t state[25]) noexcept {
  constexpr __mmask8 lanes = 0x1f;
  const __m512i minus1 = _mm512_load_si512(row_indices.minus1), plus1 = _mm512_load_si512(row_indices.plus1),
                plus2 = _mm512_load_si512(row_indices.plus2);
  __m512i row[5];
  for (int y = 0; y < 5; ++y) row[y] = _mm512_maskz_loadu_epi64(lanes, state + 5 * y);
  for (int round = 0; round < 24; ++round) {
    // theta: d[x] = c[x - 1] ^ rotl(c[x + 1], 1) added to every lane of column x; then rho
    __m512i c = _mm512_ternarylogic_epi64(row[0], row[1], row[2], 0x96);  // 0x96: a ^ b ^ c
    c = _mm512_ternarylogic_epi64(c, row[3], row[4], 0x96);
    const __m512i c_minus1 = _mm512_permutexvar_epi64(minus1, c);
    const __m512i c_plus1 = _mm512_rol_epi64(_mm512_permutexvar_epi64(plus1, c), 1);
#pragma GCC unroll 5
    for (int y = 0; y < 5; ++y)
      row[y] = _mm512_rolv_epi64(_mm512_ternarylogic_epi64(row[y], c_minus1, c_plus1, 0x96),
                                 _mm512_load_si512(row_indices.rho_row[y]));
    // pi
    __m512i b[5];
#pragma GCC unroll 5
    for (int y = 0; y < 5; ++y) {
      const __m512i low = _mm512_permutex2var_epi64(row[0], _mm512_load_si512(row_indices.pi01[y]), row[1]);
      const __m512i mid = _mm512_permutex2var_epi64(row[2], _mm512_load_si512(row_indices.pi23[y]), row[3]);
      const __m512i high = _mm512_permutexvar_epi64(_mm512_load_si512(row_indices.pi4[y]), row[4]);
      b[y] = _mm512_mask_blend_epi64(0x10, _mm512_mask_blend_epi64(0x0c, low, mid), high);
    }
    // chi: b[x] ^ (~b[x + 1] & b[x + 2]) is truth table 0xd2; then iota
#pragma GCC unroll 5
    for (int y = 0; y < 5; ++y)
      row[y] =
          _mm512_ternarylogic_epi64(b[y], _mm512_permutexvar_epi64(plus1, b[y]), _mm512_permutexvar_epi64(plus2, b[y]), 0xd2);
    row[0] = _mm512_xor_si512(row[0], _mm512_maskz_set1_epi64(1, static_cast<long long>(round_constants[round])));
  }
  for (int y = 0; y < 5; ++y) _mm512_mask_storeu_epi64(state + 5 * y, lanes, row[y]);
}
#pragma GCC diagnostic pop
#endif

void permute_on(CpuPath path, std::uint64_t state[25]) noexcept {
#if defined(__x86_64__)
  switch (path) {
    case CpuPath::x86_64_v4: return permute_x86_64_v4(state);
    case CpuPath::x86_64_v3: return permute_x86_64_v3(state);
    case CpuPath::portable: break;
  }
#endif
  permute_portable(state);
}

// The fastest path this CPU supports, timed once at first use: having AVX-512 is
// not enough, as on AMD Zen 4 the AVX-512 permutation is slower than the BMI one (figures in
// bench/RESULTS.md). The best of a few interleaved trials, so a busy machine does not decide it.
CpuPath fastest_path() noexcept {
  constexpr CpuPath paths[] = {CpuPath::portable, CpuPath::x86_64_v3, CpuPath::x86_64_v4};
  std::chrono::steady_clock::duration best[std::size(paths)];
  std::fill(std::begin(best), std::end(best), std::chrono::steady_clock::duration::max());
  for (int trial = 0; trial < 5; ++trial)
    for (std::size_t p = 0; p < std::size(paths); ++p) {
      if (!cpu_path_supported(paths[p])) continue;
      std::uint64_t state[25] = {};
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < 100; ++i) permute_on(paths[p], state);
      best[p] = std::min(best[p], std::chrono::steady_clock::now() - start);
      asm volatile("" : : "r"(state[0]));  // the timed permutations must not be optimised away
    }
  return paths[std::min_element(std::begin(best), std::end(best)) - std::begin(best)];
}

// -1 until first use: resolved lazily so that static initialisers elsewhere may hash too.
std::atomic<int> selected_path{-1};

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

std::string_view to_string(CpuPath path) noexcept {
  switch (path) {
    case CpuPath::portable: return "portable";
    case CpuPath::x86_64_v3: return "x86-64-v3";
    case CpuPath::x86_64_v4: return "x86-64-v4";
  }
  return "unknown";
}

bool cpu_path_supported(CpuPath path) noexcept {
  switch (path) {
    case CpuPath::portable: return true;
    case CpuPath::x86_64_v3:
#if defined(__x86_64__)
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
#else
      return false;
#endif
    case CpuPath::x86_64_v4:
#if defined(__x86_64__)
      return __builtin_cpu_supports("avx512f") && cpu_path_supported(CpuPath::x86_64_v3);
#else
      return false;
#endif
  }
  return false;
}

CpuPath cpu_path() noexcept {
  int path = selected_path.load(std::memory_order_relaxed);
  if (path < 0) {
    path = static_cast<int>(fastest_path());
    selected_path.store(path, std::memory_order_relaxed);
  }
  return static_cast<CpuPath>(path);
}

void use_cpu_path(CpuPath path) {
  if (!cpu_path_supported(path))
    throw std::invalid_argument("CPU path " + std::string(to_string(path)) + " is not supported here");
  selected_path.store(static_cast<int>(path), std::memory_order_relaxed);
}

void keccakf1600(std::uint64_t state[25]) noexcept { permute_on(cpu_path(), state); }

Hash256 keccak256(std::span<const std::uint8_t> data) noexcept { return keccak<256>(data); }
Hash512 keccak512(std::span<const std::uint8_t> data) noexcept { return keccak<512>(data); }

void keccak512_64(std::uint64_t lanes[8]) noexcept {
  std::uint64_t st[25] = {};
  std::memcpy(st, lanes, 64);
  st[8] = 0x8000000000000001;  // pad byte 0x01 right after the message, 0x80 at the end of the 72-byte rate
  keccakf1600(st);
  std::memcpy(lanes, st, 64);
}

}  // namespace dagminer
