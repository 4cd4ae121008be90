// One search device as the engine drives it: the device, the work last given to it, its rate
// and progress, and the epoch it mines. Lives on the event loop; only the device's own threads
// run beside it, and they reach the engine by posting to the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dagminer/core/device.hpp"
#include "dagminer/core/job.hpp"
#include "dagminer/daemon/status.hpp"

namespace dagminer {

class DeviceRecord {
 public:
  explicit DeviceRecord(std::unique_ptr<SearchDevice> device);

  const DeviceInfo& info() const noexcept { return status_.info; }
  const std::string& id() const noexcept { return status_.info.id; }
  SearchDevice& device() noexcept { return *device_; }
  double hashrate() const noexcept { return status_.hashrate; }
  bool has_work() const noexcept { return !work_.empty(); }

  // Gives the device a new work set unless it already has the same jobs at the same weights
  // (a no-op update would only cost the device a restart of its launch pipeline). A device that
  // fails to take it (a lost GPU) is logged; the others mine on and the watchdog sees it.
  void give_work(std::vector<WorkItem> items, Clock::time_point now);
  // Whether the device's memory budget holds this epoch's DAG and light cache; a device without
  // memory of its own (the CPU) holds any. An epoch it cannot hold is logged once and kept as
  // the status's dag_problem; the engine gives such jobs to the other devices only.
  bool holds(const LightCache& epoch);
  // Reads the device's counters and sets the rate over the `seconds` since the last sample.
  void sample_rate(Clock::time_point now, double seconds);
  // How long a device with work has computed no hash; nothing while it progresses or idles.
  std::optional<Clock::duration> stalled_for(Clock::time_point now) const;
  // A job's first launch here. Within the epoch last mined it is a job switch, whose latency
  // (from the job's arrival) is recorded, and this returns false; else the device moves to the
  // job's epoch and this returns true.
  bool work_started(const Job& job, Clock::time_point issued);
  // The status with the device's current counters, memory, telemetry and fault.
  DeviceStatus status() const;

  // Reads the device's status once: applies the temperature limits to its telemetry, notes a
  // new fault and logs where its launch shape comes from when that changes (tuning begun, tuned,
  // taken from an earlier tuning) and a new problem storing it. Returns true when the device's
  // eligibility for work changed.
  bool check_health(const ProtectionSettings& settings);
  // Neither paused by its temperature limits nor faulted.
  bool may_work() const noexcept { return !status_.protection.paused() && !faulted_; }
  bool faulted() const noexcept { return faulted_; }
  // The fault left the process unable to use the device again: only a new process recovers.
  bool fault_needs_restart() const noexcept { return fault_needs_restart_; }
  // "N job switches, p50 ... (last n); x% of hashes on replaced jobs"; nothing before the first switch.
  std::optional<std::string> job_switch_report() const;

 private:
  struct ItemSignature {
    std::uint64_t tag;
    std::uint32_t weight;
    int boundary_bits;  // the share boundary's bit width: a change of 2x or more is new work
    bool operator==(const ItemSignature&) const = default;
  };
  using WorkSignature = std::vector<ItemSignature>;

  void log_launch(std::optional<LaunchReport> launch);

  std::unique_ptr<SearchDevice> device_;
  DeviceStatus status_;
  WorkSignature work_;
  std::uint64_t last_hashes_ = 0;
  Clock::time_point last_progress_{};                       // hashes last moved, or work was set on an idle device
  std::pair<Algorithm, int> epoch_{Algorithm::ethash, -1};  // of the last started job; -1 before
  bool faulted_ = false;
  bool fault_needs_restart_ = false;
  std::optional<LaunchReport> launch_;  // as last logged
};

}  // namespace dagminer
