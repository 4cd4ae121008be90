// Telemetry and faults on a real GPU: NVML's readings of the device CUDA calls gpu0, the device's
// status() while it mines, and an injected sticky fault. Each test skips itself without a GPU or
// NVML. The fault test poisons the GPU's context for the rest of the process, so it comes last
// (ctest runs each case in a process of its own).
#include <chrono>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "dagminer/gpu/gpu_device.hpp"
#include "dagminer/gpu/gpu_telemetry.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer::gpu {
namespace {

using namespace std::chrono_literals;

class GpuHealth : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto listing = discover_gpus();
    if (listing.devices.empty()) GTEST_SKIP() << "no GPU: " << listing.error;
  }
};

WorkItem endless_job(std::shared_ptr<const LightCache> epoch) {
  WorkItem w;
  w.tag = 1;
  w.light_cache = std::move(epoch);
  w.header[0] = 0x42;
  w.boundary = 0;  // no candidates: the test is about the device, not its shares
  w.nonce_count = ~std::uint64_t{0};
  return w;
}

TEST_F(GpuHealth, NvmlReadsTheCudaDevice) {
  auto open = open_gpu_telemetry(0, 1s);
  if (!open.source) GTEST_SKIP() << "no NVML: " << open.error;
  const auto t = open.source->read();
  ASSERT_TRUE(t);
  ASSERT_TRUE(t->temperature_c);
  EXPECT_GT(*t->temperature_c, 5);
  EXPECT_LT(*t->temperature_c, 110);
  ASSERT_TRUE(t->power_w && t->power_limit_w);
  EXPECT_GT(*t->power_w, 1);
  EXPECT_LE(*t->power_w, *t->power_limit_w * 1.2);
  ASSERT_TRUE(t->energy_j);
  EXPECT_GT(*t->energy_j, 0);
  ASSERT_TRUE(t->sm_clock_mhz && t->memory_clock_mhz);
  EXPECT_GT(*t->sm_clock_mhz, 100u);
  ASSERT_TRUE(t->pcie_generation && t->pcie_width);
  EXPECT_GE(*t->pcie_generation, 1u);
  EXPECT_GE(*t->pcie_width, 1u);
  EXPECT_TRUE(t->throttle_reasons);
  // The energy counter moves with time (the card draws tens of watts even idle), read once a
  // second here; with the default period, a reading 1.5 s later repeats the first.
  auto rarely = open_gpu_telemetry(0).source;
  ASSERT_TRUE(rarely);
  const auto first = rarely->read();
  std::this_thread::sleep_for(1500ms);
  const auto later = open.source->read();
  ASSERT_TRUE(later && later->energy_j);
  EXPECT_GT(*later->energy_j, *t->energy_j);
  const auto repeated = rarely->read();
  ASSERT_TRUE(first && first->energy_j && repeated && repeated->energy_j);
  EXPECT_EQ(*repeated->energy_j, *first->energy_j);
  EXPECT_GT(*later->energy_j, *first->energy_j);
}

TEST_F(GpuHealth, StatusCarriesTelemetryWhileMining) {
  auto gpu = open_gpu(0);
  if (!gpu->telemetry_error().empty()) GTEST_SKIP() << "no NVML: " << gpu->telemetry_error();
  ASSERT_TRUE(gpu->status().telemetry);  // read before open_gpu returns
  gpu->set_work({endless_job(test::shared_light_cache(Algorithm::ethash, 0))});
  gpu->start({[](const Candidate&) {}});
  std::this_thread::sleep_for(4s);  // the sampler reads once a second
  const auto report = gpu->status();
  gpu->stop();
  EXPECT_EQ(report.fault, "");
  ASSERT_TRUE(report.telemetry && report.telemetry->power_w && report.telemetry->utilization_percent);
  EXPECT_GT(*report.telemetry->utilization_percent, 50);  // the search kernel keeps it busy
  std::printf("while mining: %.0f °C, %.0f W of %.0f W, SM %u MHz, reasons 0x%llx\n",
              report.telemetry->temperature_c.value_or(-1), *report.telemetry->power_w,
              report.telemetry->power_limit_w.value_or(-1), report.telemetry->sm_clock_mhz.value_or(0),
              static_cast<unsigned long long>(report.telemetry->throttle_reasons.value_or(0)));
}

// Last: the sticky error leaves this process unable to use the GPU.
TEST_F(GpuHealth, InjectedIllegalAddressFaultsTheDeviceForARestart) {
  ASSERT_EQ(setenv("DAGMINER_INJECT_GPU_FAULT", "gpu0=illegal_address@20", 1), 0);
  auto gpu = open_gpu(0);
  ASSERT_EQ(unsetenv("DAGMINER_INJECT_GPU_FAULT"), 0);
  gpu->set_work({endless_job(test::shared_light_cache(Algorithm::ethash, 0))});
  gpu->start({[](const Candidate&) {}});
  const auto end = std::chrono::steady_clock::now() + 60s;
  while (gpu->status().fault.empty() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
  const auto report = gpu->status();
  EXPECT_NE(report.fault.find("cudaErrorIllegalAddress"), std::string::npos) << report.fault;
  EXPECT_TRUE(report.fault_needs_restart);
  EXPECT_GE(gpu->pipeline_counters().launches, 20u);  // the launches before it ran
  const auto hashes = gpu->counters().hashes;
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(gpu->counters().hashes, hashes);  // it searches no more
  gpu->stop();
}

}  // namespace
}  // namespace dagminer::gpu
