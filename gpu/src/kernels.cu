// The DAG-build and search kernels. Both use the same shape: a small group of lanes cooperates
// on each hash (16 bytes a lane, so one warp load instruction fetches whole 64- or 128-byte
// items), every lane owns one nonce or item and does its Keccak alone, and shuffles move the
// owner's state to the group and the result back.
#include "kernels.hpp"

namespace dagminer::gpu {
namespace {

constexpr std::uint32_t fnv_prime = 0x01000193u;

__device__ __forceinline__ std::uint32_t fnv(std::uint32_t a, std::uint32_t b) { return a * fnv_prime ^ b; }
__device__ __forceinline__ uint4 fnv4(uint4 a, uint4 b) {
  return make_uint4(fnv(a.x, b.x), fnv(a.y, b.y), fnv(a.z, b.z), fnv(a.w, b.w));
}

// x % d for 32-bit x by a divisor fixed per launch, 2 <= d < 2^31: with m = floor(2^32 / d) the
// quotient estimate umulhi(x, m) is low by at most one (x * (2^32 / d - m) / 2^32 < 1), so one
// conditional subtraction finishes it. Four instructions; a run-time division takes about twenty.
struct FastMod {
  std::uint32_t reciprocal;
  std::uint32_t divisor;
};
FastMod fastmod_for(std::uint32_t d) { return {static_cast<std::uint32_t>((std::uint64_t{1} << 32) / d), d}; }
__device__ __forceinline__ std::uint32_t mod(std::uint32_t x, FastMod m) {
  const std::uint32_t r = x - __umulhi(x, m.reciprocal) * m.divisor;  // in [0, 2d)
  return min(r, r - m.divisor);                                       // r - d wraps when r < d
}

__device__ __forceinline__ std::uint64_t rotl(std::uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

// Kept as laid out by hand (five to a row):
// clang-format off
__constant__ std::uint64_t keccak_rc[24] = {
    0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000, 0x000000000000808b,
    0x0000000080000001, 0x8000000080008081, 0x8000000000008009, 0x000000000000008a, 0x0000000000000088,
    0x0000000080008009, 0x000000008000000a, 0x000000008000808b, 0x800000000000008b, 0x8000000000008089,
    0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
};
// clang-format on

__device__ __forceinline__ void keccak_round(std::uint64_t st[25], std::uint64_t rc) {
  std::uint64_t c[5];
#pragma unroll
  for (int x = 0; x < 5; ++x) c[x] = st[x] ^ st[x + 5] ^ st[x + 10] ^ st[x + 15] ^ st[x + 20];
#pragma unroll
  for (int x = 0; x < 5; ++x) {
    const std::uint64_t d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
#pragma unroll
    for (int y = 0; y < 25; y += 5) st[y + x] ^= d;
  }
  // rho and pi along the single-lane walk (destination, rotation), as in core's keccak.cpp
  std::uint64_t t = st[1], n;
  // One step per (destination, rotation) pair, the walk laid out in rows by hand:
  // clang-format off
#define DAGMINER_RHO_PI(dst, rot) n = st[dst]; st[dst] = rotl(t, rot); t = n
  DAGMINER_RHO_PI(10, 1); DAGMINER_RHO_PI(7, 3); DAGMINER_RHO_PI(11, 6); DAGMINER_RHO_PI(17, 10);
  DAGMINER_RHO_PI(18, 15); DAGMINER_RHO_PI(3, 21); DAGMINER_RHO_PI(5, 28); DAGMINER_RHO_PI(16, 36);
  DAGMINER_RHO_PI(8, 45); DAGMINER_RHO_PI(21, 55); DAGMINER_RHO_PI(24, 2); DAGMINER_RHO_PI(4, 14);
  DAGMINER_RHO_PI(15, 27); DAGMINER_RHO_PI(23, 41); DAGMINER_RHO_PI(19, 56); DAGMINER_RHO_PI(13, 8);
  DAGMINER_RHO_PI(12, 25); DAGMINER_RHO_PI(2, 43); DAGMINER_RHO_PI(20, 62); DAGMINER_RHO_PI(14, 18);
  DAGMINER_RHO_PI(22, 39); DAGMINER_RHO_PI(9, 61); DAGMINER_RHO_PI(6, 20); DAGMINER_RHO_PI(1, 44);
#undef DAGMINER_RHO_PI
  // clang-format on
#pragma unroll
  for (int y = 0; y < 25; y += 5) {
    const std::uint64_t a0 = st[y], a1 = st[y + 1], a2 = st[y + 2], a3 = st[y + 3], a4 = st[y + 4];
    st[y] = a0 ^ (~a1 & a2);
    st[y + 1] = a1 ^ (~a2 & a3);
    st[y + 2] = a2 ^ (~a3 & a4);
    st[y + 3] = a3 ^ (~a4 & a0);
    st[y + 4] = a4 ^ (~a0 & a1);
  }
  st[0] ^= rc;
}

// Rounds 0 .. last-1 of Keccak-f[1600]. Round 0 is inlined on its own so that the compiler folds
// the lanes a fresh state holds as constants (zeros, padding); the others loop, to keep the code
// small enough for the instruction cache.
__device__ __forceinline__ void keccak_rounds(std::uint64_t st[25], int last) {
  keccak_round(st, 0x0000000000000001);  // keccak_rc[0] as an immediate, to fold with the rest
#pragma unroll 1
  for (int round = 1; round < last; ++round) keccak_round(st, keccak_rc[round]);
}

__device__ __forceinline__ void keccak_f1600(std::uint64_t st[25]) { keccak_rounds(st, 24); }

// Word 0 of Keccak-f[1600]: the last round computes only what feeds it (theta's five column sums,
// three of its d words, one chi), where a whole round costs about 180 instructions.
__device__ __forceinline__ std::uint64_t keccak_f1600_word0(std::uint64_t st[25]) {
  keccak_rounds(st, 23);
  std::uint64_t c[5];
#pragma unroll
  for (int x = 0; x < 5; ++x) c[x] = st[x] ^ st[x + 5] ^ st[x + 10] ^ st[x + 15] ^ st[x + 20];
  const std::uint64_t b0 = st[0] ^ c[4] ^ rotl(c[1], 1);
  const std::uint64_t b1 = rotl(st[6] ^ c[0] ^ rotl(c[2], 1), 44);   // rho and pi move lane 6 to 1
  const std::uint64_t b2 = rotl(st[12] ^ c[1] ^ rotl(c[3], 1), 43);  // and lane 12 to 2
  return b0 ^ (~b1 & b2) ^ 0x8000000080008008ull;                    // keccak_rc[23]
}

// Keccak-512 of 64 bytes (a light-cache or dataset item) in place; the rate is 72 bytes, so the
// pad bytes 0x01 and 0x80 both fall in lane 8.
__device__ __forceinline__ void keccak512_64(std::uint64_t w[8]) {
  std::uint64_t st[25];
#pragma unroll
  for (int i = 0; i < 25; ++i) st[i] = i < 8 ? w[i] : 0;
  st[8] = 0x8000000000000001ull;
  keccak_f1600(st);
#pragma unroll
  for (int i = 0; i < 8; ++i) w[i] = st[i];
}

__device__ __forceinline__ std::uint32_t component(const uint4& v, int c) {
  return c == 0 ? v.x : c == 1 ? v.y : c == 2 ? v.z : v.w;
}
__device__ __forceinline__ std::uint64_t lo_hi(std::uint32_t lo, std::uint32_t hi) {
  return std::uint64_t{lo} | std::uint64_t{hi} << 32;
}

// Both kernels lay a group of G lanes out the same way. Lane l owns item l of the group (its
// Keccaks and its parent or page indices); register slot q of lane l holds part l ^ q
// (16 bytes) of item q. So the G lanes of one load instruction read the G parts of one record
// (coalesced: one warp load fetches whole records), and each index is computed once, by its
// owner, rather than by all G lanes: the owner gathers its item's word with one shuffle and
// broadcasts the index with another.

// v[i] for a lane-dependent i, as a tree of selects (an array indexed at run time would go to
// local memory).
template <int G, class T>
__device__ __forceinline__ T pick(const T (&v)[G], int i) {
  T t[G];
#pragma unroll
  for (int k = 0; k < G; ++k) t[k] = v[k];
#pragma unroll
  for (int bit = 1; bit < G; bit <<= 1) {
    const bool upper = (i & bit) != 0;
#pragma unroll
    for (int k = 0; k < G; k += 2 * bit) t[k] = upper ? t[k + bit] : t[k];
  }
  return t[0];
}

// Word c of part p of this lane's own item: it sits in slot `lane` of lane p ^ lane, which is the
// slot (p ^ source) that the source lane picks.
template <int G>
__device__ __forceinline__ std::uint32_t own_word(const uint4 (&slots)[G], int lane, int p, int c) {
  std::uint32_t w[G];
#pragma unroll
  for (int k = 0; k < G; ++k) w[k] = component(slots[k], c);
  const int source = p ^ lane;
  return __shfl_sync(0xffffffffu, pick(w, source), source, G);
}

// The slots' start: part l ^ q of item q is words 4m .. 4m+3, m = (l ^ q) % 4 (of 16: parts
// 4..7 repeat 0..3), of the 8 64-bit words of item q's owner.
template <int G>
__device__ __forceinline__ void spread_slots(const std::uint64_t w[8], int lane, uint4 (&slots)[G]) {
#pragma unroll
  for (int q = 0; q < G; ++q) {
    std::uint64_t all[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) all[i] = __shfl_sync(0xffffffffu, w[i], q, G);
    const int m = (lane ^ q) & 3;
    std::uint64_t lo = 0, hi = 0;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      lo = m == k ? all[2 * k] : lo;
      hi = m == k ? all[2 * k + 1] : hi;
    }
    slots[q] = make_uint4(static_cast<std::uint32_t>(lo), static_cast<std::uint32_t>(lo >> 32), static_cast<std::uint32_t>(hi),
                          static_cast<std::uint32_t>(hi >> 32));
  }
}

// How a group's record loads treat L1. A DAG page is read once per hash and never again, so its
// loads leave no line behind (a hint: the lines of in-flight pages stop crowding L1; +0.8% on an
// H100, bench/gpu-notes.md). Light-cache items are read 256 times per DAG item and hit often
// enough that the DAG build is 4% slower without L1.
enum class L1Use { keep, no_allocate };

template <L1Use Use>
__device__ __forceinline__ uint4 load_record(const uint4* p) {
  if constexpr (Use == L1Use::keep) {
    return __ldg(p);
  } else {
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
  }
}

// One access of each of the group's G items: the owner takes mix word 4p + c of its item,
// computes the index fnv(key, word) % m, and every lane folds its part of item q's record at
// item q's index into slot q. The owner broadcasts the index of the record's first part (index
// * G, under 2^32: the launches check it), so a lane's part is that OR'ed with lane ^ q: one LOP3
// (q an immediate) and the IMAD.WIDE of the address, where (lane + q) % G needed four.
template <int G, L1Use Use>
__device__ __forceinline__ void group_access(uint4 (&slots)[G], int lane, int p, int c, std::uint32_t key, FastMod m,
                                             const uint4* __restrict__ records) {
  const std::uint32_t own = mod(fnv(key, own_word(slots, lane, p, c)), m) * G;
#pragma unroll
  for (int q = 0; q < G; ++q) {
    const std::uint32_t first = __shfl_sync(0xffffffffu, own, q, G);
    slots[q] = fnv4(slots[q], load_record<Use>(records + (first | static_cast<std::uint32_t>(lane ^ q))));
  }
}

// ---- DAG build: 4 lanes per item (a 64-byte item is 4 x 16 bytes), the group's 4 items in flight ----

template <int MinBlocks>
__global__ void __launch_bounds__(256, MinBlocks) dag_kernel(const uint4* __restrict__ light, FastMod items_mod,
                                                             uint4* __restrict__ dag, std::uint32_t first, std::uint32_t count) {
  const std::uint32_t tid = blockIdx.x * blockDim.x + threadIdx.x;
  const int lane = static_cast<int>(threadIdx.x & 3);
  const std::uint32_t item = first + tid;  // first is a multiple of 4, so groups are aligned

  std::uint64_t own[8];
  {
    const uint4* src = light + std::size_t{mod(item, items_mod)} * 4;
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const uint4 v = __ldg(src + q);
      own[2 * q] = lo_hi(v.x, v.y);
      own[2 * q + 1] = lo_hi(v.z, v.w);
    }
    own[0] ^= item;
    keccak512_64(own);
  }

  uint4 mix[4];
  spread_slots<4>(own, lane, mix);
  // Four accesses (one 16-byte part's words) an iteration, as in the search: 19 KB of code instead
  // of 33 KB. At the default 3 blocks per SM the build time is the same; at 1 it is 7% faster.
#pragma unroll 1
  for (std::uint32_t j = 0; j < 256; j += 4) {
    const int p = static_cast<int>(j / 4) & 3;
#pragma unroll
    for (int c = 0; c < 4; ++c)
      group_access<4, L1Use::keep>(mix, lane, p, c, item ^ (j + static_cast<std::uint32_t>(c)), items_mod, light);
  }

  // The owner's 16 words for the final Keccak.
#pragma unroll
  for (int p = 0; p < 4; ++p) {
    own[2 * p] = lo_hi(own_word(mix, lane, p, 0), own_word(mix, lane, p, 1));
    own[2 * p + 1] = lo_hi(own_word(mix, lane, p, 2), own_word(mix, lane, p, 3));
  }
  keccak512_64(own);
  if (tid < count) {
    uint4* out = dag + std::size_t{item} * 4;
#pragma unroll
    for (int q = 0; q < 4; ++q)  // evict-first: the DAG should not push the light cache out of L2
      __stcs(out + q, make_uint4(static_cast<std::uint32_t>(own[2 * q]), static_cast<std::uint32_t>(own[2 * q] >> 32),
                                 static_cast<std::uint32_t>(own[2 * q + 1]), static_cast<std::uint32_t>(own[2 * q + 1] >> 32)));
  }
}

// ---- search: 8 lanes per hash (a 128-byte page is 8 x 16 bytes), the group's 8 hashes in flight ----

// MaxRegs caps the registers a thread may use, and so sets how many warps an SM holds (16 at
// 128 registers, 20 at 96, 32 at 64). A warp has no page in flight during its two Keccaks, so an
// SM needs warps to spare: on an H100 12 warps reach 93.5% of the probe and 16 or 20 reach 99.6%
// (bench/gpu-notes.md); a faster memory needs more. The tuner tries every build on the card.
template <int MaxRegs>
__global__ void __maxnreg__(MaxRegs)
    search_kernel(const uint4* __restrict__ dag, FastMod pages_mod, const JobBlob* __restrict__ blob, const std::uint64_t* cancel,
                  ResultsHeader* results, std::uint32_t capacity) {
  const std::uint32_t tid = blockIdx.x * blockDim.x + threadIdx.x;
  const int lane = static_cast<int>(threadIdx.x & 7);
  // set_work writes a launch's id into its cancel word when it drops the launch's job: blocks that
  // start after that stop at once. Read past L1 by one lane and shared, so the decision is
  // warp-uniform (the shuffles below need every lane). Only here: a read later in the kernel, even
  // one issued well before its use, costs hashrate (bench/gpu-notes.md).
  const std::uint64_t word = threadIdx.x % 32 == 0 ? __ldcg(cancel) : 0;
  if (__shfl_sync(0xffffffffu, word, 0) == blob->launch_id) return;
  const unsigned searching = __ballot_sync(0xffffffffu, tid < blob->nonce_count);
  if (threadIdx.x % 32 == 0) atomicAdd(&results->searched, static_cast<std::uint32_t>(__popc(searching)));
  const std::uint64_t nonce = blob->nonce_start + tid;

  std::uint64_t seed[8];  // Keccak-512(header || nonce), this lane's own hash
  {
    std::uint64_t st[25];
#pragma unroll
    for (int i = 0; i < 25; ++i) st[i] = 0;
#pragma unroll
    for (int i = 0; i < 4; ++i) st[i] = blob->header[i];
    st[4] = nonce;
    st[5] = 0x01;
    st[8] = 0x8000000000000000ull;
    keccak_f1600(st);
#pragma unroll
    for (int i = 0; i < 8; ++i) seed[i] = st[i];
  }

  // The seed is needed again only by the final Keccak: it waits in shared memory, not in 16
  // registers, during the accesses (word-major, so a warp's stores and loads hit 32 banks).
  extern __shared__ std::uint64_t seeds[];  // 8 x blockDim.x (search_shared_bytes)
#pragma unroll
  for (int i = 0; i < 8; ++i) seeds[i * blockDim.x + threadIdx.x] = seed[i];
  uint4 mix[8];  // slot q: part lane ^ q of hash q; the 128-byte mix starts as the seed twice
  spread_slots<8>(seed, lane, mix);
  const std::uint32_t s0 = static_cast<std::uint32_t>(seed[0]);
  // Four accesses (one 16-byte part's words) an iteration. Unrolled over all 32 as before, the
  // loop was 86 KB of code: every warp missed the instruction cache, and the rate was 7% lower
  // (bench/gpu-notes.md). The part index is lane-dependent in own_word anyway, so a run-time p
  // costs nothing.
#pragma unroll 1
  for (std::uint32_t a = 0; a < 64; a += 4) {
    const int p = static_cast<int>(a / 4) & 7;
#pragma unroll
    for (int c = 0; c < 4; ++c)
      group_access<8, L1Use::no_allocate>(mix, lane, p, c, (a + static_cast<std::uint32_t>(c)) ^ s0, pages_mod, dag);
  }

  // This lane's compressed mix: word w of hash q is the fold of slot q in lane w ^ q.
  std::uint32_t folded[8];
#pragma unroll
  for (int q = 0; q < 8; ++q) folded[q] = fnv(fnv(fnv(mix[q].x, mix[q].y), mix[q].z), mix[q].w);
  std::uint32_t cmix[8];
#pragma unroll
  for (int w = 0; w < 8; ++w) {
    const int source = w ^ lane;
    cmix[w] = __shfl_sync(0xffffffffu, pick(folded, source), source, 8);
  }

  // final = Keccak-256(seed || cmix): 96 bytes in a 136-byte rate; only its top 64 bits matter here.
  std::uint64_t st[25];
#pragma unroll
  for (int i = 0; i < 25; ++i) st[i] = 0;
#pragma unroll
  for (int i = 0; i < 8; ++i) st[i] = seeds[i * blockDim.x + threadIdx.x];
#pragma unroll
  for (int i = 0; i < 4; ++i) st[8 + i] = lo_hi(cmix[2 * i], cmix[2 * i + 1]);
  st[12] = 0x01;
  st[16] = 0x8000000000000000ull;
  const std::uint64_t word0 = keccak_f1600_word0(st);
  const std::uint64_t top = __byte_perm(static_cast<std::uint32_t>(word0 >> 32), 0, 0x0123) |
                            std::uint64_t{__byte_perm(static_cast<std::uint32_t>(word0), 0, 0x0123)} << 32;
  if (tid < blob->nonce_count && top <= blob->boundary) {
    const std::uint32_t slot = atomicAdd(&results->found, 1u);
    if (slot < capacity) {
      ResultEntry* e = reinterpret_cast<ResultEntry*>(results + 1) + slot;
      e->nonce = nonce;
      e->tag = blob->tag;
#pragma unroll
      for (int i = 0; i < 8; ++i) e->mix[i] = cmix[i];
    }
  }
}

std::size_t search_shared_bytes(int block_threads) {
  return std::size_t{8} * sizeof(std::uint64_t) * static_cast<std::size_t>(block_threads);
}

std::uint32_t blocks_for(std::uint64_t threads, int block) {
  return static_cast<std::uint32_t>((threads + static_cast<std::uint64_t>(block) - 1) / static_cast<std::uint64_t>(block));
}

template <class F>
cudaError_t with_search_kernel(int max_registers, F&& f) {
  switch (max_registers) {
    case 128: return f(search_kernel<128>);
    case 96: return f(search_kernel<96>);
    case 80: return f(search_kernel<80>);
    case 72: return f(search_kernel<72>);
    case 64: return f(search_kernel<64>);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace

cudaError_t launch_dag_build(const void* light, std::uint32_t light_items, void* dag, std::uint32_t first, std::uint32_t count,
                             const DagBuildShape& shape, cudaStream_t stream) {
  if (light_items < 2 || light_items > (1u << 30) || first % 4 != 0) return cudaErrorInvalidValue;  // parts: items * 4 < 2^32
  constexpr int block = 256;
  const std::uint32_t grid = blocks_for(count, block);
  const auto in = static_cast<const uint4*>(light);
  const auto out = static_cast<uint4*>(dag);
  const FastMod items = fastmod_for(light_items);
  switch (shape.min_blocks_per_sm) {
    case 1: dag_kernel<1><<<grid, block, 0, stream>>>(in, items, out, first, count); break;
    case 3: dag_kernel<3><<<grid, block, 0, stream>>>(in, items, out, first, count); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t search_blocks_per_sm(int max_registers, int block_threads, int* blocks) {
  return with_search_kernel(max_registers, [&](auto kernel) {
    return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, kernel, block_threads, search_shared_bytes(block_threads));
  });
}

cudaError_t launch_search(const SearchLaunch& l, cudaStream_t stream) {
  if (l.pages < 2 || l.pages > (1u << 29) || l.block_threads < 32 || l.block_threads > 256 || l.block_threads % 32 != 0 ||
      l.hashes == 0)  // parts: pages * 8 < 2^32, a DAG under 64 GiB
    return cudaErrorInvalidValue;
  const std::uint32_t grid = blocks_for(l.hashes, l.block_threads);
  return with_search_kernel(l.max_registers, [&](auto kernel) {
    kernel<<<grid, l.block_threads, search_shared_bytes(l.block_threads), stream>>>(
        static_cast<const uint4*>(l.dag), fastmod_for(l.pages), l.blob, l.cancel, static_cast<ResultsHeader*>(l.results),
        l.capacity);
    return cudaGetLastError();
  });
}

}  // namespace dagminer::gpu
