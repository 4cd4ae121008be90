// The memory manager's policy (budget, LRU eviction, pins, slot reuse, statistics, errors) on
// heap memory, so it runs in CI without a GPU. The host builder computes the real dataset with
// core's reference, so a DAG handed out is checked for content as well.
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "dagminer/gpu/job_blob.hpp"
#include "dagminer/gpu/memory_manager.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer::gpu {
namespace {

constexpr std::uint32_t light_items = 61;
constexpr std::uint32_t pages = 97;

LightCache synthetic_epoch(int epoch) { return *test::synthetic_light_cache(epoch, light_items, pages); }

constexpr std::uint64_t dag_bytes = std::uint64_t{pages} * page_bytes;
constexpr std::uint64_t light_bytes = std::uint64_t{light_items} * sizeof(Item64);
constexpr std::uint64_t need = dag_bytes + light_bytes;

// Forwards to a HostAllocator the test keeps, so leaks are visible after the manager is gone.
class Forwarding final : public DeviceAllocator {
 public:
  explicit Forwarding(HostAllocator& inner) : inner_(inner) {}
  std::string device_id() const override { return inner_.device_id(); }
  std::uint64_t free_device_bytes() const override { return inner_.free_device_bytes(); }
  void* allocate_device(std::uint64_t b) override { return inner_.allocate_device(b); }
  void* allocate_host(std::uint64_t b) override { return inner_.allocate_host(b); }
  void free_device(void* p) noexcept override { inner_.free_device(p); }
  void free_host(void* p) noexcept override { inner_.free_host(p); }

 private:
  HostAllocator& inner_;
};

struct Fixture : ::testing::Test {
  HostAllocator heap{1u << 24, "testdev"};
  std::atomic<int> builds{0};

  DagBuilder host_builder() {
    return [this](const DagBuffers& b, const LightCache& cache) {
      ++builds;
      std::memcpy(b.light, cache.items.data(), b.light_bytes);
      const auto dataset = build_dataset(cache.items, b.pages, 1);
      std::memcpy(b.dag, dataset.data(), b.dag_bytes);
    };
  }
  std::unique_ptr<GpuMemoryManager> manager(std::uint64_t budget) {
    return std::make_unique<GpuMemoryManager>(std::make_unique<Forwarding>(heap), host_builder(), MemoryBudget{budget, 0});
  }
};

std::vector<int> epochs_of(const MemoryStats& s) {
  std::vector<int> out;
  for (auto& k : s.resident) out.push_back(k.epoch);
  return out;
}

TEST_F(Fixture, KeepsSeveralDagsWithinBudgetWithTheReferenceContent) {
  auto m = manager(3 * need);
  for (int e = 1; e <= 3; ++e) {
    const LightCache cache = synthetic_epoch(e);
    const DagLease lease = m->acquire_dag(cache);
    EXPECT_EQ(lease.key(), (DagKey{Algorithm::ethash, e}));
    EXPECT_EQ(lease.buffers().pages, pages);
    const auto reference = build_dataset(cache.items, pages, 1);
    EXPECT_EQ(std::memcmp(lease.buffers().dag, reference.data(), dag_bytes), 0);
    EXPECT_EQ(std::memcmp(lease.buffers().light, cache.items.data(), light_bytes), 0);
  }
  const MemoryStats s = m->stats();
  EXPECT_EQ(epochs_of(s), (std::vector<int>{3, 2, 1}));
  EXPECT_EQ(s.bytes_of(MemoryKind::dag), 3 * dag_bytes);
  EXPECT_EQ(s.bytes_of(MemoryKind::light_cache), 3 * light_bytes);
  EXPECT_EQ(s.dag_builds, 3u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(s.bytes_to_device, 3 * light_bytes);
  EXPECT_EQ(s.budget_bytes, 3 * need);
}

TEST_F(Fixture, ResidentDagIsReusedWithoutRebuilding) {
  auto m = manager(2 * need);
  const LightCache cache = synthetic_epoch(1);
  (void)m->acquire_dag(cache);
  (void)m->acquire_dag(cache);
  EXPECT_EQ(builds.load(), 1);
  EXPECT_TRUE(m->is_resident({Algorithm::ethash, 1}));
  EXPECT_FALSE(m->is_resident({Algorithm::etchash, 1}));
}

TEST_F(Fixture, EvictsTheLeastRecentlyUsedDag) {
  auto m = manager(2 * need);
  const LightCache e1 = synthetic_epoch(1), e2 = synthetic_epoch(2), e3 = synthetic_epoch(3);
  (void)m->acquire_dag(e1);
  (void)m->acquire_dag(e2);
  (void)m->acquire_dag(e1);  // epoch 2 is now the least recently used
  (void)m->acquire_dag(e3);
  const MemoryStats s = m->stats();
  EXPECT_EQ(epochs_of(s), (std::vector<int>{3, 1}));
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.bytes_of(MemoryKind::dag), 2 * dag_bytes);
  EXPECT_EQ(heap.free_device_bytes(), (1u << 24) - 2 * need);
}

TEST_F(Fixture, NeverEvictsADagInUse) {
  auto m = manager(2 * need);
  const LightCache e1 = synthetic_epoch(1), e2 = synthetic_epoch(2), e3 = synthetic_epoch(3);
  auto held1 = std::make_unique<DagLease>(m->acquire_dag(e1));
  const DagLease held2 = m->acquire_dag(e2);
  try {
    (void)m->acquire_dag(e3);
    FAIL() << "a third DAG fitted a budget of two that are in use";
  } catch (const GpuError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::budget_in_use);
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
  EXPECT_EQ(epochs_of(m->stats()), (std::vector<int>{2, 1}));
  held1.reset();  // epoch 1 is free to go now
  (void)m->acquire_dag(e3);
  EXPECT_EQ(epochs_of(m->stats()), (std::vector<int>{3, 2}));
}

TEST_F(Fixture, DagLargerThanTheBudgetIsAClearErrorAndTheManagerStaysUsable) {
  auto m = manager(need - 1);
  try {
    (void)m->acquire_dag(synthetic_epoch(7));
    FAIL() << "a DAG larger than the budget was accepted";
  } catch (const GpuError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::dag_too_large);
    const std::string what = e.what();
    EXPECT_NE(what.find("testdev: the DAG of ethash epoch 7 needs"), std::string::npos) << what;
    EXPECT_NE(what.find("budget"), std::string::npos) << what;
  }
  EXPECT_EQ(builds.load(), 0);
  EXPECT_EQ(heap.live_allocations(), 0u);
}

TEST_F(Fixture, DagLargerThanFreeMemoryIsAClearError) {
  HostAllocator small(need / 2, "smalldev");
  GpuMemoryManager m(std::make_unique<Forwarding>(small), host_builder(), MemoryBudget{need * 4, 0});
  try {
    (void)m.acquire_dag(synthetic_epoch(1));
    FAIL() << "a DAG larger than free memory was accepted";
  } catch (const GpuError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::dag_too_large);
    EXPECT_NE(std::string(e.what()).find("free"), std::string::npos) << e.what();
  }
}

TEST_F(Fixture, BudgetDefaultsToAFractionOfFreeMemory) {
  GpuMemoryManager m(std::make_unique<Forwarding>(heap), host_builder(), MemoryBudget{0, 0.5});
  EXPECT_EQ(m.budget_bytes(), (1u << 24) / 2);
}

TEST_F(Fixture, FailedBuildFreesItsMemoryAndCanBeRetried) {
  bool fail = true;
  GpuMemoryManager m(
      std::make_unique<Forwarding>(heap),
      [&](const DagBuffers& b, const LightCache& c) {
        if (fail) throw GpuError(ErrorKind::launch_failed, "testdev: DAG build launch failed");
        host_builder()(b, c);
      },
      MemoryBudget{2 * need, 0});
  EXPECT_THROW((void)m.acquire_dag(synthetic_epoch(1)), GpuError);
  EXPECT_EQ(heap.live_allocations(), 0u);
  EXPECT_TRUE(m.stats().resident.empty());
  fail = false;
  EXPECT_NO_THROW((void)m.acquire_dag(synthetic_epoch(1)));
  EXPECT_EQ(m.stats().dag_builds, 1u);
}

TEST_F(Fixture, ConcurrentRequestsForOneEpochBuildItOnce) {
  auto m = manager(2 * need);
  const LightCache cache = synthetic_epoch(1);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      const DagLease lease = m->acquire_dag(cache);
      if (lease.buffers().dag) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(builds.load(), 1);
}

TEST_F(Fixture, StagingAndResultsBuffersAreReusedAndCounted) {
  auto m = manager(need);
  {
    BufferPair a = m->acquire_staging();
    EXPECT_EQ(a.bytes(), sizeof(JobBlob));
    EXPECT_EQ(a.kind(), MemoryKind::staging);
    EXPECT_NE(a.host(), a.device());
  }
  {
    BufferPair again = m->acquire_staging();  // the first one, back from the pool
    BufferPair second = m->acquire_staging();
    BufferPair results = m->acquire_results(16);
    EXPECT_EQ(results.bytes(), results_bytes(16));
  }
  const MemoryStats s = m->stats();
  EXPECT_EQ(s.buffer_allocations, 3u);
  EXPECT_EQ(s.bytes_of(MemoryKind::staging), 2 * 2 * sizeof(JobBlob));  // two pairs, host + device each
  EXPECT_EQ(s.bytes_of(MemoryKind::results), 2 * results_bytes(16));
  m->record_transfer(64, true);
  m->record_transfer(200, false);
  EXPECT_EQ(m->stats().transfers, 2u);
  EXPECT_EQ(m->stats().bytes_to_host, 200u);
}

TEST_F(Fixture, LeasesOutliveTheManagerAndEverythingIsFreedAtTheEnd) {
  auto m = manager(2 * need);
  const LightCache cache = synthetic_epoch(1);
  DagLease lease = m->acquire_dag(cache);
  BufferPair slot = m->acquire_staging();
  m.reset();
  const auto reference = build_dataset(cache.items, pages, 1);
  EXPECT_EQ(std::memcmp(lease.buffers().dag, reference.data(), dag_bytes), 0);
  EXPECT_GT(heap.live_allocations(), 0u);
  { auto gone = std::move(lease); }
  { auto gone = std::move(slot); }
  EXPECT_EQ(heap.live_allocations(), 0u);
}

}  // namespace
}  // namespace dagminer::gpu
