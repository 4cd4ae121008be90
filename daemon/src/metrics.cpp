#include "dagminer/daemon/metrics.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace dagminer {
namespace {

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Writes metric families. A family's HELP and TYPE lines go out with its first sample, so a
// family with no samples (GPU memory on a CPU-only machine) leaves no trace.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    header_ = "# HELP " + name_ + " " + escaped(help, false) + "\n# TYPE " + name_ + " " + std::string(type) + "\n";
  }
  void sample(Labels labels, double value) { sample_named(name_, labels, value); }
  // A summary's or histogram's _sum, _count and _bucket series.
  void sample(std::string_view suffix, Labels labels, double value) { sample_named(name_ + std::string(suffix), labels, value); }
  std::string take() { return std::move(out_); }
  static std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[32];
    const auto end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general).ptr;  // shortest exact: 3, 0.0001, 1e+20
    return std::string(buf, end);
  }

 private:
  void sample_named(const std::string& name, Labels labels, double value) {
    out_ += std::exchange(header_, {});
    out_ += name;
    if (labels.size()) {
      char sep = '{';
      for (const auto& [label, text] : labels) {
        out_ += sep;
        out_ += label;
        out_ += "=\"";
        out_ += escaped(text, true);
        out_ += '"';
        sep = ',';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += number(value);
    out_ += '\n';
  }
  // Label values escape backslash, double quote and newline; HELP text only the first and last.
  static std::string escaped(std::string_view text, bool quote) {
    std::string out;
    for (char c : text) {
      if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '"' && quote) out += "\\\"";
      else out += c;
    }
    return out;
  }
  std::string name_, header_, out_;
};

double d(std::uint64_t v) { return static_cast<double>(v); }

// The devices' hardware readings, protection and faults. A device without a reading has no
// sample, so a family none of the devices reports leaves no trace.
void device_health_families(Exposition& m, const ServiceSnapshot& s) {
  using Reading = std::optional<double>;
  const auto per_device = [&](std::string_view name, std::string_view type, std::string_view help,
                              const std::function<Reading(const DeviceStatus&, const DeviceTelemetry&)>& reading) {
    m.family(name, type, help);
    for (const auto& dev : s.devices)
      if (dev.telemetry)
        if (const Reading v = reading(dev, *dev.telemetry)) m.sample({{"device", dev.info.id}}, *v);
  };
  const auto scaled = [](const auto& v, double scale) { return v ? Reading(static_cast<double>(*v) * scale) : Reading(); };
  per_device("dagminer_device_temperature_celsius", "gauge", "GPU core temperature.",
             [](const DeviceStatus&, const DeviceTelemetry& t) { return t.temperature_c; });
  per_device("dagminer_device_memory_temperature_celsius", "gauge", "GPU memory temperature (HBM cards).",
             [](const DeviceStatus&, const DeviceTelemetry& t) { return t.memory_temperature_c; });
  per_device("dagminer_device_temperature_limit_celsius", "gauge",
             "Core temperature at which dagminer gives the device no work (temperature_limit).",
             [](const DeviceStatus& dev, const DeviceTelemetry& t) {
               return t.temperature_c && dev.limits.core.on() ? Reading(dev.limits.core.limit) : Reading();
             });
  per_device("dagminer_device_memory_temperature_limit_celsius", "gauge",
             "Memory temperature at which dagminer gives the device no work (memory_temperature_limit).",
             [](const DeviceStatus& dev, const DeviceTelemetry& t) {
               return t.memory_temperature_c && dev.limits.memory.on() ? Reading(dev.limits.memory.limit) : Reading();
             });
  per_device("dagminer_device_power_watts", "gauge", "GPU power draw.",
             [](const DeviceStatus&, const DeviceTelemetry& t) { return t.power_w; });
  per_device("dagminer_device_power_limit_watts", "gauge", "GPU power limit the driver enforces.",
             [](const DeviceStatus&, const DeviceTelemetry& t) { return t.power_limit_w; });
  per_device("dagminer_device_energy_joules_total", "counter", "GPU energy used since the driver was loaded, read every 10 s.",
             [](const DeviceStatus&, const DeviceTelemetry& t) { return t.energy_j; });
  per_device("dagminer_device_sm_clock_hertz", "gauge", "GPU SM clock.",
             [&](const DeviceStatus&, const DeviceTelemetry& t) { return scaled(t.sm_clock_mhz, 1e6); });
  per_device("dagminer_device_memory_clock_hertz", "gauge", "GPU memory clock.",
             [&](const DeviceStatus&, const DeviceTelemetry& t) { return scaled(t.memory_clock_mhz, 1e6); });
  per_device("dagminer_device_fan_speed_ratio", "gauge", "GPU fan speed, 0 to 1 of its maximum (cards with a fan).",
             [&](const DeviceStatus&, const DeviceTelemetry& t) { return scaled(t.fan_percent, 0.01); });
  per_device("dagminer_device_utilization_ratio", "gauge", "Share of time a GPU kernel was running, 0 to 1.",
             [&](const DeviceStatus&, const DeviceTelemetry& t) { return scaled(t.utilization_percent, 0.01); });
  m.family("dagminer_device_ecc_errors_total", "counter", "GPU memory ECC errors since the driver was loaded, by type.");
  for (const auto& dev : s.devices)
    if (dev.telemetry) {
      if (const auto& n = dev.telemetry->ecc_corrected) m.sample({{"device", dev.info.id}, {"type", "corrected"}}, d(*n));
      if (const auto& n = dev.telemetry->ecc_uncorrected) m.sample({{"device", dev.info.id}, {"type", "uncorrected"}}, d(*n));
    }
  per_device("dagminer_device_pcie_link_generation", "gauge", "Current PCIe link generation of a GPU.",
             [&](const DeviceStatus&, const DeviceTelemetry& t) { return scaled(t.pcie_generation, 1); });
  per_device("dagminer_device_pcie_link_width", "gauge", "Current PCIe link width (lanes) of a GPU.",
             [&](const DeviceStatus&, const DeviceTelemetry& t) { return scaled(t.pcie_width, 1); });
  per_device("dagminer_device_hashes_per_joule", "gauge",
             "Efficiency: the last rate interval's hashrate over the GPU's power draw, in hashes per joule.",
             [](const DeviceStatus& dev, const DeviceTelemetry&) { return dev.hashes_per_joule; });
  m.family("dagminer_device_throttle_reason", "gauge", "1 while a reason holds a GPU's clocks down (NVML clock event reasons).");
  for (const auto& dev : s.devices)
    if (dev.telemetry && dev.telemetry->throttle_reasons)
      for (const ThrottleReason r : all_throttle_reasons)
        m.sample({{"device", dev.info.id}, {"reason", to_string(r)}},
                 (*dev.telemetry->throttle_reasons & static_cast<std::uint64_t>(r)) != 0);
  m.family("dagminer_device_protection_paused", "gauge",
           "1 while a device gets no work because a temperature reached its limit, by reason.");
  for (const auto& dev : s.devices)
    if (dev.telemetry)
      for (const PauseReason r : {PauseReason::temperature, PauseReason::memory_temperature})
        m.sample({{"device", dev.info.id}, {"reason", to_string(r)}}, dev.protection.paused_for(r));
  m.family("dagminer_device_faulted", "gauge", "1 once a device has faulted (the API's fault says why).");
  for (const auto& dev : s.devices) m.sample({{"device", dev.info.id}}, !dev.fault.empty());
}

}  // namespace

std::string prometheus_metrics(const ServiceSnapshot& s) {
  Exposition m;
  m.family("dagminer_build_info", "gauge", "The running dagminer: version, commit, build, CUDA and GPU code (always 1).");
  m.sample({{"version", s.build.version},
            {"commit", s.build.commit},
            {"build_type", s.build.build_type},
            {"cuda_runtime", s.build.cuda_runtime},
            {"cuda_driver", s.build.cuda_driver},
            {"cuda_architectures", s.build.cuda_architectures}},
           1);
  m.family("dagminer_uptime_seconds", "gauge", "Seconds since the engine started.");
  m.sample({}, s.uptime_seconds);
  m.family("dagminer_paused", "gauge", "1 while paused through the API.");
  m.sample({}, s.paused);
  m.family("dagminer_healthy", "gauge", "1 while every device with work is computing hashes (the watchdog's check).");
  m.sample({}, s.health_problem.empty());

  m.family("dagminer_device_hashes_per_second", "gauge", "Hashrate of a device over the last rate interval.");
  for (const auto& dev : s.devices) m.sample({{"device", dev.info.id}, {"kind", dev.info.kind}}, dev.hashrate);
  m.family("dagminer_device_hashes_total", "counter", "Nonces a device has searched.");
  for (const auto& dev : s.devices) m.sample({{"device", dev.info.id}}, d(dev.counters.hashes));
  m.family("dagminer_device_candidates_dropped_total", "counter", "Candidates lost to a full results buffer.");
  for (const auto& dev : s.devices) m.sample({{"device", dev.info.id}}, d(dev.counters.candidates_dropped));
  m.family("dagminer_device_hardware_errors_total", "counter", "Candidates of a device that failed CPU verification.");
  for (const auto& dev : s.devices) {
    const auto shares = s.device_shares.find(dev.info.id);
    m.sample({{"device", dev.info.id}}, shares == s.device_shares.end() ? 0 : d(shares->second.hardware_errors));
  }
  m.family("dagminer_device_replaced_job_hashes_total", "counter",
           "Hashes a device finished after their job was replaced (an upper bound of the work spent on replaced jobs).");
  for (const auto& dev : s.devices) m.sample({{"device", dev.info.id}}, d(dev.counters.replaced_job_hashes));
  m.family("dagminer_job_switch_seconds", "histogram",
           "From a pool's notify line read off the socket to the first launch (or CPU batch) of that job on a device.");
  for (const auto& dev : s.devices) {
    const auto& latency = dev.job_switch;
    if (latency.count() == 0) continue;
    for (std::size_t i = 0; i < LatencyRecorder::bounds.size(); ++i)
      m.sample("_bucket", {{"device", dev.info.id}, {"le", Exposition::number(LatencyRecorder::bounds[i])}},
               d(latency.cumulative_counts()[i]));
    m.sample("_bucket", {{"device", dev.info.id}, {"le", "+Inf"}}, d(latency.count()));
    m.sample("_sum", {{"device", dev.info.id}}, latency.sum());
    m.sample("_count", {{"device", dev.info.id}}, d(latency.count()));
  }
  m.family("dagminer_device_healthy", "gauge", "0 once a GPU stopped on its own (see the API's fault), else 1.");
  for (const auto& dev : s.devices) m.sample({{"device", dev.info.id}}, dev.fault.empty());
  device_health_families(m, s);

  m.family("dagminer_shares_total", "counter",
           "Shares by pool and outcome (hardware_error: failed CPU verification, never sent). Pools removed by a reload "
           "keep their counts; pool \"(expired)\" holds stale shares whose job was already forgotten.");
  // Every configured pool (zeros before its first share), then the ledger's other names, so that
  // the samples add up to the totals and a counter never disappears.
  std::map<std::string, ShareCounts> by_pool = s.pool_shares;
  for (const auto& p : s.pools) by_pool[p.name] = p.shares;
  for (const auto& [pool, shares] : by_pool) {
    const std::pair<const char*, std::uint64_t> outcomes[] = {{"accepted", shares.accepted},
                                                              {"rejected", shares.rejected},
                                                              {"stale", shares.stale},
                                                              {"timed_out", shares.timed_out},
                                                              {"hardware_error", shares.hardware_errors}};
    for (const auto& [outcome, count] : outcomes) m.sample({{"pool", pool}, {"outcome", outcome}}, d(count));
  }
  m.family("dagminer_share_journal_errors_total", "counter",
           "Share records the share journal could not write (a full disk), since the journal was opened.");
  m.sample({}, d(s.share_journal_errors));
  m.family("dagminer_shares_pending", "gauge", "Shares sent to a pool and not yet answered.");
  for (const auto& p : s.pools) m.sample({{"pool", p.name}}, d(p.shares.pending));
  m.family("dagminer_pool_accepted_difficulty_total", "counter",
           "Sum of the job difficulties of a pool's accepted shares: the work the pool credits.");
  for (const auto& p : s.pools) m.sample({{"pool", p.name}}, p.shares.accepted_difficulty);
  m.family("dagminer_pool_up", "gauge", "1 while a pool is connected, authorized and has sent a job.");
  for (const auto& p : s.pools) m.sample({{"pool", p.name}}, p.alive);
  m.family("dagminer_pool_enabled", "gauge", "0 while a pool is disabled (configuration or API).");
  for (const auto& p : s.pools) m.sample({{"pool", p.name}}, p.enabled);
  m.family("dagminer_pool_mining", "gauge", "1 while the strategy gives a pool hashes.");
  for (const auto& p : s.pools) m.sample({{"pool", p.name}}, p.mining);
  m.family("dagminer_pool_unhealthy", "gauge",
           "1 while a pool is marked for rejecting shares that verified here or for a wrong algorithm (the API's problem).");
  for (const auto& p : s.pools) m.sample({{"pool", p.name}}, !p.problem.empty());
  m.family("dagminer_pool_blocks_found_total", "counter",
           "Blocks found solo: solutions a getwork node accepted (always 0 for Stratum pools).");
  for (const auto& p : s.pools) m.sample({{"pool", p.name}}, d(p.blocks_found));
  m.family("dagminer_pool_latency_seconds", "gauge", "Round trip of the last request a connected pool answered.");
  for (const auto& p : s.pools)
    if (p.latency) m.sample({{"pool", p.name}}, static_cast<double>(p.latency->count()) / 1000);

  m.family("dagminer_dag_build_duration_seconds", "summary",
           "DAG builds of a GPU and their wall time (light-cache upload and build).");
  for (const auto& dev : s.devices)
    if (dev.memory) {
      m.sample("_sum", {{"device", dev.info.id}}, dev.memory->total_dag_build_seconds);
      m.sample("_count", {{"device", dev.info.id}}, d(dev.memory->dag_builds));
    }
  m.family("dagminer_dag_build_last_duration_seconds", "gauge", "Wall time of a GPU's last DAG build.");
  for (const auto& dev : s.devices)
    if (dev.memory) m.sample({{"device", dev.info.id}}, dev.memory->last_dag_build_seconds);
  m.family("dagminer_device_memory_bytes", "gauge", "GPU memory a device holds, by kind: dag, light_cache, staging, results.");
  for (const auto& dev : s.devices)
    if (dev.memory)
      for (std::size_t k = 0; k < memory_kind_count; ++k)
        m.sample({{"device", dev.info.id}, {"kind", to_string(static_cast<MemoryKind>(k))}}, d(dev.memory->bytes[k]));
  m.family("dagminer_device_memory_budget_bytes", "gauge", "GPU memory the DAGs and light caches of a device may take.");
  for (const auto& dev : s.devices)
    if (dev.memory) m.sample({{"device", dev.info.id}}, d(dev.memory->budget_bytes));
  m.family("dagminer_device_resident_dags", "gauge", "DAGs resident on a GPU.");
  for (const auto& dev : s.devices)
    if (dev.memory) m.sample({{"device", dev.info.id}}, d(dev.memory->resident.size()));
  m.family("dagminer_device_dag_evictions_total", "counter", "DAGs a GPU evicted to make room for another epoch.");
  for (const auto& dev : s.devices)
    if (dev.memory) m.sample({{"device", dev.info.id}}, d(dev.memory->evictions));
  m.family("dagminer_api_refused_connections_total", "counter",
           "API connections closed unanswered, by reason: total (every slot taken) or per_address (one address's share taken).");
  for (const auto& [reason, count] : s.api_refused_connections) m.sample({{"reason", reason}}, d(count));
  return m.take();
}

}  // namespace dagminer
