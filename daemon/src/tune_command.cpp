// `dagminer tune`: tunes one GPU's launch shape for an epoch's DAG as the daemon does online
// (each candidate shape mines a job in turn; launch_tuning.hpp), verifies every candidate found
// against core's CPU reference, prints the table and stores the winner in the light cache
// directory, where `dagminer run` finds it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "commands.hpp"
#include "dagminer/core/light_cache_store.hpp"
#include "dagminer/core/target.hpp"
#include "dagminer/gpu/gpu_device.hpp"

namespace dagminer::cli {
namespace {

struct TuneOptions {
  std::string algo;
  int epoch = 0;
  int device = 0;
  std::string cache_dir;
  double trial_seconds = 2;
  int rounds = 2;
};

int run_tune(const TuneOptions& o) {
  const auto algo = parse_algorithm(o.algo);
  if (!algo) throw UsageError("--algo: expected ethash or etchash, got '" + o.algo + "'");
  const std::filesystem::path dir =
      o.cache_dir.empty() ? LightCacheStore::default_directory() : std::filesystem::path(o.cache_dir);
  const auto cache = LightCacheStore(dir).get(*algo, o.epoch).cache;

  gpu::GpuDeviceOptions options;
  options.tuning = gpu::LaunchTuning{dir, true, gpu::default_tuning_candidates(), o.trial_seconds, o.rounds};
  auto device = gpu::open_gpu(o.device, options);
  device->prepare(cache);

  std::mt19937_64 rng(std::random_device{}());
  WorkItem w;
  w.light_cache = cache;
  for (auto& b : w.header) b = static_cast<std::uint8_t>(rng());
  w.boundary = ~std::uint64_t{0} >> 24;  // about 20 candidates a second at full speed
  w.nonce_start = rng();
  w.nonce_count = ~std::uint64_t{0} - w.nonce_start;
  std::mutex mutex;
  std::vector<Candidate> found;
  device->set_work({w});
  device->start({[&](const Candidate& c) {
    std::lock_guard lock(mutex);
    found.push_back(c);
  }});
  const auto limit =
      std::chrono::steady_clock::now() +
      std::chrono::duration<double>(o.trial_seconds * o.rounds * 4 * static_cast<double>(options.tuning->candidates.size()) + 60);
  gpu::TuningReport report = device->tuning();
  while (report.state != gpu::TuningReport::State::tuned && device->fault().empty() && std::chrono::steady_clock::now() < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    report = device->tuning();
  }
  device->stop();
  report = device->tuning();  // the worker stores the shape after it reports tuned: read what it stored, now it has stopped
  if (const std::string fault = device->fault(); !fault.empty()) {
    std::fprintf(stderr, "dagminer: GPU %d: %s\n", o.device, fault.c_str());
    return 1;
  }
  if (report.state != gpu::TuningReport::State::tuned) {
    std::fprintf(stderr, "dagminer: GPU %d: tuning did not finish in time\n", o.device);
    return 1;
  }
  std::size_t bad = 0;
  for (const auto& c : found) {
    const HashResult r = hashimoto_light(*cache, w.header, c.nonce);
    if (r.mix_hash != c.mix_hash || hash_top64(r.final_hash) > w.boundary) ++bad;
  }

  std::printf("key  %s\n", report.key.c_str());
  std::printf("%-50s %s\n", "shape", "MH/s by round, mean");
  for (const auto& t : report.trials) {
    std::printf("%-50s", gpu::to_string(t.shape).c_str());
    for (double m : t.mhs) std::printf(" %7.1f", m);
    std::printf("  %7.1f%s\n", t.mean_mhs(), t.shape == report.shape ? "  <- best" : "");
  }
  std::printf("candidates %zu found, %zu bad\n", found.size(), bad);
  if (!report.store_error.empty()) {
    std::fprintf(stderr, "dagminer: the tuned shape was not stored: %s\n", report.store_error.c_str());
    return 1;
  }
  std::printf("stored in %s\n", gpu::TunedShapeStore(dir).path().c_str());
  return bad ? 1 : 0;
}

}  // namespace

Runner add_tune_command(CLI::App& root) {
  auto o = std::make_shared<TuneOptions>();
  auto* cmd = root.add_subcommand("tune", "Tune a GPU's launch shape for an epoch's DAG on mined work, print and store it");
  cmd->add_option("--algo", o->algo, "ethash or etchash")->required();
  cmd->add_option("--epoch", o->epoch, "DAG epoch")->required()->check(CLI::Range(0, max_epoch));
  cmd->add_option("--device", o->device, "GPU index (default 0)")->check(CLI::NonNegativeNumber);
  cmd->add_option(
      "--cache-dir", o->cache_dir,
      "light cache directory, where the tuned shape is stored (default: " + LightCacheStore::default_directory().string() + ")");
  cmd->add_option("--trial-seconds", o->trial_seconds, "seconds per candidate shape and round (default 2)")
      ->check(decimal_range(0.1, 600));
  cmd->add_option("--rounds", o->rounds, "rounds over the candidates (default 2)")->check(CLI::Range(1, 10));
  return [o] { return run_tune(*o); };
}

}  // namespace dagminer::cli
