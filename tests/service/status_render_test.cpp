// The renderings of the daemon's state: the API's JSON bodies and /metrics, from a snapshot with a
// GPU (whose memory statistics a machine without one never produces) and hostile pool names.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "dagminer/daemon/api_json.hpp"
#include "dagminer/daemon/metrics.hpp"
#include "prometheus_text.hpp"
#include "sample_snapshot.hpp"

namespace dagminer {
namespace {

using test::hostile_pool;
using test::parse_prometheus_text;
using test::prom_value;
using test::snapshot_with_gpu;

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
  EXPECT_EQ(prom_value(f, "dagminer_build_info",
                       {{"version", "1.2.3"},
                        {"commit", "0123456789abcdef0123456789abcdef01234567"},
                        {"build_type", "Release"},
                        {"cuda_runtime", "13.0"},
                        {"cuda_driver", "13.1"},
                        {"cuda_architectures", "sm_90 compute_90"}}),
            1);
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
  // Shares of a pool a reload removed, and stale shares of forgotten jobs, still count.
  EXPECT_EQ(prom_value(f, "dagminer_shares_total", {{"pool", "(expired)"}, {"outcome", "stale"}}), 5);
  EXPECT_EQ(prom_value(f, "dagminer_shares_total", {{"pool", "removed"}, {"outcome", "accepted"}}), 6);
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
  EXPECT_EQ(summary.at("build"), (boost::json::object{{"commit", "0123456789abcdef0123456789abcdef01234567"},
                                                      {"build_type", "Release"},
                                                      {"cuda_runtime", "13.0"},
                                                      {"cuda_driver", "13.1"},
                                                      {"cuda_architectures", "sm_90 compute_90"}}));
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

// A pool marked for rejecting shares (issue 16, row 16): its reason in the API, 1 in the gauge.
TEST(ApiJson, APoolsProblemIsItsReasonOrNull) {
  ServiceSnapshot s = snapshot_with_gpu();
  s.pools[1].problem = "5 shares in a row that verified here were rejected (Unauthorized worker (code 24) x5)";
  const auto pools = boost::json::parse(boost::json::serialize(pools_json(s))).at("pools").as_array();
  EXPECT_TRUE(pools[0].at("problem").is_null());
  EXPECT_EQ(pools[1].at("problem").as_string(), s.pools[1].problem);
  const auto f = parse_prometheus_text(prometheus_metrics(s));
  EXPECT_EQ(prom_value(f, "dagminer_pool_unhealthy", {{"pool", "main"}}), 0);
  EXPECT_EQ(prom_value(f, "dagminer_pool_unhealthy", {{"pool", hostile_pool}}), 1);
}

}  // namespace
}  // namespace dagminer
