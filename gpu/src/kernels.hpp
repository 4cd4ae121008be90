// Launchers for the CUDA kernels (kernels.cu). They only enqueue: callers check the returned
// status, then the stream's completion, as with any CUDA launch.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "dagminer/gpu/job_blob.hpp"

namespace dagminer::gpu {

// How the DAG-build kernel runs (tuned in gpu/tools/dag_build_tune.cpp; see bench/gpu-notes.md).
struct DagBuildShape {
  int min_blocks_per_sm = 3;  // 1 or 3 blocks of 256 per SM asked of the compiler (register use: bench/gpu-notes.md)
};

// Computes dataset items [first, first + count) from the light cache on the device.
cudaError_t launch_dag_build(const void* light, std::uint32_t light_items, void* dag, std::uint32_t first, std::uint32_t count,
                             const DagBuildShape& shape, cudaStream_t stream);

struct SearchLaunch {
  const void* dag = nullptr;
  std::uint32_t pages = 0;                // at least 2
  const JobBlob* blob = nullptr;          // device copy of the launch's job blob
  const std::uint64_t* cancel = nullptr;  // the launch stops when this word equals its blob's launch_id
  void* results = nullptr;                // ResultsHeader + entries on the device (found zeroed)
  std::uint32_t capacity = 0;
  std::uint32_t hashes = 0;  // threads launched; only the first blob->nonce_count report
  int block_threads = 128;
  int max_registers = 96;  // one of search_register_caps (launch_tuning.hpp)
};
cudaError_t launch_search(const SearchLaunch& launch, cudaStream_t stream);

// How many blocks of the search kernel one SM holds at once: with the SM count, the most hashes
// that can be running at any moment.
cudaError_t search_blocks_per_sm(int max_registers, int block_threads, int* blocks);

}  // namespace dagminer::gpu
