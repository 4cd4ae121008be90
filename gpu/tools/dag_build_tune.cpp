// dagminer_dag_tune: times the DAG-build kernel's shapes on one epoch, each checked on sampled
// items against the CPU reference (a tuning aid for bench/gpu-notes.md; not installed).
// usage: dagminer_dag_tune [etchash|ethash] [epoch] [repeats]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include <cuda_runtime_api.h>

#include "cuda_check.hpp"
#include "dag_build.hpp"
#include "dagminer/core/light_cache_store.hpp"

using namespace dagminer;
using namespace dagminer::gpu;

int main(int argc, char** argv) {
  const auto algo = parse_algorithm(argc > 1 ? argv[1] : "etchash");
  const int epoch = argc > 2 ? std::stoi(argv[2]) : 431;
  const int repeats = argc > 3 ? std::stoi(argv[3]) : 2;
  if (!algo) {
    std::fprintf(stderr, "usage: dagminer_dag_tune [etchash|ethash] [epoch] [repeats]\n");
    return 2;
  }
  try {
    const auto cache = LightCacheStore(LightCacheStore::default_directory()).get(*algo, epoch).cache;
    DagBuffers b;
    b.dag_bytes = std::uint64_t{cache->dataset_pages()} * page_bytes;
    b.pages = cache->dataset_pages();
    b.light_bytes = cache->bytes().size();
    b.light_items = static_cast<std::uint32_t>(cache->items.size());
    use_device(0);
    check_cuda(cudaMalloc(&b.dag, b.dag_bytes), 0, "cudaMalloc DAG");
    check_cuda(cudaMalloc(&b.light, b.light_bytes), 0, "cudaMalloc light cache");
    const std::uint32_t items = static_cast<std::uint32_t>(b.dag_bytes / dataset_item_bytes);
    std::mt19937 rng(12345);
    std::size_t fetch = 0;
    check_cuda(cudaDeviceGetLimit(&fetch, cudaLimitMaxL2FetchGranularity), 0, "cudaDeviceGetLimit");
    // Reported because the light cache's parents are 64-byte reads: a larger fetch would waste half
    // of each (the DAG build times of 32/64/128 bytes: bench/gpu-notes.md).
    {  // the light cache's upload alone, which every build below includes
      const auto bytes = cache->bytes();
      check_cuda(cudaMemcpy(b.light, bytes.data(), bytes.size(), cudaMemcpyHostToDevice), 0, "light cache upload");
      const auto t0 = std::chrono::steady_clock::now();
      check_cuda(cudaMemcpy(b.light, bytes.data(), bytes.size(), cudaMemcpyHostToDevice), 0, "light cache upload");
      std::printf("light cache upload: %.4f s of each build; L2 fetch granularity as found: %zu bytes\n",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), fetch);
    }
    const DagBuildShape shapes[] = {{1}, {3}};
    for (const auto& shape : shapes) {
      for (int r = 0; r < repeats; ++r) {
        check_cuda(cudaMemset(b.dag, 0xff, b.dag_bytes), 0, "poisoning the DAG");
        check_cuda(cudaDeviceSynchronize(), 0, "poisoning the DAG");
        const auto t0 = std::chrono::steady_clock::now();
        build_dag(0, b, *cache, shape);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        int bad = 0;
        for (int i = 0; i < 32; ++i) {
          const std::uint32_t index = i == 0 ? 0 : i == 1 ? items - 1 : static_cast<std::uint32_t>(rng() % items);
          Item64 got;
          check_cuda(
              cudaMemcpy(&got, static_cast<const std::uint8_t*>(b.dag) + std::uint64_t{index} * 64, 64, cudaMemcpyDeviceToHost),
              0, "reading an item");
          const Item64 want = dataset_item(cache->items, index);
          bad += std::memcmp(&got, &want, 64) != 0;
        }
        std::printf("dag_build %s %d: min_blocks=%d: %.4f s, %.1f GB/s written, %d/32 sampled items bad\n",
                    std::string(to_string(*algo)).c_str(), epoch, shape.min_blocks_per_sm, s,
                    static_cast<double>(b.dag_bytes) / s / 1e9, bad);
      }
    }
    check_cuda(cudaFree(b.dag), 0, "cudaFree");
    check_cuda(cudaFree(b.light), 0, "cudaFree");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dagminer_dag_tune: %s\n", e.what());
    return 1;
  }
  return 0;
}
