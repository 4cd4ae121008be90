#include "dagminer/daemon/device_record.hpp"

#include <bit>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

namespace dagminer {

DeviceRecord::DeviceRecord(std::unique_ptr<SearchDevice> device) : device_(std::move(device)) {
  status_.info = device_->describe();
}

void DeviceRecord::give_work(std::vector<WorkItem> items, Clock::time_point now) {
  WorkSignature signature;
  for (const auto& item : items) signature.push_back({item.tag, item.weight, std::bit_width(item.boundary)});
  if (signature == work_) return;
  if (work_.empty()) last_progress_ = now;
  work_ = std::move(signature);
  try {
    device_->set_work(std::move(items));
  } catch (const std::exception& e) {
    spdlog::error("device {}: cannot take new work: {}", id(), e.what());
  }
}

bool DeviceRecord::holds(const LightCache& epoch) {
  const auto memory = device_->status().memory;
  const std::uint64_t need = epoch.dataset_bytes + epoch.bytes().size();
  if (!memory || need <= memory->budget_bytes) return true;
  std::string problem = fmt::format(
      "cannot hold the {} epoch {} DAG: {:.2f} GiB with its light cache, over its memory budget of {:.2f} GiB (it holds "
      "up to epoch {}); the pools at that epoch mine on the other devices",
      to_string(epoch.algo), epoch.epoch, static_cast<double>(need) / (1u << 30),
      static_cast<double>(memory->budget_bytes) / (1u << 30), last_epoch_within(memory->budget_bytes));
  if (problem != status_.dag_problem) spdlog::error("device {}: {}", id(), problem);
  status_.dag_problem = std::move(problem);
  return false;
}

void DeviceRecord::sample_rate(Clock::time_point now, double seconds) {
  const auto c = device_->counters();
  status_.counters = c;
  status_.hashrate = static_cast<double>(c.hashes - last_hashes_) / seconds;
  // Over the power draw, not the energy counter's steps: the counter is read only every 10 s
  // (each read costs the driver milliseconds of CPU), out of step with the rate interval.
  const auto telemetry = device_->status().telemetry;
  status_.hashes_per_joule.reset();
  if (telemetry && telemetry->power_w && *telemetry->power_w > 0)
    status_.hashes_per_joule = status_.hashrate / *telemetry->power_w;
  if (c.hashes != last_hashes_) last_progress_ = now;
  last_hashes_ = c.hashes;
}

std::optional<Clock::duration> DeviceRecord::stalled_for(Clock::time_point now) const {
  if (work_.empty()) return std::nullopt;
  return now - last_progress_;
}

bool DeviceRecord::work_started(const Job& job, Clock::time_point issued) {
  const std::pair epoch{job.algo, job.epoch};
  if (epoch_ == epoch) {
    status_.job_switch.record(std::chrono::duration<double>(issued - job.received).count());
    return false;
  }
  epoch_ = epoch;
  return true;
}

DeviceStatus DeviceRecord::status() const {
  DeviceStatus out = status_;
  out.counters = device_->counters();
  auto report = device_->status();
  out.memory = std::move(report.memory);
  out.fault = std::move(report.fault);
  out.telemetry = std::move(report.telemetry);
  out.launch = std::move(report.launch);
  out.dag_problem = status_.dag_problem;
  return out;
}

bool DeviceRecord::check_health(const ProtectionSettings& settings) {
  const bool could_work = may_work();
  auto report = device_->status();
  status_.limits = settings;
  for (const auto& event : apply_reading(status_.protection, settings, report.telemetry))
    spdlog::warn("{}", describe(id(), event));
  if (!report.fault.empty() && !faulted_) {
    faulted_ = true;
    fault_needs_restart_ = report.fault_needs_restart;
    spdlog::error("device {}: faulted: {}{}", id(), report.fault,
                  fault_needs_restart_ ? " (a sticky error: only a new process can use this GPU again)" : "");
  }
  log_launch(std::move(report.launch));
  return may_work() != could_work;
}

void DeviceRecord::log_launch(std::optional<LaunchReport> launch) {
  if (!launch) return;
  const bool new_origin = !launch_ || launch_->origin != launch->origin;
  if (new_origin && launch->origin == LaunchOrigin::tuning)
    spdlog::info(
        "device {}: tuning its launch shape on the work it mines (the candidate shapes take turns for about a "
        "minute; every launch mines, nothing is paused)",
        id());
  else if (new_origin && launch->origin == LaunchOrigin::tuned)
    spdlog::info("device {}: launch shape tuned, kept for this card: {}", id(), launch->shape);
  else if (new_origin && launch->origin == LaunchOrigin::stored)
    spdlog::info("device {}: launch shape from an earlier tuning of this card: {}", id(), launch->shape);
  if (!launch->problem.empty() && (!launch_ || launch_->problem != launch->problem))
    spdlog::warn("device {}: launch shape: {}", id(), launch->problem);
  launch_ = std::move(launch);
}

std::optional<std::string> DeviceRecord::job_switch_report() const {
  const auto q = status_.job_switch.recent();
  if (!q) return std::nullopt;
  const auto c = device_->counters();
  return fmt::format(
      "{} job switches, notify line to first launch p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms (last {}); "
      "{:.4f}% of hashes on replaced jobs",
      status_.job_switch.count(), q->p50 * 1e3, q->p99 * 1e3, q->max * 1e3, q->samples,
      c.hashes ? 100.0 * static_cast<double>(c.replaced_job_hashes) / static_cast<double>(c.hashes) : 0.0);
}

}  // namespace dagminer
