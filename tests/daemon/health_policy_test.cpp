// Temperature protection as policy: limits, hysteresis per sensor, per-device settings, missing
// readings, and the configuration keys that set them.
#include <gtest/gtest.h>

#include "dagminer/daemon/config.hpp"
#include "dagminer/daemon/health_policy.hpp"

namespace dagminer {
namespace {

std::optional<DeviceTelemetry> reading(std::optional<double> core, std::optional<double> memory = std::nullopt) {
  DeviceTelemetry t;
  t.temperature_c = core;
  t.memory_temperature_c = memory;
  return t;
}

TEST(Protection, PausesAtTheLimitAndResumesOnlyAtTheResumeTemperature) {
  const ProtectionSettings settings;  // 85/75 core, 95/85 memory
  ProtectionState state;
  EXPECT_TRUE(apply_reading(state, settings, reading(84.9)).empty());
  EXPECT_FALSE(state.paused());
  auto events = apply_reading(state, settings, reading(85));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].paused);
  EXPECT_EQ(events[0].reason, PauseReason::temperature);
  EXPECT_EQ(events[0].threshold, 85);
  EXPECT_TRUE(state.paused());
  EXPECT_EQ(state.reason(), PauseReason::temperature);
  // Between the two: still paused, no new warning.
  for (double t : {90.0, 80.0, 75.1}) {
    EXPECT_TRUE(apply_reading(state, settings, reading(t)).empty()) << t;
    EXPECT_TRUE(state.paused()) << t;
  }
  events = apply_reading(state, settings, reading(75));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].paused);
  EXPECT_FALSE(state.paused());
  EXPECT_FALSE(state.reason());
  // Climbing back up to just under the limit does not pause again.
  EXPECT_TRUE(apply_reading(state, settings, reading(84)).empty());
  EXPECT_FALSE(state.paused());
}

TEST(Protection, EachSensorHasItsOwnHysteresis) {
  const ProtectionSettings settings;
  ProtectionState state;
  ASSERT_EQ(apply_reading(state, settings, reading(60, 96)).size(), 1u);
  EXPECT_TRUE(state.memory_temperature);
  EXPECT_FALSE(state.temperature);
  EXPECT_EQ(state.reason(), PauseReason::memory_temperature);
  ASSERT_EQ(apply_reading(state, settings, reading(86, 90)).size(), 1u);  // the core trips too
  EXPECT_TRUE(state.temperature && state.memory_temperature);
  EXPECT_EQ(state.reason(), PauseReason::temperature);                    // the core's first
  ASSERT_EQ(apply_reading(state, settings, reading(70, 90)).size(), 1u);  // the core cooled, memory not yet
  EXPECT_TRUE(state.paused());
  EXPECT_EQ(state.reason(), PauseReason::memory_temperature);
  ASSERT_EQ(apply_reading(state, settings, reading(70, 85)).size(), 1u);
  EXPECT_FALSE(state.paused());
}

TEST(Protection, AMissingReadingKeepsTheStateAndAnOffLimitClearsIt) {
  ProtectionSettings settings;
  ProtectionState state;
  apply_reading(state, settings, reading(90));
  ASSERT_TRUE(state.temperature);
  EXPECT_TRUE(apply_reading(state, settings, std::nullopt).empty());  // no telemetry now
  EXPECT_TRUE(apply_reading(state, settings, reading(std::nullopt)).empty());
  EXPECT_TRUE(state.temperature);
  settings.core.limit = 0;  // turned off by a reload
  apply_reading(state, settings, reading(90));
  EXPECT_FALSE(state.paused());
  apply_reading(state, settings, reading(150));
  EXPECT_FALSE(state.paused());
}

TEST(Protection, TheWarningSaysWhatAndUntilWhen) {
  const ProtectionEvent pause{PauseReason::memory_temperature, true, 96, 95, 85};
  EXPECT_EQ(describe("gpu1", pause),
            "device gpu1: memory temperature 96 °C reached memory_temperature_limit 95 °C: no work until it is back at 85 °C");
  const ProtectionEvent resume{PauseReason::temperature, false, 74, 75, 75};
  EXPECT_EQ(describe("gpu0", resume), "device gpu0: temperature 74 °C is back at temperature_resume 75 °C: mining again");
}

const std::string pools = "pools:\n  - {url: 'stratum2+tcp://pool.example:4444', user: wallet}\n";

TEST(HealthConfig, DefaultsGlobalKeysAndPerDeviceSettings) {
  auto load = parse_config(pools, "t.yaml");
  ASSERT_TRUE(load.config);
  EXPECT_EQ(load.config->protection.defaults, ProtectionSettings{});
  EXPECT_EQ(load.config->gpu_fault_action, GpuFaultAction::restart);

  load = parse_config(pools + R"(temperature_limit: 80
temperature_resume: 70
memory_temperature_limit: 100
memory_temperature_resume: 88.5
gpu_fault_action: continue
device_settings:
  gpu1:
    temperature_limit: 72
    temperature_resume: 65
  gpu2:
    memory_temperature_limit: 0
)",
                      "t.yaml");
  for (const auto& e : load.errors) ADD_FAILURE() << e.to_string();
  ASSERT_TRUE(load.config);
  const auto& p = load.config->protection;
  EXPECT_EQ(p.for_device("gpu0").core, (TemperatureLimit{80, 70}));
  EXPECT_EQ(p.for_device("gpu0").memory, (TemperatureLimit{100, 88.5}));
  EXPECT_EQ(p.for_device("gpu1").core, (TemperatureLimit{72, 65}));
  EXPECT_EQ(p.for_device("gpu1").memory, (TemperatureLimit{100, 88.5}));  // the global one
  EXPECT_FALSE(p.for_device("gpu2").memory.on());
  EXPECT_EQ(p.for_device("gpu2").core, (TemperatureLimit{80, 70}));
  EXPECT_EQ(load.config->gpu_fault_action, GpuFaultAction::continue_);
}

TEST(HealthConfig, DeviceIdsTakeTheDevicesOwnNames) {
  const auto load =
      parse_config(pools + "device_settings:\n  gpu01: {temperature_limit: 70, temperature_resume: 60}\n", "t.yaml");
  for (const auto& e : load.errors) ADD_FAILURE() << e.to_string();
  ASSERT_TRUE(load.config);
  EXPECT_EQ(load.config->protection.for_device("gpu1").core, (TemperatureLimit{70, 60}));
}

TEST(HealthConfig, BadValuesAreNamedWithTheirPlace) {
  const auto first_error = [](const std::string& extra) {
    auto load = parse_config(pools + extra, "t.yaml");
    EXPECT_FALSE(load.config) << extra;
    return load.errors.empty() ? std::string() : load.errors.front().to_string();
  };
  EXPECT_NE(first_error("temperature_resume: 90\n").find("temperature_resume (90 °C) must be below temperature_limit (85 °C)"),
            std::string::npos);
  EXPECT_NE(first_error("temperature_limit: hot\n").find("t.yaml:3:20: temperature_limit: expected a number from 0 to 150"),
            std::string::npos);
  EXPECT_NE(first_error("device_settings:\n  gpu0: {temperature_limit: 70}\n")
                .find("device_settings.gpu0.temperature_resume (75 °C) must be below temperature_limit (70 °C)"),
            std::string::npos);
  EXPECT_NE(first_error("device_settings:\n  card0: {temperature_limit: 70}\n").find("'card0' is not a device id"),
            std::string::npos);
  EXPECT_NE(first_error("device_settings:\n  gpu0: {fan: 100}\n").find("unknown key 'fan' in device_settings.gpu0"),
            std::string::npos);
  EXPECT_NE(first_error("device_settings: [gpu0]\n").find("device_settings must be a mapping"), std::string::npos);
  // Ids are the devices' own names: gpu01 is gpu1, so it and gpu1 are one device given twice.
  EXPECT_NE(first_error("device_settings:\n  gpu1: {temperature_limit: 80}\n  gpu01: {temperature_limit: 90}\n")
                .find("t.yaml:5:3: device_settings: gpu1 is given twice (first at 4:3)"),
            std::string::npos);
  EXPECT_NE(first_error("temperature_limit: nan\n").find("temperature_limit: expected a number from 0 to 150, got 'nan'"),
            std::string::npos);
  EXPECT_NE(first_error("gpu_fault_action: reboot\n").find("gpu_fault_action: expected restart or continue, got 'reboot'"),
            std::string::npos);
}

}  // namespace
}  // namespace dagminer
