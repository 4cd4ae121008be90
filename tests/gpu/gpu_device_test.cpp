// The DAG and search kernels, the device worker and the memory manager on a real GPU, checked
// against core's CPU reference. Every test skips itself, saying why, where there is no GPU.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "dagminer/core/target.hpp"
#include "dagminer/gpu/gpu_device.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer::gpu {
namespace {

using namespace std::chrono_literals;

// A small synthetic epoch whose whole dataset the CPU computes.
std::shared_ptr<const LightCache> synthetic_epoch(int epoch, std::uint32_t light_items, std::uint32_t pages) {
  return test::synthetic_light_cache(epoch, light_items, pages, Algorithm::etchash);
}

// Ethash epoch 0 (16 MB light cache, 1 GB DAG).
std::shared_ptr<const LightCache> epoch0() { return test::shared_light_cache(Algorithm::ethash, 0); }

std::mt19937_64& rng() {
  static std::mt19937_64 engine(std::random_device{}());
  return engine;
}

// A job over `epoch` with a random header and start; one hash in 2^shift is a candidate.
WorkItem job(std::uint64_t tag, std::shared_ptr<const LightCache> epoch, int shift, std::uint64_t count = ~std::uint64_t{0}) {
  WorkItem w;
  w.tag = tag;
  w.light_cache = std::move(epoch);
  for (auto& b : w.header) b = static_cast<std::uint8_t>(rng()());
  w.boundary = ~std::uint64_t{0} >> shift;
  w.nonce_start = count == ~std::uint64_t{0} ? 0 : rng()() >> 1;
  w.nonce_count = count;
  return w;
}

// Candidates collected from the device's threads.
struct Collected {
  std::mutex mutex;
  std::vector<Candidate> found;
  CandidateSink sink() {
    return [this](const Candidate& c) {
      std::lock_guard lock(mutex);
      found.push_back(c);
    };
  }
};

// Runs until the device has counted `hashes` or the deadline passes.
void run_until(GpuSearchDevice& gpu, std::uint64_t hashes, std::chrono::seconds deadline = 60s) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (gpu.counters().hashes < hashes && std::chrono::steady_clock::now() < end && gpu.fault().empty())
    std::this_thread::sleep_for(1ms);
}

// Mines `work` until the device has counted `hashes`, then stops it; returns the candidates.
std::vector<Candidate> mine(GpuSearchDevice& gpu, const std::vector<WorkItem>& work, std::uint64_t hashes) {
  Collected got;
  gpu.set_work(work);
  gpu.start(got.sink());
  run_until(gpu, hashes);
  gpu.stop();
  EXPECT_EQ(gpu.fault(), "");
  return std::move(got.found);
}

// Each candidate passes the CPU check (mix hash and boundary) for the job its tag names.
void expect_verified(const std::vector<Candidate>& found, const std::vector<WorkItem>& jobs) {
  for (const auto& c : found) {
    const auto it = std::find_if(jobs.begin(), jobs.end(), [&](const WorkItem& w) { return w.tag == c.tag; });
    ASSERT_NE(it, jobs.end()) << "unknown tag " << c.tag;
    const HashResult r = hashimoto_light(*it->light_cache, it->header, c.nonce);
    EXPECT_EQ(r.mix_hash, c.mix_hash) << "tag " << c.tag << " nonce " << c.nonce;
    EXPECT_LE(hash_top64(r.final_hash), it->boundary) << "tag " << c.tag << " nonce " << c.nonce;
  }
}

class Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    const GpuListing listing = discover_gpus();
    if (listing.devices.empty()) GTEST_SKIP() << "no GPU: " << listing.error;
  }
};

TEST_F(Gpu, Epoch0DagItemsEqualTheReference) {
  auto cache = epoch0();
  auto gpu = open_gpu(0);
  const std::uint32_t items = static_cast<std::uint32_t>(cache->dataset_bytes / dataset_item_bytes);
  std::vector<std::uint32_t> indices{0, 1, 2, 3, 4, items / 2, items - 2, items - 1};
  for (int i = 0; i < 24; ++i) indices.push_back(static_cast<std::uint32_t>(rng()() % items));
  const auto got = gpu->read_dag_items(*cache, indices);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const Item64 want = dataset_item(cache->items, indices[i]);
    EXPECT_EQ(std::memcmp(&got[i], &want, sizeof want), 0) << "DAG item " << indices[i];
  }
  EXPECT_EQ(gpu->memory_stats().dag_builds, 1u);
}

TEST_F(Gpu, WholeSyntheticDagEqualsTheReference) {
  const auto cache = synthetic_epoch(9001, 1009, 4099);
  auto gpu = open_gpu(0);
  std::vector<std::uint32_t> all(2 * 4099);
  for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto got = gpu->read_dag_items(*cache, all);
  const auto reference = build_dataset(cache->items, 4099);
  EXPECT_EQ(std::memcmp(got.data(), reference.data(), got.size() * sizeof(Item64)), 0);
  EXPECT_THROW((void)gpu->read_dag_items(*cache, std::vector<std::uint32_t>{2 * 4099}), std::out_of_range);
}

// Every nonce of the range is hashed on the CPU over the full synthetic dataset: the GPU must
// report exactly the nonces at or under the boundary, each with the right mix hash, with every
// build of the kernel (register caps) and block sizes of 1, 2 and 8 warps.
TEST_F(Gpu, SearchReportsExactlyTheCandidatesOfARange) {
  const auto cache = synthetic_epoch(9002, 1013, 4093);
  const auto dataset = build_dataset(cache->items, 4093);
  const WorkItem w = job(77, cache, 4, 6000);
  std::map<std::uint64_t, Hash256> expected;
  for (std::uint64_t n = w.nonce_start; n != w.nonce_start + w.nonce_count; ++n) {
    const HashResult r = hashimoto_full(dataset, w.header, n);
    if (hash_top64(r.final_hash) <= w.boundary) expected[n] = r.mix_hash;
  }
  ASSERT_GT(expected.size(), 100u);

  for (int registers : search_register_caps)
    for (int block : {32, 64, 256}) {
      SCOPED_TRACE("registers " + std::to_string(registers) + ", block " + std::to_string(block));
      GpuDeviceOptions o;
      o.shape.launch_hashes = 1000;  // several launches on several streams, the last one partial
      o.shape.max_registers = registers;
      o.shape.block_threads = block;
      o.results_capacity = 1024;
      auto gpu = open_gpu(0, o);
      const auto candidates = mine(*gpu, {w}, w.nonce_count);
      EXPECT_EQ(gpu->counters().hashes, w.nonce_count);
      EXPECT_EQ(gpu->counters().candidates_dropped, 0u);
      std::map<std::uint64_t, Hash256> found;
      for (const auto& c : candidates) {
        EXPECT_EQ(c.tag, 77u);
        EXPECT_TRUE(found.emplace(c.nonce, c.mix_hash).second) << "nonce " << c.nonce << " reported twice";
      }
      EXPECT_EQ(found, expected);
      expect_verified(candidates, {w});
    }
}

// Online tuning on a GPU: every candidate shape mines the job (its candidates pass the CPU check),
// the best is stored under the card's key, and a device opened later takes it at once.
TEST_F(Gpu, TunedShapeIsStoredAndTakenByTheNextStart) {
  const test::TempDir dir;
  GpuDeviceOptions o;
  LaunchShape a, b, c;
  a.launch_hashes = b.launch_hashes = c.launch_hashes = 8192;
  b.max_registers = 80;
  c.block_threads = 64;
  c.streams = 2;
  o.tuning = LaunchTuning{dir.path(), false, {a, b, c}, 0.2, 1};
  // Few candidates (one hash in 2^20): each costs the CPU check about a millisecond, and the tiny
  // launches run for about a second.
  const WorkItem w = job(4, synthetic_epoch(9010, 1009, 4099), 20);
  Collected got;
  {
    auto gpu = open_gpu(0, o);
    EXPECT_EQ(gpu->tuning().state, TuningReport::State::off);  // nothing launched yet
    gpu->set_work({w});
    gpu->start(got.sink());
    // The rate over the whole tuning, by the host's clock, to check the trials' GPU clock against.
    std::optional<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> tuning_began;
    const auto end = std::chrono::steady_clock::now() + 60s;
    while (gpu->tuning().state != TuningReport::State::tuned && std::chrono::steady_clock::now() < end && gpu->fault().empty()) {
      if (!tuning_began && gpu->tuning().state == TuningReport::State::tuning)
        tuning_began.emplace(std::chrono::steady_clock::now(), gpu->counters().hashes);
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(tuning_began) << gpu->fault();
    const double tuning_mhs = static_cast<double>(gpu->counters().hashes - tuning_began->second) /
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - tuning_began->first).count() / 1e6;
    gpu->stop();
    const TuningReport r = gpu->tuning();
    ASSERT_EQ(r.state, TuningReport::State::tuned) << gpu->fault();
    EXPECT_EQ(gpu->status().launch, (LaunchReport{to_string(r.shape), LaunchOrigin::tuned, ""}));
    EXPECT_EQ(r.store_error, "");
    ASSERT_EQ(r.trials.size(), 3u);
    for (const auto& t : r.trials) {
      ASSERT_EQ(t.mhs.size(), 1u);
      EXPECT_GT(t.mhs[0], tuning_mhs / 4) << to_string(t.shape);
      EXPECT_LT(t.mhs[0], tuning_mhs * 4) << to_string(t.shape);
    }
    EXPECT_NE(r.key.find("dag=" + std::to_string(w.light_cache->dataset_bytes)), std::string::npos) << r.key;
    // With NVML the card's power limit is part of the key; without, it is left out.
    EXPECT_EQ(r.key.find(" power_limit=") != std::string::npos, gpu->telemetry_error().empty()) << r.key;
    EXPECT_EQ(TunedShapeStore(dir.path()).find(TuneKey{}), std::nullopt);
  }
  expect_verified(got.found, {w});

  auto again = open_gpu(0, o);
  again->set_work({w});
  again->start(got.sink());
  run_until(*again, 8192);
  const TuningReport r = again->tuning();
  const auto launch = again->status().launch;  // what the daemon logs and /api/v1/devices shows
  again->stop();
  EXPECT_EQ(r.state, TuningReport::State::stored);
  EXPECT_TRUE(r.trials.empty());
  ASSERT_TRUE(launch);
  EXPECT_EQ(*launch, (LaunchReport{to_string(r.shape), LaunchOrigin::stored, ""}));
  std::ifstream file(dir.path() / "tuned-launch-shapes.txt");
  const std::string stored((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_NE(stored.find(r.key + '\t' + to_string(r.shape)), std::string::npos) << stored;
}

// Split across pools at two epochs: the trials measure the mix of both DAGs, a rate that is
// neither's, so the shape found is used for this run and not stored under either DAG's size.
TEST_F(Gpu, TuningOnDagsOfTwoSizesIsNotStored) {
  const test::TempDir dir;
  GpuDeviceOptions o;
  LaunchShape a, b;
  a.launch_hashes = b.launch_hashes = 8192;
  b.max_registers = 80;
  o.tuning = LaunchTuning{dir.path(), false, {a, b}, 0.2, 1};
  const WorkItem one = job(4, synthetic_epoch(9020, 1009, 4099), 20), other = job(5, synthetic_epoch(9021, 1013, 8191), 20);
  ASSERT_NE(one.light_cache->dataset_bytes, other.light_cache->dataset_bytes);
  Collected got;
  auto gpu = open_gpu(0, o);
  gpu->set_work({one, other});
  gpu->start(got.sink());
  const auto end = std::chrono::steady_clock::now() + 60s;
  while (gpu->tuning().state != TuningReport::State::tuned && std::chrono::steady_clock::now() < end && gpu->fault().empty())
    std::this_thread::sleep_for(10ms);
  gpu->stop();
  const TuningReport r = gpu->tuning();
  ASSERT_EQ(r.state, TuningReport::State::tuned) << gpu->fault();
  EXPECT_NE(r.store_error.find("DAGs of two sizes"), std::string::npos) << r.store_error;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "tuned-launch-shapes.txt"));
  expect_verified(got.found, {one, other});
}

TEST_F(Gpu, Epoch0SearchMissesNoCandidate) {
  GpuDeviceOptions o;
  o.results_capacity = 1024;  // about 256 candidates expected: none may be dropped
  auto gpu = open_gpu(0, o);
  const WorkItem w = job(5, epoch0(), 3, 2048);
  const auto candidates = mine(*gpu, {w}, w.nonce_count);
  std::set<std::uint64_t> found, expected;
  for (const auto& c : candidates) found.insert(c.nonce);
  for (std::uint64_t n = w.nonce_start; n != w.nonce_start + w.nonce_count; ++n)
    if (hash_top64(hashimoto_light(*w.light_cache, w.header, n).final_hash) <= w.boundary) expected.insert(n);
  EXPECT_EQ(gpu->counters().candidates_dropped, 0u);
  EXPECT_EQ(found, expected);
  EXPECT_GT(expected.size(), 100u);
  expect_verified(candidates, {w});
}

TEST_F(Gpu, FullResultsBufferCountsTheOverflow) {
  GpuDeviceOptions o;
  o.shape.launch_hashes = 512;
  o.results_capacity = 4;
  auto gpu = open_gpu(0, o);
  const WorkItem w = job(3, synthetic_epoch(9003, 1009, 1031), 0, 4 * 512);  // every hash is a candidate
  const auto candidates = mine(*gpu, {w}, w.nonce_count);
  EXPECT_EQ(gpu->counters().candidates, 4u * 4);
  EXPECT_EQ(gpu->counters().candidates_dropped, 4u * (512 - 4));
  EXPECT_EQ(candidates.size(), 16u);
  expect_verified(candidates, {w});
}

TEST_F(Gpu, NewWorkTakesOverWhileRunning) {
  const auto cache = synthetic_epoch(9004, 1009, 2053);
  GpuDeviceOptions o;
  o.shape.launch_hashes = 4096;
  auto gpu = open_gpu(0, o);
  const WorkItem a = job(1, cache, 8), b = job(2, cache, 8);
  Collected got;
  gpu->set_work({a});
  gpu->start(got.sink());
  run_until(*gpu, 1u << 16);
  gpu->set_work({b});
  run_until(*gpu, gpu->counters().hashes + (1u << 18));
  gpu->stop();
  ASSERT_EQ(gpu->fault(), "");
  expect_verified(got.found, {a, b});
  ASSERT_FALSE(got.found.empty());
  EXPECT_EQ(got.found.back().tag, 2u);
}

// The first launch of each new tag is reported once, after the set_work that brought it; a
// tag set again (kept) is not reported again.
TEST_F(Gpu, ReportsTheStartOfEachNewTagOnce) {
  const auto cache = synthetic_epoch(9008, 1009, 2053);
  GpuDeviceOptions o;
  o.shape.launch_hashes = 4096;
  auto gpu = open_gpu(0, o);
  const WorkItem a = job(1, cache, 8), b = job(2, cache, 8), c = job(3, cache, 8);
  Collected got;
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, std::chrono::steady_clock::time_point>> started;
  gpu->set_work({a});
  gpu->start({got.sink(), [&](std::uint64_t tag, std::chrono::steady_clock::time_point issued) {
                std::lock_guard lock(mutex);
                started.emplace_back(tag, issued);
              }});
  run_until(*gpu, 1u << 16);
  const auto set_b = std::chrono::steady_clock::now();
  gpu->set_work({b});
  run_until(*gpu, gpu->counters().hashes + (1u << 16));
  gpu->set_work({b, c});
  run_until(*gpu, gpu->counters().hashes + (1u << 16));
  gpu->stop();
  ASSERT_EQ(gpu->fault(), "");
  expect_verified(got.found, {a, b, c});
  std::lock_guard lock(mutex);
  ASSERT_EQ(started.size(), 3u);
  EXPECT_EQ(started[0].first, 1u);
  EXPECT_EQ(started[1].first, 2u);
  EXPECT_EQ(started[2].first, 3u);
  EXPECT_GE(started[1].second, set_b);
}

// Setting an item again while it is searched keeps its progress (the device interface's
// promise): every nonce of its range is searched exactly once, never twice, which would find
// duplicate shares, while a new item joins it.
TEST_F(Gpu, ResettingAnItemKeepsItsProgress) {
  const auto cache = synthetic_epoch(9006, 1009, 2053);
  GpuDeviceOptions o;
  o.shape.launch_hashes = 4096;
  o.results_capacity = 4096;
  auto gpu = open_gpu(0, o);
  const WorkItem a = job(1, cache, 0, 64 * 4096), b = job(2, cache, 0, 16 * 4096);  // every hash a candidate
  Collected got;
  gpu->set_work({a});
  gpu->start(got.sink());
  run_until(*gpu, 8 * 4096);
  gpu->set_work({a, b});
  run_until(*gpu, 80 * 4096);
  gpu->stop();
  ASSERT_EQ(gpu->fault(), "");
  EXPECT_EQ(gpu->counters().hashes, 80u * 4096);
  std::set<std::uint64_t> of_a;
  std::size_t of_b = 0;
  for (const auto& c : got.found) {
    if (c.tag == 2) ++of_b;
    else EXPECT_TRUE(of_a.insert(c.nonce).second) << "nonce " << c.nonce << " searched twice";
  }
  EXPECT_EQ(of_a.size(), 64u * 4096);
  EXPECT_EQ(*of_a.begin(), a.nonce_start);
  EXPECT_EQ(*of_a.rbegin(), a.nonce_start + 64 * 4096 - 1);
  EXPECT_EQ(of_b, 16u * 4096);
}

// Launches in flight for a replaced job stop early: the cancelled launches search less than two
// launches' worth (the one running, plus blocks of the next that started before the cancel
// landed), where running them out would cost the whole pipeline (3 launches).
TEST_F(Gpu, ReplacedLaunchesStopEarly) {
  GpuDeviceOptions o;
  o.shape.launch_hashes = 1u << 20;
  o.shape.streams = 3;
  auto gpu = open_gpu(0, o);
  const WorkItem a = job(1, epoch0(), 20), b = job(2, epoch0(), 20);
  Collected got;
  gpu->set_work({a});
  gpu->start(got.sink());
  run_until(*gpu, 8u << 20);
  const std::uint64_t before = gpu->counters().replaced_job_hashes;
  gpu->set_work({b});
  run_until(*gpu, gpu->counters().hashes + (8u << 20));
  gpu->stop();
  ASSERT_EQ(gpu->fault(), "");
  EXPECT_LT(gpu->counters().replaced_job_hashes - before, 2u << 20);
  expect_verified(got.found, {a, b});
}

// A set that drops one item cancels only that item's launches: the launches in flight of an item
// that stays run out, so every nonce of its range is searched exactly once, none skipped.
TEST_F(Gpu, DroppingAnItemLeavesTheOthersLaunchesAlone) {
  const auto cache = synthetic_epoch(9009, 1009, 2053);
  GpuDeviceOptions o;
  o.shape.launch_hashes = 4096;
  o.results_capacity = 4096;
  auto gpu = open_gpu(0, o);
  const WorkItem kept = job(2, cache, 0, 96 * 4096);  // every hash a candidate
  Collected got;
  const auto kept_found = [&] {
    std::lock_guard lock(got.mutex);
    return std::count_if(got.found.begin(), got.found.end(), [](const Candidate& c) { return c.tag == 2; });
  };
  std::vector<WorkItem> all{kept};
  gpu->set_work({job(100, cache, 16), kept});
  gpu->start(got.sink());
  for (std::uint64_t tag = 101; tag < 140 && kept_found() < 96 * 4096; ++tag) {  // the other item changes all the time
    run_until(*gpu, gpu->counters().hashes + 4 * 4096);
    all.push_back(job(tag, cache, 16));
    gpu->set_work({all.back(), kept});
  }
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (kept_found() < 96 * 4096 && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
  gpu->stop();
  ASSERT_EQ(gpu->fault(), "");
  std::set<std::uint64_t> nonces;
  for (const auto& c : got.found) {
    if (c.tag == 2) {
      EXPECT_TRUE(nonces.insert(c.nonce).second) << "nonce " << c.nonce << " searched twice";
    }
  }
  EXPECT_EQ(nonces.size(), 96u * 4096) << "nonces of the kept item were skipped";
  EXPECT_EQ(gpu->counters().candidates_dropped, 0u);
}

// Launches go to items by weight (smooth weighted round robin per launch): with weights 1 and
// 3 a quarter of the launches, so about a quarter of the candidates, are the first item's.
TEST_F(Gpu, HashesSplitByWeight) {
  const auto cache = synthetic_epoch(9005, 1009, 2053);
  GpuDeviceOptions o;
  o.shape.launch_hashes = 4096;
  o.results_capacity = 1024;
  auto gpu = open_gpu(0, o);
  WorkItem a = job(1, cache, 4), b = job(2, cache, 4);
  b.weight = 3;
  const auto found = mine(*gpu, {a, b}, 400 * 4096);
  ASSERT_GT(found.size(), 50000u);
  const auto of_a = std::count_if(found.begin(), found.end(), [](const Candidate& c) { return c.tag == 1; });
  EXPECT_NEAR(static_cast<double>(of_a) / static_cast<double>(found.size()), 0.25, 0.02);
}

// The next epoch's DAG is built while the current one is mined, then mining moves to it.
TEST_F(Gpu, NextEpochIsPreparedWhileMining) {
  const auto current = synthetic_epoch(9006, 1009, 2053), next = synthetic_epoch(9007, 1013, 2069);
  GpuDeviceOptions o;
  o.shape.launch_hashes = 8192;
  auto gpu = open_gpu(0, o);
  const WorkItem a = job(1, current, 8), b = job(2, next, 8);
  Collected got;
  gpu->set_work({a});
  gpu->start(got.sink());
  run_until(*gpu, 1u << 16);
  const std::uint64_t before = gpu->counters().hashes;
  gpu->prepare(next);
  EXPECT_GT(gpu->counters().hashes, before);  // mining went on during the build
  EXPECT_TRUE(gpu->memory().is_resident({Algorithm::etchash, 9007}));
  gpu->set_work({b});
  run_until(*gpu, gpu->counters().hashes + (1u << 18));
  gpu->stop();
  ASSERT_EQ(gpu->fault(), "");
  EXPECT_EQ(gpu->memory_stats().dag_builds, 2u);
  expect_verified(got.found, {a, b});
  EXPECT_TRUE(std::any_of(got.found.begin(), got.found.end(), [](const Candidate& c) { return c.tag == 2; }));
}

TEST_F(Gpu, ManagerBudgetEvictionAndStatistics) {
  const auto e1 = synthetic_epoch(9101, 1009, 1u << 16), e2 = synthetic_epoch(9102, 1009, 1u << 16),
             e3 = synthetic_epoch(9103, 1009, 1u << 16);
  const std::uint64_t need = (1u << 16) * std::uint64_t{page_bytes} + 1009 * sizeof(Item64);
  auto m = make_device_memory_manager(0, MemoryBudget{2 * need, 0});
  (void)m->acquire_dag(*e1);
  (void)m->acquire_dag(*e2);
  {
    const DagLease held1 = m->acquire_dag(*e1);  // in use, and now the most recently used
    const DagLease held3 = m->acquire_dag(*e3);  // evicts 9102, the least recently used
    EXPECT_FALSE(m->is_resident({Algorithm::etchash, 9102}));
    try {
      (void)m->acquire_dag(*e2);
      FAIL() << "a DAG was built while both resident ones were in use";
    } catch (const GpuError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::budget_in_use) << e.what();
    }
  }
  (void)m->acquire_dag(*e2);  // now evicts 9101, used before 9103
  EXPECT_FALSE(m->is_resident({Algorithm::etchash, 9101}));
  EXPECT_TRUE(m->is_resident({Algorithm::etchash, 9103}));
  const MemoryStats s = m->stats();
  EXPECT_EQ(s.dag_builds, 4u);
  EXPECT_EQ(s.evictions, 2u);
  EXPECT_EQ(s.resident.size(), 2u);
  EXPECT_EQ(s.bytes_of(MemoryKind::dag), 2 * (1u << 16) * std::uint64_t{page_bytes});
  EXPECT_EQ(s.bytes_of(MemoryKind::light_cache), 2 * 1009 * sizeof(Item64));
  EXPECT_GT(s.total_dag_build_seconds, 0.0);
}

TEST_F(Gpu, DagLargerThanTheDeviceIsAClearError) {
  auto m = make_device_memory_manager(0, MemoryBudget{std::uint64_t{1} << 50, 0});
  auto huge = std::make_shared<LightCache>(*synthetic_epoch(9200, 1009, 1031));
  huge->dataset_bytes = std::uint64_t{0xFFFF'FFFF} * page_bytes;  // 550 GB
  try {
    (void)m->acquire_dag(*huge);
    FAIL() << "a 550 GB DAG was accepted";
  } catch (const GpuError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::dag_too_large);
    EXPECT_NE(std::string(e.what()).find("of device memory is free"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW((void)m->acquire_dag(*synthetic_epoch(9201, 1009, 1031)));  // still usable
}

TEST_F(Gpu, MissingDeviceIsNoDevice) {
  try {
    (void)open_gpu(99);
    FAIL() << "gpu99 opened";
  } catch (const GpuError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::no_device) << e.what();
  }
}

}  // namespace
}  // namespace dagminer::gpu
