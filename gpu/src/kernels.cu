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

// x % d for 32-bit x by a divisor fixed per launch (Lemire's fastmod): a 64-bit multiply and
// a high multiply instead of the ~20 instructions of a run-time division.
struct FastMod {
  std::uint64_t magic;
  std::uint32_t divisor;
};
FastMod fastmod_for(std::uint32_t d) { return {~std::uint64_t{0} / d + 1, d}; }
__device__ __forceinline__ std::uint32_t mod(std::uint32_t x, FastMod m) {
  return static_cast<std::uint32_t>(__umul64hi(m.magic * x, m.divisor));
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

__device__ __forceinline__ void keccak_f1600(std::uint64_t st[25]) {
#pragma unroll 1
  for (int round = 0; round < 24; ++round) {
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
    st[0] ^= keccak_rc[round];
  }
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

// Lanes of a G-lane group take words 4*lane .. 4*lane+3 (of 16: lane % 4) of the owner's 8
// 64-bit words: 8 shuffles, each lane keeping the two that are its own.
template <int G>
__device__ __forceinline__ uint4 spread(const std::uint64_t w[8], int owner, int lane) {
  std::uint64_t a = 0, b = 0;
  const int mine = 2 * (lane & 3);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const std::uint64_t v = __shfl_sync(0xffffffffu, w[i], owner, G);
    if (i == mine) a = v;
    if (i == mine + 1) b = v;
  }
  return make_uint4(static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(a >> 32), static_cast<std::uint32_t>(b),
                    static_cast<std::uint32_t>(b >> 32));
}

// ---- DAG build: 4 lanes per item, the group's 4 items in flight at once ----

template <int MinBlocks>
__global__ void __launch_bounds__(256, MinBlocks) dag_kernel(const uint4* __restrict__ light, FastMod items_mod,
                                                             uint4* __restrict__ dag, std::uint32_t first, std::uint32_t count) {
  const std::uint32_t tid = blockIdx.x * blockDim.x + threadIdx.x;
  const int lane = static_cast<int>(threadIdx.x & 3);
  const std::uint32_t item = first + tid;  // first is a multiple of 4, so groups are aligned
  const std::uint32_t base = item - static_cast<std::uint32_t>(lane);

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
#pragma unroll
  for (int k = 0; k < 4; ++k) mix[k] = spread<4>(own, k, lane);

#pragma unroll 4
  for (std::uint32_t j = 0; j < 256; j += 4) {
    const int src = static_cast<int>((j >> 2) & 3);  // mix word j % 16 lives in lane (j % 16) / 4
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      std::uint32_t parent[4];
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const std::uint32_t w = __shfl_sync(0xffffffffu, component(mix[k], c), src, 4);
        parent[k] = mod(fnv((base + k) ^ (j + c), w), items_mod);
      }
#pragma unroll
      for (int k = 0; k < 4; ++k) mix[k] = fnv4(mix[k], __ldg(light + std::size_t{parent[k]} * 4 + lane));
    }
  }

  // Gather each item's 16 words back to its owner for the final Keccak.
  std::uint32_t words[16];
#pragma unroll
  for (int k = 0; k < 4; ++k)
#pragma unroll
    for (int l = 0; l < 4; ++l)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const std::uint32_t v = __shfl_sync(0xffffffffu, component(mix[k], c), l, 4);
        if (lane == k) words[4 * l + c] = v;
      }
#pragma unroll
  for (int i = 0; i < 8; ++i) own[i] = lo_hi(words[2 * i], words[2 * i + 1]);
  keccak512_64(own);
  if (tid < count) {
    uint4* out = dag + std::size_t{item} * 4;
#pragma unroll
    for (int q = 0; q < 4; ++q)  // evict-first: the DAG should not push the light cache out of L2
      __stcs(out + q, make_uint4(static_cast<std::uint32_t>(own[2 * q]), static_cast<std::uint32_t>(own[2 * q] >> 32),
                                 static_cast<std::uint32_t>(own[2 * q + 1]), static_cast<std::uint32_t>(own[2 * q + 1] >> 32)));
  }
}

// ---- search: 8 lanes per hash (a 128-byte page is 8 x 16 bytes), PH hashes in flight ----

template <int PH>
__global__ void __launch_bounds__(256)
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

  std::uint32_t cmix[8];  // this lane's compressed mix, filled in its hash's round
#pragma unroll
  for (int r = 0; r < 8; r += PH) {
    uint4 mix[PH];
    std::uint32_t s0[PH];
#pragma unroll
    for (int q = 0; q < PH; ++q) {
      mix[q] = spread<8>(seed, r + q, lane);  // the 128-byte mix starts as the seed twice
      s0[q] = __shfl_sync(0xffffffffu, static_cast<std::uint32_t>(seed[0]), r + q, 8);
    }
#pragma unroll 1
    for (std::uint32_t a = 0; a < 64; a += 4) {
      const int src = static_cast<int>((a >> 2) & 7);  // mix word a % 32 lives in lane (a % 32) / 4
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        std::uint32_t page[PH];
#pragma unroll
        for (int q = 0; q < PH; ++q) {
          const std::uint32_t w = __shfl_sync(0xffffffffu, component(mix[q], c), src, 8);
          page[q] = mod(fnv((a + c) ^ s0[q], w), pages_mod);
        }
#pragma unroll
        for (int q = 0; q < PH; ++q) mix[q] = fnv4(mix[q], __ldg(dag + std::size_t{page[q]} * 8 + lane));
      }
    }
#pragma unroll
    for (int q = 0; q < PH; ++q) {
      const std::uint32_t folded = fnv(fnv(fnv(mix[q].x, mix[q].y), mix[q].z), mix[q].w);
#pragma unroll
      for (int l = 0; l < 8; ++l) {
        const std::uint32_t v = __shfl_sync(0xffffffffu, folded, l, 8);
        if (lane == r + q) cmix[l] = v;
      }
    }
  }

  // final = Keccak-256(seed || cmix): 96 bytes in a 136-byte rate; only its top 64 bits matter here.
  std::uint64_t st[25];
#pragma unroll
  for (int i = 0; i < 25; ++i) st[i] = 0;
#pragma unroll
  for (int i = 0; i < 8; ++i) st[i] = seed[i];
#pragma unroll
  for (int i = 0; i < 4; ++i) st[8 + i] = lo_hi(cmix[2 * i], cmix[2 * i + 1]);
  st[12] = 0x01;
  st[16] = 0x8000000000000000ull;
  keccak_f1600(st);
  const std::uint64_t top = __byte_perm(static_cast<std::uint32_t>(st[0] >> 32), 0, 0x0123) |
                            std::uint64_t{__byte_perm(static_cast<std::uint32_t>(st[0]), 0, 0x0123)} << 32;
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

std::uint32_t blocks_for(std::uint64_t threads, int block) {
  return static_cast<std::uint32_t>((threads + static_cast<std::uint64_t>(block) - 1) / static_cast<std::uint64_t>(block));
}

}  // namespace

cudaError_t launch_dag_build(const void* light, std::uint32_t light_items, void* dag, std::uint32_t first, std::uint32_t count,
                             const DagBuildShape& shape, cudaStream_t stream) {
  if (light_items == 0 || first % 4 != 0) return cudaErrorInvalidValue;
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

cudaError_t search_blocks_per_sm(int hashes_in_flight, int block_threads, int* blocks) {
  switch (hashes_in_flight) {
    case 1: return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, search_kernel<1>, block_threads, 0);
    case 2: return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, search_kernel<2>, block_threads, 0);
    case 4: return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, search_kernel<4>, block_threads, 0);
    case 8: return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, search_kernel<8>, block_threads, 0);
    default: return cudaErrorInvalidValue;
  }
}

cudaError_t launch_search(const SearchLaunch& l, cudaStream_t stream) {
  if (l.pages == 0 || l.block_threads < 32 || l.block_threads > 256 || l.block_threads % 32 != 0 || l.hashes == 0)
    return cudaErrorInvalidValue;
  const auto dag = static_cast<const uint4*>(l.dag);
  const auto results = static_cast<ResultsHeader*>(l.results);
  const FastMod pages = fastmod_for(l.pages);
  const std::uint32_t grid = blocks_for(l.hashes, l.block_threads);
  switch (l.hashes_in_flight) {
    case 1: search_kernel<1><<<grid, l.block_threads, 0, stream>>>(dag, pages, l.blob, l.cancel, results, l.capacity); break;
    case 2: search_kernel<2><<<grid, l.block_threads, 0, stream>>>(dag, pages, l.blob, l.cancel, results, l.capacity); break;
    case 4: search_kernel<4><<<grid, l.block_threads, 0, stream>>>(dag, pages, l.blob, l.cancel, results, l.capacity); break;
    case 8: search_kernel<8><<<grid, l.block_threads, 0, stream>>>(dag, pages, l.blob, l.cancel, results, l.capacity); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace dagminer::gpu
