// Building a DAG on a GPU from its light cache (used by the memory manager's CUDA builder and
// by the tuning tool).
#pragma once

#include "dagminer/core/ethash.hpp"
#include "dagminer/gpu/memory_manager.hpp"
#include "kernels.hpp"

namespace dagminer::gpu {

// Uploads the light cache and computes the whole dataset into b.dag; blocks until done.
// Throws GpuError.
void build_dag(int device, const DagBuffers& b, const LightCache& cache, const DagBuildShape& shape = {});

}  // namespace dagminer::gpu
