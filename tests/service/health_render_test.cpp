// Hardware health as a user sees it: /metrics (checked by the strict parser and promtool), the
// API's telemetry and protection objects, and the summary line, from a snapshot with an H200's
// readings (figures of bench/gpu-notes.md) beside a CPU device without any.
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "dagminer/daemon/api_json.hpp"
#include "dagminer/daemon/health_text.hpp"
#include "dagminer/daemon/metrics.hpp"
#include "dagminer/daemon/summary.hpp"
#include "prometheus_text.hpp"

namespace dagminer {
namespace {

using test::parse_prometheus_text;
using test::prom_value;

ServiceSnapshot snapshot_with_readings() {
  DeviceStatus gpu;
  gpu.info = {"gpu0", "cuda", "NVIDIA H200", 150'109'880'320ull, "9.0"};
  gpu.hashrate = 462.6e6;
  DeviceTelemetry t;
  t.temperature_c = 52;
  t.memory_temperature_c = 65;
  t.power_w = 698.351;
  t.power_limit_w = 700;
  t.energy_j = 70686.714;
  t.sm_clock_mhz = 1515;
  t.memory_clock_mhz = 3201;
  t.utilization_percent = 100;
  t.ecc_corrected = 3;
  t.ecc_uncorrected = 0;
  t.pcie_generation = 5;
  t.pcie_width = 16;
  t.throttle_reasons = static_cast<std::uint64_t>(ThrottleReason::sw_power_cap);  // no fan on this card
  gpu.telemetry = t;
  gpu.hashes_per_joule = 0.6625e6;
  gpu.protection.memory_temperature = true;
  gpu.limits.memory = {60, 50};
  gpu.launch = LaunchReport{"block=128 registers=128 launch=4194304 streams=3", LaunchOrigin::tuned, ""};
  DeviceStatus cpu;
  cpu.info = {"cpu", "cpu", "CPU backend", 0, ""};
  cpu.hashrate = 250;
  ServiceSnapshot s;
  s.build.version = "1.2.3";
  s.devices = {gpu, cpu};
  return s;
}

TEST(HealthMetrics, EveryReadingUnderItsNameAndNoneWithoutOne) {
  const std::string text = prometheus_metrics(snapshot_with_readings());
  const auto f = parse_prometheus_text(text);
  const std::map<std::string, std::string> gpu0{{"device", "gpu0"}};
  EXPECT_EQ(prom_value(f, "dagminer_device_temperature_celsius", gpu0), 52);
  EXPECT_EQ(prom_value(f, "dagminer_device_memory_temperature_celsius", gpu0), 65);
  EXPECT_EQ(prom_value(f, "dagminer_device_temperature_limit_celsius", gpu0), 85);
  EXPECT_EQ(prom_value(f, "dagminer_device_memory_temperature_limit_celsius", gpu0), 60);
  EXPECT_EQ(prom_value(f, "dagminer_device_power_watts", gpu0), 698.351);
  EXPECT_EQ(prom_value(f, "dagminer_device_power_limit_watts", gpu0), 700);
  EXPECT_EQ(prom_value(f, "dagminer_device_energy_joules_total", gpu0), 70686.714);
  EXPECT_EQ(prom_value(f, "dagminer_device_sm_clock_hertz", gpu0), 1515e6);
  EXPECT_EQ(prom_value(f, "dagminer_device_memory_clock_hertz", gpu0), 3201e6);
  EXPECT_EQ(prom_value(f, "dagminer_device_utilization_ratio", gpu0), 1);
  EXPECT_EQ(prom_value(f, "dagminer_device_ecc_errors_total", {{"device", "gpu0"}, {"type", "corrected"}}), 3);
  EXPECT_EQ(prom_value(f, "dagminer_device_ecc_errors_total", {{"device", "gpu0"}, {"type", "uncorrected"}}), 0);
  EXPECT_EQ(prom_value(f, "dagminer_device_pcie_link_generation", gpu0), 5);
  EXPECT_EQ(prom_value(f, "dagminer_device_pcie_link_width", gpu0), 16);
  EXPECT_EQ(prom_value(f, "dagminer_device_hashes_per_joule", gpu0), 0.6625e6);
  EXPECT_EQ(prom_value(f, "dagminer_device_throttle_reason", {{"device", "gpu0"}, {"reason", "sw_power_cap"}}), 1);
  for (const ThrottleReason r : all_throttle_reasons) {
    if (r == ThrottleReason::sw_power_cap) continue;
    EXPECT_EQ(prom_value(f, "dagminer_device_throttle_reason", {{"device", "gpu0"}, {"reason", std::string(to_string(r))}}), 0);
  }
  EXPECT_EQ(prom_value(f, "dagminer_device_protection_paused", {{"device", "gpu0"}, {"reason", "memory_temperature"}}), 1);
  EXPECT_EQ(prom_value(f, "dagminer_device_protection_paused", {{"device", "gpu0"}, {"reason", "temperature"}}), 0);
  EXPECT_EQ(prom_value(f, "dagminer_device_faulted", gpu0), 0);
  EXPECT_EQ(prom_value(f, "dagminer_device_faulted", {{"device", "cpu"}}), 0);
  // Absent, not 0: the card has no fan; the CPU has no readings at all.
  EXPECT_EQ(text.find("dagminer_device_fan_speed_ratio"), std::string::npos);
  EXPECT_FALSE(prom_value(f, "dagminer_device_temperature_celsius", {{"device", "cpu"}}));
  EXPECT_FALSE(prom_value(f, "dagminer_device_protection_paused", {{"device", "cpu"}}));
  if (auto run = test::promtool_check(text)) {
    EXPECT_EQ(run->status, 0) << run->output << text;
  } else {
    GTEST_LOG_(INFO) << "promtool is not installed (Debian: apt-get install prometheus); checked by the strict parser only";
  }
}

TEST(HealthMetrics, NoTelemetryFamilyWithoutAnyReading) {
  ServiceSnapshot s = snapshot_with_readings();
  s.devices.erase(s.devices.begin());
  const std::string text = prometheus_metrics(s);
  for (const char* name :
       {"dagminer_device_temperature_celsius", "dagminer_device_power_watts", "dagminer_device_energy_joules_total",
        "dagminer_device_throttle_reason", "dagminer_device_protection_paused", "dagminer_device_hashes_per_joule"})
    EXPECT_EQ(text.find(name), std::string::npos) << name;
  EXPECT_NE(text.find("dagminer_device_faulted{device=\"cpu\"} 0"), std::string::npos);
}

TEST(HealthApi, TelemetryAndProtectionObjects) {
  const auto body = boost::json::parse(boost::json::serialize(devices_json(snapshot_with_readings()))).as_object();
  const auto& gpu = body.at("devices").as_array().at(0).as_object();
  const auto& t = gpu.at("telemetry").as_object();
  EXPECT_EQ(t.at("temperature_c").as_double(), 52);
  EXPECT_EQ(t.at("power_w").as_double(), 698.351);
  EXPECT_EQ(t.at("sm_clock_mhz").as_int64(), 1515);
  EXPECT_TRUE(t.at("fan_percent").is_null());
  EXPECT_EQ(t.at("throttle_reasons").as_array(), boost::json::array{"sw_power_cap"});
  EXPECT_DOUBLE_EQ(t.at("mh_per_j").as_double(), 0.6625);
  for (const char* key : {"memory_temperature_c", "power_limit_w", "energy_j", "memory_clock_mhz", "utilization_percent",
                          "ecc_corrected", "ecc_uncorrected", "pcie_generation", "pcie_width"})
    EXPECT_FALSE(t.at(key).is_null()) << key;
  EXPECT_EQ(gpu.at("protection").as_object(), (boost::json::object{{"paused", true}, {"reason", "memory_temperature"}}));
  const auto& cpu = body.at("devices").as_array().at(1).as_object();
  EXPECT_TRUE(cpu.at("telemetry").is_null());
  EXPECT_EQ(cpu.at("protection").as_object(), (boost::json::object{{"paused", false}, {"reason", nullptr}}));
}

TEST(LaunchApi, AGpusShapeAndItsOriginNullOnTheCpu) {
  ServiceSnapshot s = snapshot_with_readings();
  auto devices = [&] { return boost::json::parse(boost::json::serialize(devices_json(s))).at("devices").as_array(); };
  EXPECT_EQ(devices().at(0).at("launch").as_object(),
            (boost::json::object{
                {"shape", "block=128 registers=128 launch=4194304 streams=3"}, {"origin", "tuned"}, {"problem", nullptr}}));
  EXPECT_TRUE(devices().at(1).at("launch").is_null());
  s.devices[0].launch->problem = "cannot write /var/cache/dagminer/tuned-launch-shapes.txt: Permission denied";
  EXPECT_EQ(devices().at(0).at("launch").at("problem"),
            "cannot write /var/cache/dagminer/tuned-launch-shapes.txt: Permission denied");
}

TEST(HealthText, TheSummaryLineGivesEachDevicesHealth) {
  const auto s = snapshot_with_readings();
  EXPECT_EQ(device_health_text(s.devices[0]), "52°C mem 65°C 698W 0.662 MH/J paused (memory_temperature)");
  EXPECT_EQ(device_health_text(s.devices[1]), "");
  const std::string line = summary_line(s.hashrate, s.devices, {}, 0, std::chrono::seconds(5));
  EXPECT_NE(line.find("[gpu0 462.60 MH/s 52°C mem 65°C 698W 0.662 MH/J paused (memory_temperature) cpu 250.00 H/s]"),
            std::string::npos)
      << line;
  DeviceStatus faulted = s.devices[1];
  faulted.fault = "gpu1: search launch: an illegal memory access was encountered (cudaErrorIllegalAddress)";
  EXPECT_EQ(device_health_text(faulted), "faulted");
}

// The unit restarts the daemon on the GPU fault exit status whatever Restart= says, and stops
// restarting a card that faults at every start (systemd-analyze verify checks the file itself, in
// service_test.cpp).
TEST(HealthUnit, RestartsOnTheFaultExitStatusWithinLimits) {
  std::ifstream in(std::string(DAGMINER_SOURCE_DIR) + "/systemd/dagminer.service");
  std::stringstream text;
  text << in.rdbuf();
  const std::string unit = text.str();
  const auto service = unit.find("[Service]");
  ASSERT_NE(service, std::string::npos);
  const auto at = [&](const std::string& line) { return unit.find("\n" + line + "\n"); };
  EXPECT_NE(at("RestartForceExitStatus=" + std::to_string(gpu_fault_exit_status)), std::string::npos);
  EXPECT_NE(at("Restart=on-failure"), std::string::npos);
  EXPECT_LT(at("StartLimitIntervalSec=10min"), service);  // [Unit] keys
  EXPECT_LT(at("StartLimitBurst=5"), service);
}

}  // namespace
}  // namespace dagminer
