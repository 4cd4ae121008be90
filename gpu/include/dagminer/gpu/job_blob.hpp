// What the host and the search kernel exchange, byte for byte: the job blob a launch reads and
// the results it writes. Plain structs, shared by the C++ worker and the CUDA kernels.
#pragma once

#include <cstdint>

namespace dagminer::gpu {

// One launch's job, written whole into a pinned staging slot and copied to the device in the
// launch's stream before the kernel, so a kernel never sees a half-written blob.
struct JobBlob {
  std::uint64_t header[4];    // header hash as little-endian 64-bit words
  std::uint64_t boundary;     // candidates have final-hash top 64 bits (big-endian) <= this
  std::uint64_t nonce_start;  // this launch searches [nonce_start, nonce_start + nonce_count)
  std::uint64_t nonce_count;
  std::uint64_t tag;        // the WorkItem's tag, echoed in each candidate
  std::uint64_t launch_id;  // unique per launch; the launch stops once its cancel word holds it
                            // (set_work dropped its job)
};
static_assert(sizeof(JobBlob) == 72);

struct ResultEntry {
  std::uint64_t nonce;
  std::uint64_t tag;
  std::uint32_t mix[8];  // the mix hash as 8 little-endian words
};
static_assert(sizeof(ResultEntry) == 48);

// A launch's results: `found` counts every candidate, also those beyond `capacity` that did not
// fit (the overflow is found - capacity, counted and reported, not lost silently); `searched`
// counts the nonces actually hashed (all of them unless the launch was cancelled).
struct ResultsHeader {
  std::uint32_t found;
  std::uint32_t capacity;
  std::uint32_t searched;
  std::uint32_t reserved;
};
static_assert(sizeof(ResultsHeader) == 16);

inline constexpr std::uint64_t results_bytes(std::uint32_t capacity) noexcept {
  return sizeof(ResultsHeader) + std::uint64_t{capacity} * sizeof(ResultEntry);
}

}  // namespace dagminer::gpu
