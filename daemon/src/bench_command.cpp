// `dagminer bench`: builds an epoch's DAG on a GPU (or takes the CPU backend), checks sampled
// DAG items and every candidate found against core's CPU reference, and reports the sustained
// hashrate, with the card's power draw and the energy per hash where NVML reads them.
// Optionally replaces the job every few milliseconds to price job changes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include "commands.hpp"
#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/core/light_cache_store.hpp"
#include "dagminer/core/target.hpp"
#include "dagminer/gpu/gpu_device.hpp"

namespace dagminer::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string algo;
  int epoch = 0;
  std::string device;  // "cpu", a GPU index, or empty: the first GPU, else the CPU
  double seconds = 10;
  bool json = false;
  std::string cache_dir;
  gpu::GpuDeviceOptions gpu;
  unsigned cpu_threads = 0;
  double job_interval_ms = 0;  // 0: one job for the whole run
  std::uint32_t dag_samples = 64;
};

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Sink {
  std::mutex mutex;
  std::vector<Candidate> found;
  std::vector<std::pair<std::uint64_t, Clock::time_point>> started;  // (tag, first launch)
};

// The device's telemetry once a second over the timed run (the GPU's sampler reads NVML as often):
// the median power draw, the SM clock's range and every clock event reason seen.
class PowerWatch {
 public:
  struct Summary {
    double median_w = 0;
    std::size_t samples = 0;
    std::uint32_t sm_clock_min_mhz = 0, sm_clock_max_mhz = 0;
    std::uint64_t reasons = 0;  // ThrottleReason bits
  };

  explicit PowerWatch(const SearchDevice& device) : thread_([this, &device](std::stop_token stop) { run(device, stop); }) {}

  // Stops the sampling; nullopt when the device reported no power.
  std::optional<Summary> finish() {
    thread_.request_stop();
    thread_.join();
    if (watts_.empty()) return std::nullopt;
    Summary s;
    std::sort(watts_.begin(), watts_.end());
    s.median_w = watts_[watts_.size() / 2];
    s.samples = watts_.size();
    s.sm_clock_min_mhz = clock_min_, s.sm_clock_max_mhz = clock_max_, s.reasons = reasons_;
    return s;
  }

 private:
  void run(const SearchDevice& device, std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    for (;;) {
      (void)wake.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });  // wakes on stop
      if (stop.stop_requested()) return;
      const auto t = device.status().telemetry;
      if (!t || !t->power_w) continue;
      watts_.push_back(*t->power_w);
      if (t->sm_clock_mhz) {
        clock_min_ = clock_min_ ? std::min(clock_min_, *t->sm_clock_mhz) : *t->sm_clock_mhz;
        clock_max_ = std::max(clock_max_, *t->sm_clock_mhz);
      }
      reasons_ |= t->throttle_reasons.value_or(0);
    }
  }

  std::vector<double> watts_;  // written by the thread until finish() joins it
  std::uint32_t clock_min_ = 0, clock_max_ = 0;
  std::uint64_t reasons_ = 0;
  std::jthread thread_;
};

int run_bench(const BenchOptions& o) {
  const auto algo = parse_algorithm(o.algo);
  if (!algo) throw UsageError("--algo: expected ethash or etchash, got '" + o.algo + "'");

  // Which device: an explicit choice must exist; by default the first GPU, else the CPU.
  std::optional<int> gpu_index;
  std::string gpu_absent;
  if (o.device != "cpu") {
    const gpu::GpuListing listing = gpu::discover_gpus();
    if (!o.device.empty()) {
      try {
        gpu_index = std::stoi(o.device);
      } catch (const std::exception&) {
        throw UsageError("--device: expected cpu or a GPU index, got '" + o.device + "'");
      }
    } else if (!listing.devices.empty()) {
      gpu_index = 0;
    } else {
      gpu_absent = listing.error;
      std::fprintf(stderr, "dagminer: no GPU (%s): benchmarking the CPU backend\n", listing.error.c_str());
    }
  }

  LightCacheStore store(o.cache_dir.empty() ? LightCacheStore::default_directory() : std::filesystem::path(o.cache_dir));
  auto t = Clock::now();
  const auto got = store.get(*algo, o.epoch);
  const double light_s = since(t);
  if (!got.save_error.empty()) std::fprintf(stderr, "dagminer: warning: light cache not stored: %s\n", got.save_error.c_str());
  const auto cache = got.cache;

  std::unique_ptr<SearchDevice> device;
  gpu::GpuSearchDevice* gpu = nullptr;
  double prepare_s = 0, build_s = 0;
  std::uint64_t items_checked = 0, items_bad = 0;
  std::mt19937_64 rng(std::random_device{}());
  if (gpu_index) {
    auto g = gpu::open_gpu(*gpu_index, o.gpu);
    gpu = g.get();
    device = std::move(g);
    t = Clock::now();
    device->prepare(cache);
    prepare_s = since(t);
    build_s = gpu->memory_stats().last_dag_build_seconds;
    const auto items = static_cast<std::uint32_t>(cache->dataset_bytes / dataset_item_bytes);
    std::vector<std::uint32_t> indices{0, 1, items - 2, items - 1};
    while (indices.size() < std::max<std::uint32_t>(o.dag_samples, 4))
      indices.push_back(static_cast<std::uint32_t>(rng() % items));
    const auto read = gpu->read_dag_items(*cache, indices);
    for (std::size_t i = 0; i < indices.size(); ++i) {
      const Item64 want = dataset_item(cache->items, indices[i]);
      ++items_checked;
      if (std::memcmp(&want, &read[i], sizeof want) != 0) {
        ++items_bad;
        std::fprintf(stderr, "dagminer: DAG item %u differs from the CPU reference\n", indices[i]);
      }
    }
  } else {
    device = std::make_unique<CpuSearchDevice>(o.cpu_threads);
  }

  // About 20 candidates a second at full GPU speed; one hash in 64 on the CPU.
  const int boundary_shift = gpu ? 24 : 6;
  const std::uint64_t boundary = ~std::uint64_t{0} >> boundary_shift;
  std::vector<WorkItem> jobs;
  std::vector<Clock::time_point> set_at;  // by tag
  auto new_job = [&] {
    WorkItem w;
    w.tag = jobs.size();
    w.light_cache = cache;
    for (auto& b : w.header) b = static_cast<std::uint8_t>(rng());
    w.boundary = boundary;
    w.nonce_start = rng();
    w.nonce_count = ~std::uint64_t{0} - w.nonce_start;
    jobs.push_back(w);
    set_at.push_back(Clock::now());
    device->set_work({w});
  };

  Sink sink;
  new_job();
  device->start({[&](const Candidate& c) {
                   std::lock_guard lock(sink.mutex);
                   sink.found.push_back(c);
                 },
                 [&](std::uint64_t tag, Clock::time_point issued) {
                   std::lock_guard lock(sink.mutex);
                   sink.started.emplace_back(tag, issued);
                 }});
  std::this_thread::sleep_for(std::chrono::milliseconds(gpu ? 1000 : 200));  // warm up
  const DeviceCounters c0 = device->counters();
  const gpu::PipelineCounters p0 = gpu ? gpu->pipeline_counters() : gpu::PipelineCounters{};
  const std::uint64_t first_timed_job = jobs.size();
  const auto t0 = Clock::now();
  PowerWatch power(*device);
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  if (o.job_interval_ms > 0) {
    for (auto next = t0; Clock::now() < end;) {
      next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(o.job_interval_ms));
      std::this_thread::sleep_until(std::min(next, end));
      if (Clock::now() < end) new_job();
    }
  } else {
    std::this_thread::sleep_until(end);
  }
  const DeviceCounters c1 = device->counters();
  const gpu::PipelineCounters p1 = gpu ? gpu->pipeline_counters() : gpu::PipelineCounters{};
  const double elapsed = since(t0);
  const auto drawn = power.finish();
  device->stop();
  const std::string fault = gpu ? gpu->fault() : "";

  std::uint64_t verified = 0, bad = 0;
  for (const auto& c : sink.found) {
    if (c.tag >= jobs.size()) {
      ++bad;
      continue;
    }
    const WorkItem& w = jobs[c.tag];
    const HashResult r = hashimoto_light(*cache, w.header, c.nonce);
    if (r.mix_hash == c.mix_hash && hash_top64(r.final_hash) <= w.boundary) ++verified;
    else {
      ++bad;
      std::fprintf(stderr, "dagminer: candidate nonce %016llx of job %llu fails the CPU check\n",
                   static_cast<unsigned long long>(c.nonce), static_cast<unsigned long long>(c.tag));
    }
  }

  const DeviceInfo info = device->describe();
  const double hashes = static_cast<double>(c1.hashes - c0.hashes);
  const double mhs = hashes / elapsed / 1e6;
  boost::json::object out;
  out["device"] = info.id;
  out["name"] = info.name;
  out["algo"] = to_string(*algo);
  out["epoch"] = o.epoch;
  out["dag_bytes"] = cache->dataset_bytes;
  out["light_cache"] = got.source == LightCacheStore::Source::loaded ? "loaded" : "built";
  out["light_cache_seconds"] = light_s;
  out["seconds"] = elapsed;
  out["hashes"] = c1.hashes - c0.hashes;
  out["mhs"] = mhs;
  out["candidates"] = sink.found.size();
  out["candidates_verified"] = verified;
  out["candidates_bad"] = bad;
  out["candidates_dropped"] = c1.candidates_dropped;
  out["jobs"] = jobs.size();
  out["replaced_fraction"] = hashes > 0 ? static_cast<double>(c1.replaced_job_hashes - c0.replaced_job_hashes) / hashes : 0.0;
  // set_work to the first launch (or batch) of each job changed during the timed run, in ms
  std::vector<double> switch_ms;
  for (const auto& [tag, issued] : sink.started)
    if (tag >= first_timed_job && tag < set_at.size())
      switch_ms.push_back(std::chrono::duration<double, std::milli>(issued - set_at[tag]).count());
  std::sort(switch_ms.begin(), switch_ms.end());
  const auto quantile = [&](double q) {
    return switch_ms.empty() ? 0.0 : switch_ms[static_cast<std::size_t>(q * static_cast<double>(switch_ms.size() - 1))];
  };
  out["job_switches"] = switch_ms.size();
  out["switch_ms_p50"] = quantile(0.5);
  out["switch_ms_p99"] = quantile(0.99);
  out["switch_ms_max"] = quantile(1.0);
  std::string reasons;
  if (drawn) {
    out["power_w"] = drawn->median_w;
    out["power_samples"] = drawn->samples;
    if (mhs > 0) out["uj_per_hash"] = drawn->median_w / mhs;  // W / (MH/s) = µJ per hash
    if (drawn->sm_clock_max_mhz) {
      out["sm_clock_min_mhz"] = drawn->sm_clock_min_mhz;
      out["sm_clock_max_mhz"] = drawn->sm_clock_max_mhz;
    }
    boost::json::array words;
    for (const auto w : throttle_reason_names(drawn->reasons)) {
      words.emplace_back(w);
      reasons += (reasons.empty() ? "" : ",") + std::string(w);
    }
    out["clock_event_reasons"] = std::move(words);
  }
  if (!gpu_absent.empty()) out["gpu_absent"] = gpu_absent;
  if (gpu) {
    out["dag_build_seconds"] = build_s;
    out["prepare_seconds"] = prepare_s;
    out["dag_items_checked"] = items_checked;
    out["dag_items_bad"] = items_bad;
    out["launch_hashes"] = o.gpu.shape.launch_hashes;
    out["streams"] = o.gpu.shape.streams;
    out["block_threads"] = o.gpu.shape.block_threads;
    out["max_registers"] = o.gpu.shape.max_registers;
    out["launches"] = p1.launches - p0.launches;
    out["launch_ms"] = elapsed * 1e3 / static_cast<double>(std::max<std::uint64_t>(1, p1.launches - p0.launches)) *
                       static_cast<double>(o.gpu.shape.streams);
    const MemoryStats m = gpu->memory_stats();
    out["transfers"] = m.transfers;
    out["bytes_to_device"] = m.bytes_to_device;
    out["bytes_to_host"] = m.bytes_to_host;
    if (!fault.empty()) out["fault"] = fault;
  }
  if (o.json) {
    std::printf("%s\n", boost::json::serialize(out).c_str());
  } else {
    std::printf("device      %s (%s)\n", info.id.c_str(), info.name.c_str());
    std::printf("epoch       %s %d, DAG %.3f GB, light cache %s in %.2f s\n", std::string(to_string(*algo)).c_str(), o.epoch,
                static_cast<double>(cache->dataset_bytes) / 1e9,
                got.source == LightCacheStore::Source::loaded ? "loaded" : "built", light_s);
    if (gpu)
      std::printf("DAG build   %.3f s (prepare %.3f s); %llu sampled items checked, %llu bad\n", build_s, prepare_s,
                  static_cast<unsigned long long>(items_checked), static_cast<unsigned long long>(items_bad));
    std::printf("hashrate    %.4g MH/s over %.1f s (%.0f hashes, %zu jobs)\n", mhs, elapsed, hashes, jobs.size());
    std::printf("candidates  %zu found, %llu verified, %llu bad, %llu dropped\n", sink.found.size(),
                static_cast<unsigned long long>(verified), static_cast<unsigned long long>(bad),
                static_cast<unsigned long long>(c1.candidates_dropped));
    if (gpu) std::printf("pipeline    %s\n", gpu::to_string(o.gpu.shape).c_str());
    if (drawn)
      std::printf("power       %.0f W (median of %zu readings), %.3f uJ/hash, SM %u-%u MHz, clock event reasons: %s\n",
                  drawn->median_w, drawn->samples, mhs > 0 ? drawn->median_w / mhs : 0.0, drawn->sm_clock_min_mhz,
                  drawn->sm_clock_max_mhz, reasons.empty() ? "none" : reasons.c_str());
    std::printf(
        "job changes %zu; set_work to first launch p50 %.3f ms, p99 %.3f ms, max %.3f ms; %.4f%% of hashes on replaced jobs\n",
        switch_ms.size(), quantile(0.5), quantile(0.99), quantile(1.0), out["replaced_fraction"].as_double() * 100);
    if (!fault.empty()) std::printf("fault       %s\n", fault.c_str());
  }
  // No candidate where dozens were expected means the search reports nothing: a failure too.
  const bool none_found = sink.found.empty() && static_cast<double>(c1.hashes) / std::ldexp(1.0, boundary_shift) > 30;
  if (none_found)
    std::fprintf(stderr, "dagminer: no candidate found in %llu hashes\n", static_cast<unsigned long long>(c1.hashes));
  return (bad || items_bad || !fault.empty() || none_found) ? 1 : 0;
}

}  // namespace

Runner add_bench_command(CLI::App& root) {
  auto o = std::make_shared<BenchOptions>();
  auto* cmd = root.add_subcommand("bench", "Build an epoch's DAG, verify it and measure the sustained hashrate");
  cmd->add_option("--algo", o->algo, "ethash or etchash")->required();
  cmd->add_option("--epoch", o->epoch, "DAG epoch")->required()->check(CLI::Range(0, max_epoch));
  cmd->add_option("--device", o->device, "cpu, or a GPU index (default: GPU 0 if present, else the CPU)");
  cmd->add_option("--seconds", o->seconds, "measured time, after a warm-up (default 10)")->check(decimal_range(0.1, 86400));
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->add_option("--cache-dir", o->cache_dir,
                  "light cache directory (default: " + LightCacheStore::default_directory().string() + ")");
  cmd->add_option("--launch-hashes", o->gpu.shape.launch_hashes, "GPU: nonces per launch")
      ->check(CLI::Range(1u, gpu::max_launch_hashes));
  cmd->add_option("--streams", o->gpu.shape.streams, "GPU: launches in flight")->check(CLI::Range(1, 16));
  cmd->add_option("--block", o->gpu.shape.block_threads, "GPU: threads per block (32..256, multiple of 32)")
      ->check(CLI::Range(32, 256));
  cmd->add_option("--registers", o->gpu.shape.max_registers, "GPU: the search kernel build by registers per thread")
      ->check(CLI::IsMember({128, 96, 80, 72, 64}));
  cmd->add_option("--threads", o->cpu_threads, "CPU: worker threads (default: all)")->check(CLI::Range(0u, 4096u));
  cmd->add_option("--job-interval-ms", o->job_interval_ms, "replace the job this often (measures job-change cost)")
      ->check(decimal_range(0, 3.6e6));
  cmd->add_option("--dag-samples", o->dag_samples, "GPU: DAG items checked against the CPU (first, last, random)")
      ->check(CLI::Range(4u, 1u << 20));
  return [o] { return run_bench(*o); };
}

}  // namespace dagminer::cli
