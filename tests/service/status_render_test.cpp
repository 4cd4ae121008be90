// The renderings of the daemon's state: the API's JSON bodies and /metrics, from a snapshot with a
// GPU (whose memory statistics a machine without one never produces) and hostile pool names.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "dagminer/daemon/api_json.hpp"
#include "dagminer/daemon/metrics.hpp"
#include "prometheus_text.hpp"

namespace dagminer {
namespace {

using test::parse_prometheus_text;
using test::prom_value;

const std::string hostile_pool = "we\"ird\\pool\nname";

ServiceSnapshot snapshot_with_gpu() {
  ServiceSnapshot s;
  s.version = "1.2.3";
  s.uptime_seconds = 125.5;
  s.paused = false;
  s.mining = true;
  s.hashrate = 3.5e8;
  s.shares.found = 12;
  s.shares.accepted = 10;

  PoolStatus main{"main", "stratum2+tcp://pool.example:4444", true, true, true, "0x1a", 431, {}, std::chrono::milliseconds(42)};
  main.shares.accepted = 7;
  main.shares.rejected = 1;
  main.shares.stale = 2;
  main.shares.timed_out = 3;
  main.shares.hardware_errors = 4;
  main.shares.pending = 1;
  main.shares.accepted_difficulty = 1.5e9;
  main.blocks_found = 2;
  PoolStatus odd{hostile_pool, "stratum1+tcp://odd.example:8008", false, false, false, "", -1, {}, std::nullopt};
  s.pools = {main, odd};

  DeviceStatus cpu;
  cpu.info = {"cpu", "cpu", "CPU backend", 0, ""};
  cpu.counters = {1000, 5, 0};
  cpu.hashrate = 250;
  DeviceStatus gpu;
  gpu.info = {"gpu0", "cuda", "NVIDIA H100", 80'000'000'000ull, "9.0"};
  gpu.counters = {10'000'000'000ull, 12, 1, 2'500'000};
  for (double seconds : {80e-6, 150e-6, 0.9e-3, 3.0}) gpu.job_switch.record(seconds);
  gpu.hashrate = 3.5e8;
  MemoryStats m;
  m.bytes = {4'690'000'000ull, 75'000'000ull, 4096, 8192};
  m.budget_bytes = 70'000'000'000ull;
  m.dag_builds = 3;
  m.last_dag_build_seconds = 0.25;
  m.total_dag_build_seconds = 0.75;
  m.evictions = 1;
  m.resident = {{Algorithm::etchash, 431}, {Algorithm::etchash, 432}};
  gpu.memory = m;
  gpu.fault = "device lost";
  s.devices = {cpu, gpu};
  s.device_shares["gpu0"].hardware_errors = 4;
  return s;
}

TEST(Metrics, StrictlyWellFormedAndPassPromtool) {
  const std::string text = prometheus_metrics(snapshot_with_gpu());
  std::vector<test::PromFamily> families;
  ASSERT_NO_THROW(families = parse_prometheus_text(text)) << text;
  if (auto run = test::promtool_check(text)) {
    EXPECT_EQ(run->status, 0) << run->output << text;
  } else {
    GTEST_LOG_(INFO) << "promtool is not installed (Debian: apt-get install prometheus); checked by the strict parser only";
  }
}

TEST(Metrics, CarryTheSnapshotsValues) {
  const auto f = parse_prometheus_text(prometheus_metrics(snapshot_with_gpu()));
  EXPECT_EQ(prom_value(f, "dagminer_build_info", {{"version", "1.2.3"}}), 1);
  EXPECT_EQ(prom_value(f, "dagminer_uptime_seconds"), 125.5);
  EXPECT_EQ(prom_value(f, "dagminer_paused"), 0);
  EXPECT_EQ(prom_value(f, "dagminer_healthy"), 1);
  EXPECT_EQ(prom_value(f, "dagminer_device_hashes_per_second", {{"device", "gpu0"}, {"kind", "cuda"}}), 3.5e8);
  EXPECT_EQ(prom_value(f, "dagminer_device_hashes_total", {{"device", "gpu0"}}), 1e10);
  EXPECT_EQ(prom_value(f, "dagminer_device_candidates_dropped_total", {{"device", "gpu0"}}), 1);
  EXPECT_EQ(prom_value(f, "dagminer_device_hardware_errors_total", {{"device", "gpu0"}}), 4);
  EXPECT_EQ(prom_value(f, "dagminer_device_hardware_errors_total", {{"device", "cpu"}}), 0);
  EXPECT_EQ(prom_value(f, "dagminer_device_healthy", {{"device", "gpu0"}}), 0);
  EXPECT_EQ(prom_value(f, "dagminer_device_healthy", {{"device", "cpu"}}), 1);

  const std::pair<const char*, double> outcomes[] = {
      {"accepted", 7}, {"rejected", 1}, {"stale", 2}, {"timed_out", 3}, {"hardware_error", 4}};
  for (const auto& [outcome, count] : outcomes)
    EXPECT_EQ(prom_value(f, "dagminer_shares_total", {{"pool", "main"}, {"outcome", outcome}}), count) << outcome;
  EXPECT_EQ(prom_value(f, "dagminer_shares_pending", {{"pool", "main"}}), 1);
  EXPECT_EQ(prom_value(f, "dagminer_pool_accepted_difficulty_total", {{"pool", "main"}}), 1.5e9);
  EXPECT_EQ(prom_value(f, "dagminer_pool_up", {{"pool", "main"}}), 1);
  EXPECT_EQ(prom_value(f, "dagminer_pool_latency_seconds", {{"pool", "main"}}), 0.042);
  EXPECT_EQ(prom_value(f, "dagminer_pool_blocks_found_total", {{"pool", "main"}}), 2);
  EXPECT_EQ(prom_value(f, "dagminer_pool_blocks_found_total", {{"pool", hostile_pool}}), 0);

  // Escaped on the way out, the same name on the way back in.
  EXPECT_EQ(prom_value(f, "dagminer_pool_up", {{"pool", hostile_pool}}), 0);
  EXPECT_EQ(prom_value(f, "dagminer_pool_enabled", {{"pool", hostile_pool}}), 0);
  EXPECT_EQ(prom_value(f, "dagminer_shares_total", {{"pool", hostile_pool}, {"outcome", "accepted"}}), 0);
  EXPECT_FALSE(prom_value(f, "dagminer_pool_latency_seconds", {{"pool", hostile_pool}})) << "no latency before an answer";

  EXPECT_EQ(prom_value(f, "dagminer_dag_build_duration_seconds_count", {{"device", "gpu0"}}), 3);
  EXPECT_EQ(prom_value(f, "dagminer_dag_build_duration_seconds_sum", {{"device", "gpu0"}}), 0.75);
  EXPECT_EQ(prom_value(f, "dagminer_dag_build_last_duration_seconds", {{"device", "gpu0"}}), 0.25);
  EXPECT_EQ(prom_value(f, "dagminer_device_memory_bytes", {{"device", "gpu0"}, {"kind", "dag"}}), 4.69e9);
  EXPECT_EQ(prom_value(f, "dagminer_device_memory_bytes", {{"device", "gpu0"}, {"kind", "light_cache"}}), 7.5e7);
  EXPECT_EQ(prom_value(f, "dagminer_device_memory_bytes", {{"device", "gpu0"}, {"kind", "staging"}}), 4096);
  EXPECT_EQ(prom_value(f, "dagminer_device_memory_bytes", {{"device", "gpu0"}, {"kind", "results"}}), 8192);
  EXPECT_EQ(prom_value(f, "dagminer_device_memory_budget_bytes", {{"device", "gpu0"}}), 7e10);
  EXPECT_EQ(prom_value(f, "dagminer_device_resident_dags", {{"device", "gpu0"}}), 2);
  EXPECT_EQ(prom_value(f, "dagminer_device_dag_evictions_total", {{"device", "gpu0"}}), 1);
  EXPECT_FALSE(prom_value(f, "dagminer_device_memory_bytes", {{"device", "cpu"}})) << "the CPU has no GPU memory";

  EXPECT_EQ(prom_value(f, "dagminer_device_replaced_job_hashes_total", {{"device", "gpu0"}}), 2.5e6);
  EXPECT_EQ(prom_value(f, "dagminer_job_switch_seconds_bucket", {{"device", "gpu0"}, {"le", "5e-05"}}), 0);
  EXPECT_EQ(prom_value(f, "dagminer_job_switch_seconds_bucket", {{"device", "gpu0"}, {"le", "0.0001"}}), 1);
  EXPECT_EQ(prom_value(f, "dagminer_job_switch_seconds_bucket", {{"device", "gpu0"}, {"le", "0.001"}}), 3);
  EXPECT_EQ(prom_value(f, "dagminer_job_switch_seconds_bucket", {{"device", "gpu0"}, {"le", "1"}}), 3);
  EXPECT_EQ(prom_value(f, "dagminer_job_switch_seconds_bucket", {{"device", "gpu0"}, {"le", "+Inf"}}), 4);
  EXPECT_EQ(prom_value(f, "dagminer_job_switch_seconds_count", {{"device", "gpu0"}}), 4);
  EXPECT_NEAR(*prom_value(f, "dagminer_job_switch_seconds_sum", {{"device", "gpu0"}}), 3.00113, 1e-9);
  EXPECT_FALSE(prom_value(f, "dagminer_job_switch_seconds_count", {{"device", "cpu"}})) << "no switch, no histogram";
}

TEST(Metrics, CountShareJournalWriteErrors) {
  ServiceSnapshot s = snapshot_with_gpu();
  s.share_journal_errors = 3;
  EXPECT_EQ(prom_value(parse_prometheus_text(prometheus_metrics(s)), "dagminer_share_journal_errors_total"), 3);
}

TEST(Metrics, CpuOnlyLeavesNoEmptyFamilies) {
  ServiceSnapshot s = snapshot_with_gpu();
  s.devices.pop_back();
  const std::string text = prometheus_metrics(s);
  ASSERT_NO_THROW(parse_prometheus_text(text)) << text;  // the parser refuses a family without samples
  EXPECT_EQ(text.find("dagminer_device_memory_bytes"), std::string::npos);
  EXPECT_EQ(text.find("dagminer_dag_build"), std::string::npos);
  if (auto run = test::promtool_check(text)) {
    EXPECT_EQ(run->status, 0) << run->output << text;
  }
}

TEST(ApiJson, SummaryPoolsAndDevices) {
  const ServiceSnapshot s = snapshot_with_gpu();
  // Through text and back, as a client sees it.
  const auto summary = boost::json::parse(boost::json::serialize(summary_json(s))).as_object();
  EXPECT_EQ(summary.at("version"), "1.2.3");
  EXPECT_EQ(summary.at("paused"), false);
  EXPECT_EQ(summary.at("healthy"), true);
  EXPECT_EQ(summary.at("hashrate").as_double(), 3.5e8);
  EXPECT_EQ(summary.at("pools").at("total"), 2);
  EXPECT_EQ(summary.at("pools").at("up"), 1);
  EXPECT_EQ(summary.at("devices"), 2);
  EXPECT_EQ(summary.at("shares").at("accepted"), 10);

  const auto pools = boost::json::parse(boost::json::serialize(pools_json(s))).at("pools").as_array();
  ASSERT_EQ(pools.size(), 2u);
  EXPECT_EQ(pools[0].at("name"), "main");
  EXPECT_EQ(pools[0].at("up"), true);
  EXPECT_EQ(pools[0].at("job"), "0x1a");
  EXPECT_EQ(pools[0].at("epoch"), 431);
  EXPECT_EQ(pools[0].at("latency_ms"), 42);
  EXPECT_EQ(pools[0].at("blocks_found"), 2);
  EXPECT_EQ(pools[1].at("blocks_found"), 0);
  EXPECT_EQ(pools[0].at("shares").at("timed_out"), 3);
  EXPECT_EQ(pools[1].at("name").as_string(), hostile_pool);
  EXPECT_TRUE(pools[1].at("job").is_null());
  EXPECT_TRUE(pools[1].at("epoch").is_null());
  EXPECT_TRUE(pools[1].at("latency_ms").is_null());
  EXPECT_EQ(pools[1].at("enabled"), false);

  const auto devices = boost::json::parse(boost::json::serialize(devices_json(s))).at("devices").as_array();
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0].at("id"), "cpu");
  EXPECT_EQ(devices[0].at("hashes"), 1000);
  EXPECT_TRUE(devices[0].at("gpu_memory").is_null());
  EXPECT_TRUE(devices[0].at("job_switch").is_null());
  EXPECT_EQ(devices[1].at("replaced_job_hashes"), 2'500'000);
  EXPECT_EQ(devices[1].at("job_switch").at("samples"), 4);
  EXPECT_EQ(devices[1].at("job_switch").at("p50_seconds").as_double(), 150e-6);
  EXPECT_EQ(devices[1].at("job_switch").at("max_seconds").as_double(), 3.0);
  EXPECT_EQ(devices[1].at("fault"), "device lost");
  EXPECT_EQ(devices[1].at("shares").at("hardware_errors"), 4);
  const auto& memory = devices[1].at("gpu_memory");
  EXPECT_EQ(memory.at("in_use_bytes").at("dag"), 4'690'000'000ull);
  EXPECT_EQ(memory.at("dag_builds"), 3);
  EXPECT_EQ(memory.at("resident_dags").as_array().size(), 2u);
  EXPECT_EQ(memory.at("resident_dags").at(0).at("algorithm"), "etchash");
  EXPECT_EQ(memory.at("resident_dags").at(1).at("epoch"), 432);
}

}  // namespace
}  // namespace dagminer
