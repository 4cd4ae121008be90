// The launch tuner's policy without a GPU: which shape each launch takes, how trials are timed
// and scored, the store's key and file, and shape parsing.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dagminer/gpu/launch_tuning.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer::gpu {
namespace {

LaunchShape with_registers(int registers) {
  LaunchShape s;
  s.max_registers = registers;
  return s;
}

// The completions of a trial's shape before it starts: `streams` of them, the last at `seconds`.
void warm_up(ShapeTrials& t, const LaunchShape& shape, double seconds) {
  for (int i = 0; i < shape.streams; ++i) t.completed(shape, 123456, seconds);
}

// The tie rule keeps the first candidate, so the list must start with the default shape; every
// register build is tried, and no shape twice.
TEST(DefaultTuningCandidates, StartWithTheDefaultShapeAndTryEveryBuildOnce) {
  const std::vector<LaunchShape> c = default_tuning_candidates();
  ASSERT_EQ(c.size(), 13u);
  EXPECT_EQ(c.front(), LaunchShape{});
  for (int registers : search_register_caps)
    EXPECT_NE(std::find(c.begin(), c.end(), with_registers(registers)), c.end()) << registers << " registers";
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_NO_THROW(validate(c[i])) << to_string(c[i]);
    for (std::size_t j = i + 1; j < c.size(); ++j) EXPECT_NE(c[i], c[j]) << to_string(c[i]) << " twice";
  }
}

TEST(ShapeTrials, RunsEachCandidateInTurnAndKeepsTheFastest) {
  const LaunchShape a = with_registers(128), b = with_registers(96), c = with_registers(80);
  ShapeTrials t({a, b, c}, 1.0, 2);
  double now = 0;
  // Each trial: the warm-up's last completion starts the clock, then 1 s of completions at the given rate.
  auto run = [&](const LaunchShape& s, double mhs) {
    ASSERT_EQ(t.current(), s);
    warm_up(t, s, now);
    for (int i = 0; i < 4; ++i) {
      now += 0.25;
      t.completed(s, static_cast<std::uint64_t>(mhs * 1e6 * 0.25), now);
    }
  };
  run(a, 400);
  run(b, 500);
  run(c, 450);
  EXPECT_FALSE(t.finished());
  run(a, 410);
  run(b, 480);
  run(c, 520);
  ASSERT_TRUE(t.finished());
  EXPECT_DOUBLE_EQ(t.trials()[0].mean_mhs(), 405);
  EXPECT_DOUBLE_EQ(t.trials()[1].mean_mhs(), 490);
  EXPECT_DOUBLE_EQ(t.trials()[2].mean_mhs(), 485);
  EXPECT_EQ(t.best(), b);
  EXPECT_EQ(t.current(), b);  // after tuning, every launch takes the best
}

// Two candidates, 1 s trials, one round; the first trial's warm-up done at time 0.
class OneSecondTrials : public ::testing::Test {
 protected:
  const LaunchShape a = with_registers(128), b = with_registers(96);
  ShapeTrials t{{a, b}, 1.0, 1};
  double now = 0;
  static constexpr std::uint64_t per_launch = 12'500'000;  // every 0.125 s: 100 MH/s
  void SetUp() override { warm_up(t, a, now); }
};

// The pools went quiet for 5 s in the middle of a trial: counted, that shape would measure a
// fraction of its rate and lose its place. The trial starts again (a new warm-up) after the gap.
TEST_F(OneSecondTrials, AnIdleGapStartsTheTrialAgain) {
  for (int i = 0; i < 3; ++i) t.completed(a, per_launch, now += 0.125);
  now += 5;                                                              // no work
  for (int i = 0; i < 3; ++i) t.completed(a, per_launch, now += 0.125);  // the refill: a new warm-up
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(t.current(), a) << "completion " << i;
    t.completed(a, per_launch, now += 0.125);
  }
  ASSERT_EQ(t.current(), b);
  EXPECT_DOUBLE_EQ(t.trials()[0].mhs.at(0), 100);
}

// Idle gaps in every stretch of work: the trial starts again at most max_idle_restarts times,
// then counts the gaps, so that tuning ends.
TEST_F(OneSecondTrials, ATrialStartsAgainAtMostThreeTimes) {
  int completions = 0;
  while (t.current() == a && completions < 1000) {
    for (int i = 0; i < 5; ++i, ++completions) t.completed(a, per_launch, now += 0.125);
    now += 2;
  }
  ASSERT_EQ(t.current(), b);
  EXPECT_EQ(completions, 4 * 5 + 5);  // three restarts, then one stretch that ends the trial
}

// Between tiny launches a host's hiccup is many intervals long, but short against the trial.
TEST_F(OneSecondTrials, AGapShortAgainstTheTrialIsNotIdleness) {
  int counted = 0;
  for (; counted < 4; ++counted) t.completed(a, per_launch, now += 1.0 / 256);
  t.completed(a, per_launch, now += 3.0 / 64);  // 12 intervals, but under a twentieth of the trial
  for (++counted; t.current() == a && counted < 1000; ++counted) t.completed(a, per_launch, now += 1.0 / 256);
  ASSERT_EQ(t.current(), b);
  EXPECT_DOUBLE_EQ(now, 1.0);  // timed from its first start
  EXPECT_DOUBLE_EQ(t.trials()[0].mhs.at(0), counted * 12.5);
}

// A job change's refill (about one launch, `streams` intervals) is not idleness: the trial goes
// on through it.
TEST_F(OneSecondTrials, ARefillAfterAJobChangeIsPartOfTheTrial) {
  for (int i = 0; i < 4; ++i) t.completed(a, per_launch, now += 0.125);
  t.completed(a, per_launch, now += 0.375);
  t.completed(a, per_launch, now += 0.125);
  ASSERT_EQ(t.current(), b);
  EXPECT_DOUBLE_EQ(t.trials()[0].mhs.at(0), 75);  // 6 launches in 1 s, the refill's time counted
}

TEST(ShapeTrials, IgnoresCompletionsOfOtherShapes) {
  const LaunchShape a = with_registers(128), b = with_registers(96);
  ShapeTrials t({a, b}, 1.0, 1);
  warm_up(t, a, 0.0);
  t.completed(a, 1'000'000, 0.5);
  t.completed(b, 50'000'000, 0.7);  // a launch of another shape, still draining: no effect
  t.completed(a, 1'000'000, 1.0);
  ASSERT_EQ(t.current(), b);
  EXPECT_DOUBLE_EQ(t.trials()[0].mhs.at(0), 2.0);
  t.completed(a, 99'000'000, 1.1);  // a's last launches complete during b's trial: not b's
  warm_up(t, b, 1.2);
  t.completed(b, 3'000'000, 2.2);
  EXPECT_TRUE(t.finished());
  EXPECT_DOUBLE_EQ(t.trials()[1].mhs.at(0), 3.0);
  EXPECT_EQ(t.best(), b);
}

// The first `streams` launches of a trial's shape were launched beside the shape before (or on a
// GPU idle while the kernel loaded) and may complete together: the trial starts after them.
TEST(ShapeTrials, StartsOnceEveryLaunchInFlightIsTheTrialsOwn) {
  LaunchShape a, b;
  a.streams = 2;
  b.max_registers = 96;
  ShapeTrials t({a, b}, 1.0, 1);
  t.completed(a, 8'000'000, 0.4990234375);  // side by side: completed 1 ms apart
  t.completed(a, 8'000'000, 0.5);           // the clock starts
  t.completed(a, 4'000'000, 1.0);
  t.completed(a, 4'000'000, 1.5);
  ASSERT_EQ(t.current(), b);
  EXPECT_DOUBLE_EQ(t.trials()[0].mhs.at(0), 8.0);
  t.completed(b, 8'000'000, 2.0);
  t.completed(b, 8'000'000, 2.0);
  EXPECT_EQ(t.current(), b);  // b has three streams: its third completion starts its trial
  t.completed(b, 8'000'000, 2.0);
  t.completed(b, 9'000'000, 3.0);
  EXPECT_TRUE(t.finished());
  EXPECT_DOUBLE_EQ(t.trials()[1].mhs.at(0), 9.0);
}

// Completions are told in launch order but may have ended out of it (a cancelled launch ends
// early): one that ended before the trial's start is not the trial's.
TEST(ShapeTrials, ALaunchThatEndedBeforeTheStartIsNotCounted) {
  LaunchShape a, b;
  a.streams = 1;
  b.max_registers = 96;
  ShapeTrials t({a, b}, 1.0, 1);
  t.completed(a, 1, 0.5);          // starts the clock
  t.completed(a, 8'000'000, 0.4);  // ended before it, told after
  t.completed(a, 4'000'000, 1.5);
  ASSERT_EQ(t.current(), b);
  EXPECT_DOUBLE_EQ(t.trials()[0].mhs.at(0), 4.0);
}

// Rates within 0.3% are equal, and the earlier candidate wins among them: the default shape,
// first in the list, stays unless another beats it by more than the noise.
TEST(ShapeTrials, RatesWithinTheTieFractionKeepTheEarlierCandidate) {
  const LaunchShape preset;
  LaunchShape small = preset, large = preset, faster = preset;
  small.launch_hashes = 1u << 22;
  large.launch_hashes = 1u << 24;
  faster.max_registers = 96;
  auto trials = [&](double preset_mhs, double small_mhs, double large_mhs, double faster_mhs) {
    ShapeTrials t({preset, small, large, faster}, 1.0, 1);
    for (const auto& [shape, mhs] :
         {std::pair{preset, preset_mhs}, {small, small_mhs}, {large, large_mhs}, {faster, faster_mhs}}) {
      warm_up(t, shape, 0.0);
      t.completed(shape, static_cast<std::uint64_t>(mhs * 1e6), 1.0);
    }
    EXPECT_TRUE(t.finished());
    return t.best();
  };
  EXPECT_EQ(trials(500, 501, 501.4, 480), preset);  // 0.28% below the fastest: equal, and first
  EXPECT_EQ(trials(500, 498, 502, 480), large);     // the default 0.4% below: slower
  EXPECT_EQ(trials(480, 470, 500, 500), large);     // two equals: the earlier
  EXPECT_EQ(trials(480, 470, 490, 520), faster);    // a clear winner
}

TEST(ShapeTrials, RefusesBadSettings) {
  EXPECT_THROW(ShapeTrials({}, 1.0, 1), std::invalid_argument);
  EXPECT_THROW(ShapeTrials({LaunchShape{}}, 0.0, 1), std::invalid_argument);
  EXPECT_THROW(ShapeTrials({LaunchShape{}}, 1.0, 0), std::invalid_argument);
  EXPECT_THROW(ShapeTrials({with_registers(100)}, 1.0, 1), std::invalid_argument);
}

// A launch longer than the device's deadline would be taken for a hung GPU: the size is capped,
// and the error names the limit.
TEST(LaunchShape, RefusesALaunchTooLargeForTheDeadline) {
  LaunchShape s;
  s.launch_hashes = max_launch_hashes;
  EXPECT_NO_THROW(validate(s));
  s.launch_hashes = max_launch_hashes + 1;
  EXPECT_THROW(
      {
        try {
          validate(s);
        } catch (const std::invalid_argument& e) {
          EXPECT_STREQ(e.what(), "GPU launch size must be 1..67108864 hashes, got 67108865");
          throw;
        }
      },
      std::invalid_argument);
  EXPECT_EQ(parse_launch_shape("block=128 registers=96 launch=67108865 streams=3"), std::nullopt);
}

TEST(LaunchShape, ParsesWhatItPrints) {
  LaunchShape s;
  s.block_threads = 64;
  s.max_registers = 72;
  s.launch_hashes = 1u << 20;
  s.streams = 2;
  EXPECT_EQ(to_string(s), "block=64 registers=72 launch=1048576 streams=2");
  EXPECT_EQ(parse_launch_shape(to_string(s)), s);
  EXPECT_EQ(parse_launch_shape("streams=2 launch=1048576 registers=72 block=64"), s);
  for (const char* bad :
       {"", "block=64 registers=72 launch=1048576", "block=64 registers=72 launch=1048576 streams=2 streams=2",
        "block=48 registers=72 launch=1048576 streams=2", "block=64 registers=70 launch=1048576 streams=2",
        "block=64 registers=72 launch=0 streams=2", "block=64 registers=72 launch=1048576 streams=17",
        "block=64 registers=72 launch=1e6 streams=2", "block=64 registers=72 launch=1048576 streams=2 colour=red",
        "block=-64 registers=72 launch=1048576 streams=2"})
    EXPECT_EQ(parse_launch_shape(bad), std::nullopt) << bad;
}

TEST(TuneKey, NamesEveryPartAndLeavesOutAnUnknownPowerLimit) {
  TuneKey k{"NVIDIA H200", 132, 150'000'000'000, std::nullopt, 13000, search_kernel_version, 4'689'231'488};
  EXPECT_EQ(k.text(), "model=NVIDIA H200 sms=132 memory=150000000000 driver=13000 kernel=" +
                          std::to_string(search_kernel_version) + " dag=4689231488");
  k.power_limit_watts = 700;
  EXPECT_EQ(k.text(), "model=NVIDIA H200 sms=132 memory=150000000000 power_limit=700W driver=13000 kernel=" +
                          std::to_string(search_kernel_version) + " dag=4689231488");
  k.gpu_model = "odd\tname";
  EXPECT_EQ(k.text().find('\t'), std::string::npos);  // the store's separator
}

TEST(TunedShapeStore, KeepsOneShapePerKey) {
  const test::TempDir dir;
  const TunedShapeStore store(dir.path());
  TuneKey h200{"NVIDIA H200", 132, 150'000'000'000, std::nullopt, 13000, search_kernel_version, 4'689'231'488};
  TuneKey next_epoch = h200, new_kernel = h200, other_card = h200;
  next_epoch.dag_bytes += 8 << 20;
  new_kernel.kernel_version += 1;
  other_card.gpu_model = "NVIDIA H100 80GB HBM3";
  EXPECT_EQ(store.find(h200), std::nullopt);  // no file yet

  store.save(h200, with_registers(80));
  store.save(next_epoch, with_registers(72));
  EXPECT_EQ(store.find(h200), with_registers(80));
  EXPECT_EQ(store.find(next_epoch), with_registers(72));
  EXPECT_EQ(store.find(new_kernel), std::nullopt);  // tuned again when the kernel changes
  EXPECT_EQ(store.find(other_card), std::nullopt);

  store.save(h200, with_registers(64));  // replaced, not appended
  EXPECT_EQ(store.find(h200), with_registers(64));
  std::ifstream in(store.path());
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  EXPECT_EQ(lines, 2);
}

// A key's line that is not a shape is an error naming the file and line (the device reports it
// and tunes again); the save replaces it and keeps the other lines as they are.
TEST(TunedShapeStore, AMalformedLineIsNamedAndReplaced) {
  const test::TempDir dir;
  const TunedShapeStore store(dir.path());
  const TuneKey k{"NVIDIA H200", 132, 1, std::nullopt, 13000, search_kernel_version, 2};
  std::ofstream(store.path()) << "other\tblock=64\n\n" << k.text() << "\tblock=64 registers=72\n";
  try {
    (void)store.find(k);
    ADD_FAILURE() << "a malformed line was taken";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), store.path().string() +
                                         " line 3: not a launch shape: 'block=64 registers=72' (the card tunes again and "
                                         "replaces it)");
  }
  store.save(k, with_registers(96));
  EXPECT_EQ(store.find(k), with_registers(96));
  std::ifstream in(store.path());
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "other\tblock=64");
}

// Each card's worker saves from its own thread, and `dagminer tune` may run beside the daemon:
// saves that overlap must keep every key (unlocked, two writers shared one temporary file, and
// keys went missing or the rename failed).
TEST(TunedShapeStore, OverlappingSavesKeepEveryKey) {
  const test::TempDir dir;
  constexpr int savers = 8, saves = 25;
  std::vector<std::jthread> threads;
  std::atomic<int> errors = 0;
  for (int t = 0; t < savers; ++t)
    threads.emplace_back([&, t] {
      const TunedShapeStore store(dir.path());  // a store of its own, as each device makes one
      const TuneKey key{"card " + std::to_string(t), 132, 1, std::nullopt, 13000, search_kernel_version, 2};
      for (int i = 0; i < saves; ++i) {
        try {
          store.save(key, with_registers(search_register_caps[i % 5]));
        } catch (const std::exception&) {
          ++errors;
        }
      }
    });
  threads.clear();  // joined
  EXPECT_EQ(errors, 0);
  const TunedShapeStore store(dir.path());
  for (int t = 0; t < savers; ++t) {
    const TuneKey key{"card " + std::to_string(t), 132, 1, std::nullopt, 13000, search_kernel_version, 2};
    EXPECT_EQ(store.find(key), with_registers(search_register_caps[(saves - 1) % 5])) << "card " << t;
  }
  std::ifstream in(store.path());
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  EXPECT_EQ(lines, savers);
}

TEST(TunedShapeStore, AnUnwritableDirectoryIsAnError) {
  const test::TempDir dir;
  std::ofstream(dir.path() / "file") << "x";
  const TunedShapeStore store(dir.path() / "file");  // a file where the directory should be
  EXPECT_THROW(store.save(TuneKey{}, LaunchShape{}), std::runtime_error);
}

}  // namespace
}  // namespace dagminer::gpu
