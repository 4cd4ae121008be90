// The CPU search device against a brute-force search, and its work-set semantics: weights,
// replacement, progress kept across re-sets, and stop.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/core/target.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t every_hash = ~std::uint64_t{0};  // a boundary every hash meets

// Collects candidates from the device threads and lets the test wait for a condition on them.
class Collector {
 public:
  CandidateSink sink() {
    return [this](const Candidate& c) {
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(c);
        ++per_tag_[c.tag];
      }
      changed_.notify_all();
    };
  }
  std::uint64_t count(std::uint64_t tag) const {
    std::lock_guard lock(mutex_);
    const auto it = per_tag_.find(tag);
    return it == per_tag_.end() ? 0 : it->second;
  }
  std::size_t total() const {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  // True when at least n candidates of the tag arrived within the deadline.
  bool wait_for(std::uint64_t tag, std::uint64_t n, std::chrono::seconds limit = 120s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return per_tag_[tag] >= n; });
  }
  std::vector<Candidate> candidates() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Candidate> seen_;
  std::map<std::uint64_t, std::uint64_t> per_tag_;
};

WorkItem work(std::uint64_t tag, std::shared_ptr<const LightCache> cache, std::uint64_t boundary, std::uint64_t start,
              std::uint64_t count, std::uint32_t weight = 1) {
  WorkItem w;
  w.tag = tag;
  w.light_cache = std::move(cache);
  w.header.fill(static_cast<std::uint8_t>(0x40 + tag));
  w.boundary = boundary;
  w.nonce_start = start;
  w.nonce_count = count;
  w.weight = weight;
  return w;
}

bool wait_for_hashes(const SearchDevice& device, std::uint64_t n, std::chrono::seconds limit = 120s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (device.counters().hashes < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(CpuSearchDevice, FindsExactlyWhatBruteForceFinds) {
  const auto cache = test::synthetic_light_cache(0x33);
  // A range crossing a 32-bit boundary, and a boundary about one hash in sixteen meets.
  const WorkItem item = work(7, cache, 0x0fffffffffffffffull, 0xfffffa00ull, 1500);

  std::map<std::uint64_t, Hash256> expected;  // nonce -> mix hash
  for (std::uint64_t n = item.nonce_start; n < item.nonce_start + item.nonce_count; ++n) {
    const HashResult r = hashimoto_light(*cache, item.header, n);
    if (hash_top64(r.final_hash) <= item.boundary) expected.emplace(n, r.mix_hash);
  }
  ASSERT_GT(expected.size(), 30u) << "the boundary should let a few dozen hashes through";

  CpuSearchDevice device(2, 16);
  Collector found;
  device.set_work({item});
  device.start(found.sink());
  ASSERT_TRUE(wait_for_hashes(device, item.nonce_count)) << "range not searched in time";
  device.stop();

  EXPECT_EQ(device.counters().hashes, item.nonce_count);
  EXPECT_EQ(device.counters().candidates, expected.size());
  EXPECT_EQ(device.counters().candidates_dropped, 0u);
  std::map<std::uint64_t, Hash256> delivered;
  for (const Candidate& c : found.candidates()) {
    EXPECT_EQ(c.tag, item.tag);
    EXPECT_TRUE(delivered.emplace(c.nonce, c.mix_hash).second) << "nonce " << c.nonce << " delivered twice";
  }
  EXPECT_EQ(delivered, expected);
}

TEST(CpuSearchDevice, SplitsHashesByWeight) {
  const auto cache = test::synthetic_light_cache(0x34);
  CpuSearchDevice device(2, 8);
  Collector found;
  device.set_work({work(1, cache, every_hash, 0, 1'000'000'000, 3), work(2, cache, every_hash, 1ull << 40, 1'000'000'000, 1)});
  device.start(found.sink());
  ASSERT_TRUE(found.wait_for(2, 240));
  device.stop();

  const double a = static_cast<double>(found.count(1)), b = static_cast<double>(found.count(2));
  EXPECT_GT(a / b, 2.5) << a << " : " << b;
  EXPECT_LT(a / b, 3.5) << a << " : " << b;
  // Every hash meets this boundary, so hashes and candidates count the same nonces.
  EXPECT_EQ(device.counters().hashes, found.total());
  std::set<std::uint64_t> nonces;
  for (const Candidate& c : found.candidates()) {
    EXPECT_TRUE(nonces.insert(c.nonce).second) << "nonce " << c.nonce << " twice";
    EXPECT_EQ(c.nonce >= (1ull << 40), c.tag == 2) << "nonce " << c.nonce << " outside its item's range";
  }
}

TEST(CpuSearchDevice, ReplacedWorkStopsWithinABatch) {
  constexpr unsigned threads = 2;
  constexpr std::uint32_t batch = 8;
  const auto cache = test::synthetic_light_cache(0x35);
  CpuSearchDevice device(threads, batch);
  Collector found;
  device.set_work({work(1, cache, every_hash, 0, 1'000'000'000)});
  device.start(found.sink());
  ASSERT_TRUE(found.wait_for(1, 32));

  device.set_work({work(2, cache, every_hash, 0, 1'000'000'000)});
  const std::uint64_t old_at_return = found.count(1);
  ASSERT_TRUE(found.wait_for(2, 8 * batch));
  const std::uint64_t old_later = found.count(1);
  device.stop();
  EXPECT_LE(old_later - old_at_return, threads * batch) << "the replaced item kept being searched";
  EXPECT_EQ(found.count(1), old_later);
  // Each thread finishes at most the hash it was computing when the job was replaced.
  EXPECT_LE(device.counters().replaced_job_hashes, threads);
}

// The first batch of each new tag is reported once, after the set_work that brought it; a tag
// set again (kept) is not reported again.
TEST(CpuSearchDevice, ReportsTheStartOfEachNewTagOnce) {
  const auto cache = test::synthetic_light_cache(0x38);
  CpuSearchDevice device(2, 8);
  Collector found;
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, std::chrono::steady_clock::time_point>> started;
  const auto a = work(1, cache, every_hash, 0, 1'000'000'000), b = work(2, cache, every_hash, 1ull << 40, 1'000'000'000),
             c = work(3, cache, every_hash, 1ull << 41, 1'000'000'000);
  const auto set_a = std::chrono::steady_clock::now();
  device.set_work({a});
  device.start({found.sink(), [&](std::uint64_t tag, std::chrono::steady_clock::time_point issued) {
                  std::lock_guard lock(mutex);
                  started.emplace_back(tag, issued);
                }});
  ASSERT_TRUE(found.wait_for(1, 16));
  const auto set_b = std::chrono::steady_clock::now();
  device.set_work({b});
  ASSERT_TRUE(found.wait_for(2, 16));
  device.set_work({b, c});
  ASSERT_TRUE(found.wait_for(3, 16));
  ASSERT_TRUE(found.wait_for(2, found.count(2) + 16));
  device.stop();

  std::lock_guard lock(mutex);
  ASSERT_EQ(started.size(), 3u);
  EXPECT_EQ(started[0].first, 1u);
  EXPECT_EQ(started[1].first, 2u);
  EXPECT_EQ(started[2].first, 3u);
  EXPECT_GE(started[0].second, set_a);
  EXPECT_GE(started[1].second, set_b);
}

TEST(CpuSearchDevice, ResettingAnItemKeepsItsProgress) {
  const auto cache = test::synthetic_light_cache(0x36);
  const WorkItem item = work(5, cache, every_hash, 1000, 300);
  CpuSearchDevice device(2, 8);
  Collector found;
  device.set_work({item});
  device.start(found.sink());
  ASSERT_TRUE(found.wait_for(5, 64));
  device.set_work({item, work(6, cache, every_hash, 0, 50)});  // same tag again, plus a new one
  ASSERT_TRUE(wait_for_hashes(device, 350));
  device.stop();

  std::set<std::uint64_t> nonces;
  for (const Candidate& c : found.candidates()) {
    if (c.tag == 5) {
      EXPECT_TRUE(nonces.insert(c.nonce).second) << "nonce " << c.nonce << " searched twice";
    }
  }
  EXPECT_EQ(nonces.size(), 300u);
  EXPECT_EQ(*nonces.begin(), 1000u);
  EXPECT_EQ(*nonces.rbegin(), 1299u);
  EXPECT_EQ(found.count(6), 50u);
  EXPECT_EQ(device.counters().hashes, 350u);
}

TEST(CpuSearchDevice, NothingArrivesAfterStopAndRestartContinues) {
  const auto cache = test::synthetic_light_cache(0x37);
  CpuSearchDevice device(2, 8);
  Collector found;
  device.set_work({work(3, cache, every_hash, 0, 1'000'000'000)});
  device.start(found.sink());
  ASSERT_TRUE(found.wait_for(3, 16));
  device.stop();
  const std::size_t at_stop = found.total();
  EXPECT_EQ(device.counters().hashes, at_stop);
  EXPECT_EQ(device.counters().candidates, at_stop);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(found.total(), at_stop) << "a candidate arrived after stop() returned";
  device.stop();  // a second stop is harmless

  device.start(found.sink());
  ASSERT_TRUE(found.wait_for(3, at_stop + 16));
  device.stop();
  std::set<std::uint64_t> nonces;
  for (const Candidate& c : found.candidates()) EXPECT_TRUE(nonces.insert(c.nonce).second) << "nonce " << c.nonce << " twice";
}

TEST(CpuSearchDevice, DescribesItself) {
  const CpuSearchDevice device(3, 16, "cpu7");
  const DeviceInfo info = device.describe();
  EXPECT_EQ(info.id, "cpu7");
  EXPECT_EQ(info.kind, "cpu");
  EXPECT_NE(info.name.find("3 threads"), std::string::npos) << info.name;
  EXPECT_GT(info.memory_bytes, 0u);
  EXPECT_TRUE(info.compute_capability.empty());
}

}  // namespace
}  // namespace dagminer
