// The parts of GPU health that need no GPU: the fault-injection setting, NVML's absence (a clean
// error, never a crash) and the telemetry sampler.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "fault_injection.hpp"
#include "nvml.hpp"
#include "telemetry_sampler.hpp"

namespace dagminer::gpu {
namespace {

using namespace std::chrono_literals;

TEST(FaultInjection, PicksTheEntryOfTheDevice) {
  const auto gpu1 = parse_fault_injection("gpu0=illegal_address,gpu1=hang@500", 1);
  ASSERT_TRUE(gpu1);
  EXPECT_EQ(gpu1->fault, InjectedFault::hang);
  EXPECT_EQ(gpu1->after_launches, 500u);
  const auto gpu0 = parse_fault_injection("gpu0=illegal_address,gpu1=hang@500", 0);
  ASSERT_TRUE(gpu0);
  EXPECT_EQ(gpu0->fault, InjectedFault::illegal_address);
  EXPECT_EQ(gpu0->after_launches, 0u);
  EXPECT_FALSE(parse_fault_injection("gpu0=hang", 2));
  EXPECT_FALSE(parse_fault_injection("", 0));
}

TEST(FaultInjection, MalformedEntriesAreNamed) {
  for (const char* bad : {"gpu0", "gpu0=melt", "gpu0=hang@soon", "gpu0=hang@-1", "card0=hang", "gpu0=hang,gpu1"}) {
    try {
      (void)parse_fault_injection(bad, 0);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("DAGMINER_INJECT_GPU_FAULT"), std::string::npos) << e.what();
    }
  }
}

TEST(Nvml, AMissingLibraryIsAClearError) {
  ASSERT_EQ(setenv("DAGMINER_NVML_LIBRARY", "libnvidia-ml-absent.so.1", 1), 0);
  EXPECT_EQ(nvml_library_name(), "libnvidia-ml-absent.so.1");
  try {
    (void)open_nvml_telemetry("0000:01:00.0", std::chrono::seconds(10));
    ADD_FAILURE() << "NVML loaded from a library that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot load libnvidia-ml-absent.so.1"), std::string::npos) << e.what();
  }
}

// Counts its readings; each reports the count as the temperature.
class CountingSource final : public TelemetrySource {
 public:
  std::optional<DeviceTelemetry> read() override {
    DeviceTelemetry t;
    t.temperature_c = ++reads;
    return t;
  }
  std::atomic<int> reads{0};
};

TEST(TelemetrySampler, HasAReadingAtOnceAndRefreshesIt) {
  auto source = std::make_unique<CountingSource>();
  auto* counting = source.get();
  TelemetrySampler sampler(std::move(source), "health-test", 20ms);
  const auto first = sampler.latest();
  ASSERT_TRUE(first && first->temperature_c);
  EXPECT_GE(*first->temperature_c, 1);
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (counting->reads < 3 && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
  EXPECT_GE(counting->reads, 3);
  std::this_thread::sleep_for(50ms);
  EXPECT_GT(*sampler.latest()->temperature_c, *first->temperature_c);
}

}  // namespace
}  // namespace dagminer::gpu
