// Google Benchmark figures for the core: Keccak, light cache build and store, dataset items,
// hashimoto over the light cache, and the CPU search backend's hash rate.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>
#include <unistd.h>
#include <vector>

#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/core/ethash.hpp"
#include "dagminer/core/light_cache_store.hpp"

namespace dagminer {
namespace {

// Real epoch caches are built once per process and shared by the benchmarks that read them.
const std::shared_ptr<const LightCache>& epoch0() {
  static const auto cache = std::make_shared<const LightCache>(build_light_cache(Algorithm::ethash, 0));
  return cache;
}

std::vector<std::uint8_t> random_bytes(std::size_t n) {
  std::mt19937_64 rng(n);
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

template <auto Hash>
void keccak(benchmark::State& state) {
  const auto input = random_bytes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Hash(input));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
// 40 and 96 bytes are what hashimoto hashes; the rest span several rate blocks.
BENCHMARK(keccak<&keccak256>)->Name("Keccak256")->Arg(40)->Arg(96)->Arg(136)->Arg(4096);
BENCHMARK(keccak<&keccak512>)->Name("Keccak512")->Arg(40)->Arg(64)->Arg(72)->Arg(4096);

// The step of the light cache and of dataset items on each CPU path this machine has (the
// argument is the CpuPath); the rest of the benchmarks use the best one.
void keccak512_64_on_path(benchmark::State& state) {
  const auto path = static_cast<CpuPath>(state.range(0));
  if (!cpu_path_supported(path)) return state.SkipWithError("this CPU lacks the path");
  const CpuPath best = cpu_path();
  use_cpu_path(path);
  std::uint64_t lanes[8] = {};
  for (auto _ : state) {
    keccak512_64(lanes);
    benchmark::DoNotOptimize(lanes);
  }
  use_cpu_path(best);
  state.SetLabel(std::string(to_string(path)));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 64);
}
BENCHMARK(keccak512_64_on_path)->Name("Keccak512_64/path")->DenseRange(0, 2);

void light_cache_build_synthetic(benchmark::State& state) {
  const auto items = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(build_light_cache_items(Hash256{}, items));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * items * light_item_bytes));
}
BENCHMARK(light_cache_build_synthetic)->Name("LightCacheBuild/synthetic_items")->Arg(4099)->Unit(benchmark::kMillisecond);

void light_cache_build(benchmark::State& state) {
  const auto algo = static_cast<Algorithm>(state.range(0));
  const int epoch = static_cast<int>(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(build_light_cache(algo, epoch));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * light_cache_bytes(epoch)));
  state.SetLabel(std::string(to_string(cpu_path())));  // the path chosen at start-up
}
BENCHMARK(light_cache_build)
    ->Name("LightCacheBuild/algo_epoch")
    ->Args({static_cast<int>(Algorithm::ethash), 0})
    ->Args({static_cast<int>(Algorithm::etchash), 431})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// The same build on a chosen CPU path (third argument, a CpuPath), to compare them on one CPU.
void light_cache_build_on_path(benchmark::State& state) {
  const auto path = static_cast<CpuPath>(state.range(2));
  if (!cpu_path_supported(path)) return state.SkipWithError("this CPU lacks the path");
  const CpuPath best = cpu_path();
  use_cpu_path(path);
  for (auto _ : state)
    benchmark::DoNotOptimize(build_light_cache(static_cast<Algorithm>(state.range(0)), static_cast<int>(state.range(1))));
  use_cpu_path(best);
  state.SetLabel(std::string(to_string(path)));
}
BENCHMARK(light_cache_build_on_path)
    ->Name("LightCacheBuild/algo_epoch_path")
    ->ArgsProduct({{static_cast<int>(Algorithm::etchash)}, {431}, {0, 1, 2}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Reading a stored cache back (the daemon's start-up path); the file is written first.
void light_cache_store_load(benchmark::State& state) {
  const auto algo = static_cast<Algorithm>(state.range(0));
  const int epoch = static_cast<int>(state.range(1));
  const auto dir = std::filesystem::temp_directory_path() / ("dagminer-bench-" + std::to_string(getpid()));
  const LightCacheStore store(dir);
  store.save(build_light_cache(algo, epoch));
  for (auto _ : state) {
    auto loaded = store.load(algo, epoch);
    if (!loaded) state.SkipWithError("stored light cache did not load");
    benchmark::DoNotOptimize(loaded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * light_cache_bytes(epoch)));
  std::filesystem::remove_all(dir);
}
BENCHMARK(light_cache_store_load)
    ->Name("LightCacheStoreLoad/algo_epoch")
    ->Args({static_cast<int>(Algorithm::ethash), 0})
    ->Args({static_cast<int>(Algorithm::etchash), 431})
    ->Unit(benchmark::kMillisecond);

void dataset_item_epoch0(benchmark::State& state) {
  const auto& cache = epoch0();
  std::uint32_t index = 0;
  for (auto _ : state) benchmark::DoNotOptimize(dataset_item(cache->items, index++ * 7919u));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(dataset_item_epoch0)->Name("DatasetItem/epoch0");

void hashimoto_light_epoch0(benchmark::State& state) {
  const auto& cache = epoch0();
  const Hash256 header{};
  std::uint64_t nonce = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hashimoto_light(*cache, header, nonce++));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(hashimoto_light_epoch0)->Name("HashimotoLight/epoch0_single_thread")->Unit(benchmark::kMillisecond);

// What a share's verification costs at the epoch mined on the GPU machine (a 73 MB cache).
void hashimoto_light_etchash431(benchmark::State& state) {
  static const LightCache cache = build_light_cache(Algorithm::etchash, 431);
  const Hash256 header{};
  std::uint64_t nonce = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hashimoto_light(cache, header, nonce++));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(hashimoto_light_etchash431)->Name("HashimotoLight/etchash431_single_thread")->Unit(benchmark::kMillisecond);

// The CPU backend on every hardware thread: hashes counted by the device over a fixed time.
void cpu_search_device(benchmark::State& state) {
  const auto& cache = epoch0();
  std::uint64_t hashes = 0;
  for (auto _ : state) {
    CpuSearchDevice device;  // all hardware threads
    WorkItem item;
    item.tag = 1;
    item.light_cache = cache;
    item.boundary = 0;  // no candidates: pure hashing
    item.nonce_count = ~std::uint64_t{0};
    device.set_work({item});
    device.start({[](const Candidate&) {}});
    std::this_thread::sleep_for(std::chrono::seconds(3));
    device.stop();
    hashes += device.counters().hashes;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(hashes));
  state.counters["threads"] = std::thread::hardware_concurrency();
}
BENCHMARK(cpu_search_device)->Name("CpuSearchDevice/epoch0_all_threads")->Iterations(2)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace
}  // namespace dagminer

BENCHMARK_MAIN();
