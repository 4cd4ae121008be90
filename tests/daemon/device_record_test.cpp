// One device as the engine drives it: work given only when it changes, rate, stalls, epochs.
#include <gtest/gtest.h>

#include "captured_log.hpp"
#include "dagminer/daemon/device_record.hpp"

namespace dagminer {
namespace {

using namespace std::chrono_literals;

// Counts work updates; its hash counter is set by the test.
class FakeDevice final : public SearchDevice {
 public:
  struct Seen {
    int work_updates = 0;
    std::uint64_t hashes = 0;
    bool fail_next = false;
    std::optional<MemoryStats> memory;   // a GPU's
    std::optional<LaunchReport> launch;  // a GPU's
    std::optional<DeviceTelemetry> telemetry;
  };
  explicit FakeDevice(Seen& seen) : seen_(seen) {}
  DeviceInfo describe() const override { return {"fake0", "cpu", "a fake", 0, ""}; }
  void prepare(std::shared_ptr<const LightCache>) override {}
  void set_work(std::vector<WorkItem>) override {
    ++seen_.work_updates;
    if (std::exchange(seen_.fail_next, false)) throw std::runtime_error("device lost");
  }
  void start(DeviceSinks) override {}
  void stop() override {}
  DeviceCounters counters() const override { return {seen_.hashes, 0, 0, 0}; }
  DeviceStatusReport status() const override {
    DeviceStatusReport r;
    r.fault = "overheated";
    r.memory = seen_.memory;
    r.launch = seen_.launch;
    r.telemetry = seen_.telemetry;
    return r;
  }

 private:
  Seen& seen_;
};

WorkItem item(std::uint64_t tag, std::uint32_t weight, std::uint64_t boundary = 1u << 20) {
  WorkItem w;
  w.tag = tag;
  w.weight = weight;
  w.boundary = boundary;
  return w;
}

TEST(DeviceRecord, TakesWorkOnlyWhenTheJobsWeightsOrBoundariesChange) {
  FakeDevice::Seen seen;
  DeviceRecord d(std::make_unique<FakeDevice>(seen));
  EXPECT_EQ(d.id(), "fake0");
  EXPECT_FALSE(d.has_work());
  const auto t0 = Clock::now();
  d.give_work({item(1, 3), item(2, 1)}, t0);
  d.give_work({item(1, 3), item(2, 1)}, t0);
  EXPECT_EQ(seen.work_updates, 1);
  d.give_work({item(1, 1), item(2, 1)}, t0);
  EXPECT_EQ(seen.work_updates, 2);
  // The share boundary of a job moves when the measured rate replaces the assumed one: by less
  // than 2x it is the same work (the rate wanders a little every second), by 2x or more new.
  d.give_work({item(1, 1, (1u << 20) + (1u << 19)), item(2, 1)}, t0);
  EXPECT_EQ(seen.work_updates, 2);
  d.give_work({item(1, 1, 1u << 21), item(2, 1)}, t0);
  EXPECT_EQ(seen.work_updates, 3);
  d.give_work({item(1, 1, 1u << 21), item(2, 1, 1u << 15)}, t0);
  EXPECT_EQ(seen.work_updates, 4);
  EXPECT_TRUE(d.has_work());
  seen.fail_next = true;  // a lost device is logged, not thrown
  d.give_work({}, t0);
  EXPECT_FALSE(d.has_work());
}

TEST(DeviceRecord, AStallIsWorkWithoutNewHashes) {
  FakeDevice::Seen seen;
  DeviceRecord d(std::make_unique<FakeDevice>(seen));
  const auto t0 = Clock::now();
  EXPECT_FALSE(d.stalled_for(t0 + 1h));  // idle is no stall
  d.give_work({item(1, 1)}, t0);
  EXPECT_EQ(d.stalled_for(t0 + 10s), 10s);
  seen.hashes = 5000;
  d.sample_rate(t0 + 5s, 5);
  EXPECT_DOUBLE_EQ(d.hashrate(), 1000);
  EXPECT_EQ(d.stalled_for(t0 + 10s), 5s);
  d.sample_rate(t0 + 10s, 5);  // no new hash
  EXPECT_DOUBLE_EQ(d.hashrate(), 0);
  EXPECT_EQ(d.stalled_for(t0 + 10s), 5s);
}

// Efficiency is the interval's hashrate over the power draw; without a power reading, none.
TEST(DeviceRecord, EfficiencyIsTheHashrateOverThePowerDraw) {
  FakeDevice::Seen seen;
  DeviceRecord d(std::make_unique<FakeDevice>(seen));
  const auto t0 = Clock::now();
  d.give_work({item(1, 1)}, t0);
  seen.hashes = 5000;
  d.sample_rate(t0 + 5s, 5);
  EXPECT_FALSE(d.status().hashes_per_joule);  // no telemetry
  seen.telemetry = DeviceTelemetry{};
  seen.telemetry->power_w = 500;
  seen.telemetry->energy_j = 1e6;  // a counter that has not moved since: not used
  seen.hashes = 20000;
  d.sample_rate(t0 + 10s, 5);
  ASSERT_TRUE(d.status().hashes_per_joule);
  EXPECT_DOUBLE_EQ(*d.status().hashes_per_joule, 3000.0 / 500);
  seen.telemetry->power_w = 0;  // a card reporting no draw
  d.sample_rate(t0 + 15s, 5);
  EXPECT_FALSE(d.status().hashes_per_joule);
}

TEST(DeviceRecord, JobSwitchesAreTimedWithinAnEpochAndEpochChangesReported) {
  FakeDevice::Seen seen;
  DeviceRecord d(std::make_unique<FakeDevice>(seen));
  Job job;
  job.received = Clock::now();
  EXPECT_TRUE(d.work_started(job, job.received + 1ms));  // the first work: a new epoch
  EXPECT_FALSE(d.job_switch_report());
  EXPECT_FALSE(d.work_started(job, job.received + 2ms));
  EXPECT_EQ(d.status().job_switch.count(), 1u);
  ASSERT_TRUE(d.job_switch_report());
  EXPECT_NE(d.job_switch_report()->find("1 job switches"), std::string::npos);
  job.epoch = 1;
  EXPECT_TRUE(d.work_started(job, job.received + 3ms));
  EXPECT_EQ(d.status().job_switch.count(), 1u);
}

TEST(DeviceRecord, StatusCarriesTheDevicesOwnReport) {
  FakeDevice::Seen seen;
  seen.hashes = 77;
  DeviceRecord d(std::make_unique<FakeDevice>(seen));
  const auto s = d.status();
  EXPECT_EQ(s.info.id, "fake0");
  EXPECT_EQ(s.counters.hashes, 77u);
  EXPECT_EQ(s.fault, "overheated");
}

// A 4 GiB card and Ethereum Classic's epoch 431 (a 4.69 GB DAG): refused, and said so.
TEST(DeviceRecord, AnEpochBeyondTheMemoryBudgetIsRefusedAndReported) {
  FakeDevice::Seen seen;
  seen.memory = MemoryStats{};
  seen.memory->budget_bytes = 4ull << 30;
  DeviceRecord d(std::make_unique<FakeDevice>(seen));
  LightCache etc_431;
  etc_431.algo = Algorithm::etchash;
  etc_431.epoch = 431;
  etc_431.dataset_bytes = dataset_bytes(431);
  LightCache etc_300 = etc_431;
  etc_300.epoch = 300;
  etc_300.dataset_bytes = dataset_bytes(300);

  EXPECT_TRUE(d.holds(etc_300));
  EXPECT_EQ(d.status().dag_problem, "");
  EXPECT_FALSE(d.holds(etc_431));
  const std::string problem = d.status().dag_problem;
  EXPECT_NE(problem.find("etchash epoch 431"), std::string::npos) << problem;
  EXPECT_NE(problem.find("up to epoch " + std::to_string(last_epoch_within(4ull << 30))), std::string::npos) << problem;
  EXPECT_NE(problem.find("other devices"), std::string::npos) << problem;
}

TEST(DeviceRecord, ADeviceWithoutMemoryOfItsOwnHoldsAnyEpoch) {
  FakeDevice::Seen seen;  // no MemoryStats: the CPU backend
  DeviceRecord d(std::make_unique<FakeDevice>(seen));
  LightCache deep;
  deep.epoch = 2000;
  deep.dataset_bytes = dataset_bytes(2000);
  EXPECT_TRUE(d.holds(deep));
  EXPECT_EQ(d.status().dag_problem, "");
}

}  // namespace
// A GPU's launch shape as the user follows it: in the status, and in the log when it starts
// tuning, when it keeps a shape and when the shape cannot be stored, each said once.
TEST(DeviceRecord, LaunchShapeOriginAndItsProblemsAreReportedOnce) {
  test::CapturedLog log;
  FakeDevice::Seen seen;
  DeviceRecord d(std::make_unique<FakeDevice>(seen));
  const ProtectionSettings settings;
  d.check_health(settings);
  EXPECT_FALSE(d.status().launch);  // a device without launch shapes (the CPU) says nothing of them
  EXPECT_EQ(log.count("launch shape"), 0u);

  seen.launch = LaunchReport{"block=128 registers=128 launch=4194304 streams=3", LaunchOrigin::preset, ""};
  d.check_health(settings);
  EXPECT_EQ(log.count("launch shape"), 0u);  // the default, before the first DAG: nothing to say yet
  seen.launch = LaunchReport{"block=128 registers=96 launch=4194304 streams=3", LaunchOrigin::tuning, ""};
  d.check_health(settings);
  seen.launch->shape = "block=64 registers=128 launch=4194304 streams=3";  // the next candidate's turn
  d.check_health(settings);
  EXPECT_EQ(log.count("tuning its launch shape on the work it mines"), 1u) << log.text();

  seen.launch =
      LaunchReport{"block=64 registers=128 launch=4194304 streams=3", LaunchOrigin::tuned, "cannot write /var/cache/x: denied"};
  d.check_health(settings);
  d.check_health(settings);
  EXPECT_EQ(log.count("launch shape tuned, kept for this card: block=64 registers=128 launch=4194304 streams=3"), 1u)
      << log.text();
  EXPECT_EQ(log.count("launch shape: cannot write /var/cache/x: denied"), 1u) << log.text();
  const auto status = d.status();
  ASSERT_TRUE(status.launch);
  EXPECT_EQ(*status.launch, *seen.launch);

  // The next start finds the stored shape.
  FakeDevice::Seen again;
  again.launch = LaunchReport{"block=64 registers=128 launch=4194304 streams=3", LaunchOrigin::stored, ""};
  DeviceRecord next(std::make_unique<FakeDevice>(again));
  next.check_health(settings);
  EXPECT_EQ(log.count("launch shape from an earlier tuning of this card: block=64 registers=128"), 1u) << log.text();
}

}  // namespace dagminer
