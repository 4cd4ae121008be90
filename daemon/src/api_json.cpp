#include "dagminer/daemon/api_json.hpp"

#include <boost/json/array.hpp>

namespace dagminer {
namespace {

namespace json = boost::json;

json::object shares_json(const ShareCounts& c) {
  return {{"found", c.found},
          {"accepted", c.accepted},
          {"rejected", c.rejected},
          {"stale", c.stale},
          {"timed_out", c.timed_out},
          {"pending", c.pending},
          {"hardware_errors", c.hardware_errors},
          {"accepted_difficulty", c.accepted_difficulty}};
}

json::value gpu_memory_json(const std::optional<MemoryStats>& m) {
  if (!m) return nullptr;
  json::object in_use;
  for (std::size_t k = 0; k < memory_kind_count; ++k) in_use[to_string(static_cast<MemoryKind>(k))] = m->bytes[k];
  json::array resident;
  for (const auto& key : m->resident) resident.push_back({{"algorithm", to_string(key.algo)}, {"epoch", key.epoch}});
  return json::object{{"budget_bytes", m->budget_bytes},
                      {"in_use_bytes", std::move(in_use)},
                      {"resident_dags", std::move(resident)},
                      {"dag_builds", m->dag_builds},
                      {"last_dag_build_seconds", m->last_dag_build_seconds},
                      {"total_dag_build_seconds", m->total_dag_build_seconds},
                      {"evictions", m->evictions}};
}

json::value job_switch_json(const LatencyRecorder& latency) {
  const auto q = latency.recent();
  if (!q) return nullptr;
  return json::object{{"samples", q->samples}, {"p50_seconds", q->p50}, {"p99_seconds", q->p99}, {"max_seconds", q->max}};
}

template <typename T>
json::value or_null(const std::optional<T>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

// A GPU's launch shape and where it came from; null on devices without one (the CPU).
json::value launch_json(const std::optional<LaunchReport>& l) {
  if (!l) return nullptr;
  return json::object{{"shape", l->shape},
                      {"origin", to_string(l->origin)},
                      {"problem", l->problem.empty() ? json::value(nullptr) : json::value(l->problem)}};
}

}  // namespace

json::value telemetry_json(const std::optional<DeviceTelemetry>& t, std::optional<double> hashes_per_joule) {
  if (!t) return nullptr;
  json::array reasons;
  for (const auto word : throttle_reason_names(t->throttle_reasons.value_or(0))) reasons.emplace_back(word);
  return json::object{{"temperature_c", or_null(t->temperature_c)},
                      {"memory_temperature_c", or_null(t->memory_temperature_c)},
                      {"power_w", or_null(t->power_w)},
                      {"power_limit_w", or_null(t->power_limit_w)},
                      {"energy_j", or_null(t->energy_j)},
                      {"sm_clock_mhz", or_null(t->sm_clock_mhz)},
                      {"memory_clock_mhz", or_null(t->memory_clock_mhz)},
                      {"fan_percent", or_null(t->fan_percent)},
                      {"utilization_percent", or_null(t->utilization_percent)},
                      {"ecc_corrected", or_null(t->ecc_corrected)},
                      {"ecc_uncorrected", or_null(t->ecc_uncorrected)},
                      {"pcie_generation", or_null(t->pcie_generation)},
                      {"pcie_width", or_null(t->pcie_width)},
                      {"throttle_reasons", t->throttle_reasons ? json::value(std::move(reasons)) : json::value(nullptr)},
                      {"mh_per_j", hashes_per_joule ? json::value(*hashes_per_joule / 1e6) : json::value(nullptr)}};
}

json::object protection_json(const ProtectionState& p) {
  const auto reason = p.reason();
  return {{"paused", p.paused()}, {"reason", reason ? json::value(to_string(*reason)) : json::value(nullptr)}};
}

json::object summary_json(const ServiceSnapshot& s) {
  std::size_t up = 0;
  for (const auto& p : s.pools) up += p.alive;
  return {{"version", s.build.version},
          {"build", json::object{{"commit", s.build.commit},
                                 {"build_type", s.build.build_type},
                                 {"cuda_runtime", s.build.cuda_runtime},
                                 {"cuda_driver", s.build.cuda_driver},
                                 {"cuda_architectures", s.build.cuda_architectures}}},
          {"uptime_seconds", s.uptime_seconds},
          {"paused", s.paused},
          {"mining", s.mining},
          {"healthy", s.health_problem.empty()},
          {"health_problem", s.health_problem},
          {"hashrate", s.hashrate},
          {"pools", json::object{{"total", s.pools.size()}, {"up", up}}},
          {"devices", s.devices.size()},
          {"shares", shares_json(s.shares)}};
}

json::object pools_json(const ServiceSnapshot& s) {
  json::array pools;
  for (const auto& p : s.pools) {
    json::object o{{"name", p.name},
                   {"url", p.url},
                   {"enabled", p.enabled},
                   {"up", p.alive},
                   {"mining", p.mining},
                   {"job", p.current_job.empty() ? json::value(nullptr) : json::value(p.current_job)},
                   {"epoch", p.epoch < 0 ? json::value(nullptr) : json::value(p.epoch)},
                   {"latency_ms", p.latency ? json::value(p.latency->count()) : json::value(nullptr)},
                   {"shares", shares_json(p.shares)},
                   {"problem", p.problem.empty() ? json::value(nullptr) : json::value(p.problem)},
                   {"blocks_found", p.blocks_found}};
    pools.push_back(std::move(o));
  }
  return {{"pools", std::move(pools)}};
}

json::object devices_json(const ServiceSnapshot& s) {
  json::array devices;
  for (const auto& d : s.devices) {
    const auto shares = s.device_shares.find(d.info.id);
    json::object o{{"id", d.info.id},
                   {"kind", d.info.kind},
                   {"name", d.info.name},
                   {"memory_bytes", d.info.memory_bytes},
                   {"compute_capability", d.info.compute_capability},
                   {"hashrate", d.hashrate},
                   {"hashes", d.counters.hashes},
                   {"candidates", d.counters.candidates},
                   {"candidates_dropped", d.counters.candidates_dropped},
                   {"replaced_job_hashes", d.counters.replaced_job_hashes},
                   {"job_switch", job_switch_json(d.job_switch)},
                   {"fault", d.fault},
                   {"dag_problem", d.dag_problem},
                   {"shares", shares_json(shares == s.device_shares.end() ? ShareCounts{} : shares->second)},
                   {"gpu_memory", gpu_memory_json(d.memory)}};
    o["telemetry"] = telemetry_json(d.telemetry, d.hashes_per_joule);
    o["protection"] = protection_json(d.protection);
    o["launch"] = launch_json(d.launch);
    devices.push_back(std::move(o));
  }
  return {{"devices", std::move(devices)}};
}

}  // namespace dagminer
