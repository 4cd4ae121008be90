// The search kernel's launch shape and its online tuning (plain C++, testable without a GPU).
// A card tries candidate shapes on the work it mines anyway (every launch searches the current
// job, so nothing is lost and mining never pauses), keeps the fastest, and stores it in the light
// cache directory under a key naming the card, its driver, the kernel's version and the DAG size,
// so later starts on the same card use it at once. A shape the configuration pins overrides both.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dagminer::gpu {

// The most nonces one launch may take: a launch must end well within the device's launch
// deadline (10 s, after which it counts as hung) on the slowest card that holds a live DAG;
// 2^26 take 6.7 s at 10 MH/s, 0.12 s on an H200.
constexpr std::uint32_t max_launch_hashes = 1u << 26;

// The search kernel's builds, by the registers a thread may use.
constexpr int search_register_caps[] = {128, 96, 80, 72, 64};

struct LaunchShape {
  int block_threads = 128;  // a multiple of 32, at most 256
  // The kernel build: 128, 96, 80, 72 or 64 registers (fewer: more warps per SM, so more DAG
  // pages in flight). 96 (20 warps of 128-thread blocks) matches 128 (16) in rate on an H100, at
  // up to 0.7% more energy a hash, and keeps a quarter more pages in flight for cards that need
  // more, such as a power-capped H200 (bench/gpu-notes.md, "warps per SM"); the tuner decides.
  int max_registers = 96;
  std::uint32_t launch_hashes = 1u << 23;  // nonces per launch: fewer wakeups vs sooner shares (ShapeTrials)
  int streams = 3;                         // launches in flight
  bool operator==(const LaunchShape&) const = default;
};
// "block=128 registers=96 launch=2097152 streams=3"
std::string to_string(const LaunchShape& shape);
// Throws std::invalid_argument naming the field for a shape the search device cannot run.
void validate(const LaunchShape& shape);

// The search kernel's version: bump it whenever the kernel changes, so shapes tuned for an
// older kernel are tuned again.
constexpr int search_kernel_version = 4;

// What a tuned shape depends on.
struct TuneKey {
  std::string gpu_model;
  int sm_count = 0;
  std::uint64_t memory_bytes = 0;
  std::optional<std::uint32_t> power_limit_watts;  // left out of the key when unknown
  int driver_version = 0;
  int kernel_version = search_kernel_version;
  std::uint64_t dag_bytes = 0;
  // One line, no tabs: the stored form.
  std::string text() const;
};

// The shapes tried by default (13), the default shape first: every register build at the
// default block, launch and streams; blocks of 64 and 256 with the default registers and 80;
// launches of half and twice the default; 2 and 4 streams.
std::vector<LaunchShape> default_tuning_candidates();

struct ShapeTrial {
  LaunchShape shape;
  std::vector<double> mhs;  // one per round, in the order measured
  double mean_mhs() const;
};

// The online tuner's policy. Each candidate runs for `trial_seconds` per round, `rounds` rounds
// in turn (A B C A B C), so a drift of the card's clock or temperature is spread over all of them.
// A trial starts at the completion of its shape's `streams`-th launch and counts the hashes of
// the launches of its shape completed after. The first ones were launched while the shape
// before still ran, or while the GPU idled on a kernel's first load: they run side by side and
// complete close together, so that counting them would overstate the rate (by 2% in 1 s trials
// on an H100). From there on, every launch in flight was launched in the trial's steady state.
// A trial interrupted by an idle GPU starts again after it (idle_gap_factor).
class ShapeTrials {
 public:
  ShapeTrials(std::vector<LaunchShape> candidates, double trial_seconds, int rounds);

  // The shape the next launch takes.
  const LaunchShape& current() const;
  // A launch of `shape` completed at `seconds` (any steady clock) having searched `hashes`.
  void completed(const LaunchShape& shape, std::uint64_t hashes, double seconds);
  bool finished() const { return next_ >= order_.size(); }
  // Of the candidates within tie_fraction of the highest mean rate, the first (the list starts
  // with the default shape, which a candidate must beat by more than the trials' noise); the
  // first candidate until one has been measured.
  const LaunchShape& best() const;
  // Rates this close are equal: trials of 1-2 s do not tell them apart (launches of 2^22 to 2^24
  // hashes measure within 0.1% of each other). Among such equals the launch size is a trade the
  // rate does not show: a larger launch wakes the host fewer times a second, a smaller one
  // hands its shares over sooner (a share waits for its launch to end; one found then is stale
  // if the pool has moved on). The default's 2^23 strikes that balance (bench/gpu-notes.md).
  static constexpr double tie_fraction = 0.003;
  // A trial whose next completion comes this many times its mean interval after the last one,
  // and at least this fraction of the trial time, starts again: the GPU had no work in between
  // (a pool reconnecting, its nonces spent), and an idle second in a 2 s trial would cost that
  // shape its place. A job change's refill takes about one launch, `streams` intervals (at most 4
  // of the candidates'); the fraction keeps a host's hiccup between tiny launches from counting.
  // A trial starts again at most max_idle_restarts times, so that tuning always ends.
  static constexpr double idle_gap_factor = 8;
  static constexpr double idle_gap_fraction = 0.05;
  static constexpr int max_idle_restarts = 3;
  const std::vector<ShapeTrial>& trials() const { return trials_; }

 private:
  std::vector<ShapeTrial> trials_;
  std::vector<std::size_t> order_;  // candidate index of each trial, round after round
  std::size_t next_ = 0;            // the trial running
  double trial_seconds_;
  int warm_up_ = 0;                // completions of the running trial's shape before it starts
  std::optional<double> started_;  // the completion that started it
  double last_ = 0;                // the latest completion counted (or the start)
  int counted_ = 0;                // completions counted since the start
  int restarts_ = 0;               // of the running trial, after idle gaps
  std::uint64_t hashes_ = 0;       // their hashes
};

// Tuned shapes in the light cache directory, one line per key (tuned-launch-shapes.txt).
class TunedShapeStore {
 public:
  explicit TunedShapeStore(std::filesystem::path directory);
  // The key's shape; nullopt if none is stored. Throws std::runtime_error naming the file (and
  // line) if it cannot be read or the key's line is not a valid shape.
  std::optional<LaunchShape> find(const TuneKey& key) const;
  // Replaces the key's line, writing the file anew (a temporary, synced, then a rename) under an
  // exclusive lock on tuned-launch-shapes.txt.lock, so that savers in other threads and processes
  // keep each other's lines; throws std::runtime_error naming the file if it cannot be read or
  // written.
  void save(const TuneKey& key, const LaunchShape& shape) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// "block=128 registers=96 launch=2097152 streams=3" back to a shape; nullopt if malformed.
std::optional<LaunchShape> parse_launch_shape(std::string_view text);

}  // namespace dagminer::gpu
