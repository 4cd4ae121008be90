// `dagminer demo`: the whole search path without a pool or a GPU. Loads (or builds and stores)
// the epoch-0 light cache, mines a synthetic job on the CPU backend at an easy difficulty,
// re-verifies every candidate with hashimoto over the light cache and prints the shares.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

#include "commands.hpp"
#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/core/hex.hpp"
#include "dagminer/core/light_cache_store.hpp"
#include "dagminer/core/target.hpp"

namespace dagminer::cli {
namespace {

struct DemoOptions {
  double seconds = 20;
  unsigned threads = 0;
  double difficulty = 1e-7;  // about one share per 430 hashes: a few per second on two cores
  std::string cache_dir;
};

std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) { interrupted = true; }

// Candidates cross from the device threads to the printing thread through this queue.
class CandidateQueue {
 public:
  void push(const Candidate& c) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(c);
    }
    ready_.notify_one();
  }
  // Everything queued, waiting up to `wait` for the first one.
  std::deque<Candidate> take(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, wait, [&] { return !queue_.empty(); });
    return std::exchange(queue_, {});
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Candidate> queue_;
};

struct Tally {
  std::uint64_t shares = 0;        // verified and meeting the full 256-bit target
  std::uint64_t above_target = 0;  // met the 64-bit boundary only: correctly not a share
  std::uint64_t invalid = 0;       // the device's mix hash or nonce did not verify
};

void verify(const LightCache& cache, const WorkItem& job, const Target& target, const Candidate& c, Tally& tally) {
  const HashResult r = hashimoto_light(cache, job.header, c.nonce);
  if (r.mix_hash != c.mix_hash) {
    ++tally.invalid;
    std::printf("INVALID nonce %s: the device's mix hash %s does not verify (expected %s)\n", to_hex_u64(c.nonce).c_str(),
                to_hex(c.mix_hash).c_str(), to_hex(r.mix_hash).c_str());
    return;
  }
  if (!meets_target(r.final_hash, target)) {
    ++tally.above_target;
    return;
  }
  ++tally.shares;
  std::printf("share  nonce %s  final %s  difficulty %.4g\n", to_hex_u64(c.nonce).c_str(), to_hex(r.final_hash).c_str(),
              difficulty_of(r.final_hash));
  std::fflush(stdout);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_demo(const DemoOptions& o) {
  const LightCacheStore store(o.cache_dir.empty() ? LightCacheStore::default_directory() : std::filesystem::path(o.cache_dir));
  std::printf("dagminer demo: mining a synthetic Ethash job on the CPU for %g s (no pool, no GPU)\n", o.seconds);

  const auto cache_start = std::chrono::steady_clock::now();
  const auto cache = store.get(Algorithm::ethash, 0);
  const char* how = cache.source == LightCacheStore::Source::loaded  ? "loaded from"
                    : cache.source == LightCacheStore::Source::built ? "built and stored in"
                                                                     : "rebuilt (the stored file was damaged) in";
  if (!cache.save_error.empty()) {
    std::fprintf(stderr, "dagminer: warning: light cache not stored (it is rebuilt next time): %s\n", cache.save_error.c_str());
    how = "built (not stored) for";
  }
  std::printf("light cache: ethash epoch 0, %zu bytes, %s %s in %.0f ms\n", cache.cache->bytes().size(), how,
              store.path_for(Algorithm::ethash, 0).c_str(), 1000 * seconds_since(cache_start));

  CpuSearchDevice device(o.threads);
  const DeviceInfo info = device.describe();
  const Target target = target_from_difficulty(o.difficulty);
  WorkItem job;
  job.tag = 1;
  job.light_cache = cache.cache;
  const std::string job_name = "dagminer demo job";
  job.header = keccak256({reinterpret_cast<const std::uint8_t*>(job_name.data()), job_name.size()});
  job.boundary = boundary64(target);
  job.nonce_start = 0;
  job.nonce_count = ~std::uint64_t{0};
  std::printf("device: %s, %s\n", info.id.c_str(), info.name.c_str());
  std::printf("job: header %s, difficulty %g (boundary %s)\n", to_hex(job.header).c_str(), o.difficulty,
              to_hex_u64(job.boundary).c_str());

  CandidateQueue queue;
  Tally tally;
  interrupted = false;
  const auto old_int = std::signal(SIGINT, on_interrupt);
  const auto old_term = std::signal(SIGTERM, on_interrupt);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(o.seconds));
  device.set_work({job});
  device.start({[&queue](const Candidate& c) { queue.push(c); }});
  while (!interrupted && std::chrono::steady_clock::now() < deadline)
    for (const Candidate& c : queue.take(std::chrono::milliseconds(100))) verify(*cache.cache, job, target, c, tally);
  device.stop();
  const double elapsed = seconds_since(start);
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  // Candidates delivered before stop() returned are verified too: none is dropped.
  for (const Candidate& c : queue.take(std::chrono::milliseconds(0))) verify(*cache.cache, job, target, c, tally);

  const DeviceCounters counters = device.counters();
  std::printf("summary: %llu hashes in %.1f s (%.1f H/s), %llu share%s", static_cast<unsigned long long>(counters.hashes),
              elapsed, static_cast<double>(counters.hashes) / elapsed, static_cast<unsigned long long>(tally.shares),
              tally.shares == 1 ? "" : "s");
  if (tally.above_target)
    std::printf(", %llu candidate%s above the full target (not shares)", static_cast<unsigned long long>(tally.above_target),
                tally.above_target == 1 ? "" : "s");
  if (tally.invalid) {
    std::printf(", %llu INVALID candidate%s\n", static_cast<unsigned long long>(tally.invalid), tally.invalid == 1 ? "" : "s");
    std::fprintf(stderr, "dagminer: error: the CPU backend delivered %llu candidate%s that did not verify\n",
                 static_cast<unsigned long long>(tally.invalid), tally.invalid == 1 ? "" : "s");
    return 1;
  }
  std::printf(", all verified with hashimoto over the light cache%s\n", interrupted ? " (interrupted)" : "");
  return 0;
}

}  // namespace

Runner add_demo_command(CLI::App& root) {
  auto o = std::make_shared<DemoOptions>();
  auto* cmd = root.add_subcommand("demo", "Mine a synthetic job on the CPU backend and verify every share (no pool, no GPU)");
  cmd->add_option("--seconds", o->seconds, "how long to mine")->capture_default_str()->check(decimal_range(0.1, 86400));
  cmd->add_option("--threads", o->threads, "CPU threads (0: all hardware threads)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1024u));
  cmd->add_option("--difficulty", o->difficulty, "share difficulty (1 = target 0x00000000ffff0000...)")
      ->capture_default_str()
      ->check(decimal_range(min_difficulty, 1e12));
  cmd->add_option("--cache-dir", o->cache_dir,
                  "light cache directory (default: " + LightCacheStore::default_directory().string() + ")");
  return [o] { return run_demo(*o); };
}

}  // namespace dagminer::cli
