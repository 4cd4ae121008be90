// The search-device interface: what the daemon drives, whether the hashes come from CPU
// threads (core's CpuSearchDevice) or a CUDA GPU (gpu/). The daemon never knows which.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dagminer/core/device_memory.hpp"
#include "dagminer/core/ethash.hpp"
#include "dagminer/core/telemetry.hpp"

namespace dagminer {

struct DeviceInfo {
  std::string id;    // stable handle used in config, logs and metrics: "cpu", "gpu0", ...
  std::string kind;  // "cpu" or "cuda"
  std::string name;  // human-readable model
  std::uint64_t memory_bytes = 0;
  std::string compute_capability;  // "9.0" for CUDA devices, empty for the CPU
};

// One job as a device sees it: the job blob of the design (header, 64-bit boundary, nonce
// range) plus the light cache of the epoch it needs (a GPU builds the DAG from it) and a tag the
// daemon uses to route candidates back.
struct WorkItem {
  std::uint64_t tag = 0;
  std::shared_ptr<const LightCache> light_cache;
  Hash256 header{};
  std::uint64_t boundary = 0;     // candidates have final-hash top 64 bits <= boundary
  std::uint64_t nonce_start = 0;  // this device's slice: [nonce_start, nonce_start + nonce_count)
  std::uint64_t nonce_count = 0;
  std::uint32_t weight = 1;  // share of this device's hashes among the items set together
};

struct Candidate {
  std::uint64_t tag = 0;
  std::uint64_t nonce = 0;
  Hash256 mix_hash{};
};

struct DeviceCounters {
  std::uint64_t hashes = 0;              // nonces fully searched, exactly
  std::uint64_t candidates = 0;          // delivered to the sink
  std::uint64_t candidates_dropped = 0;  // lost to a full results buffer (counted, never silent)
  // Of `hashes`, those that may have been spent on jobs after set_work had dropped them: an upper
  // bound (a GPU counts, for each launch cancelled while it ran, what it searched up to the most
  // hashes the GPU runs at once; the CPU counts the hashes that finished after the replacement).
  std::uint64_t replaced_job_hashes = 0;
};

// Where a device's launch shape came from.
enum class LaunchOrigin {
  configured,  // pinned by the configuration (or the command line)
  preset,      // the built-in default, until the first DAG is mined (then stored or tuned)
  tuning,      // candidate shapes taking turns on the work mined
  tuned,       // the fastest candidate, kept (and stored) for this card
  stored,      // tuned on an earlier start of this card
};
inline const char* to_string(LaunchOrigin o) noexcept {
  switch (o) {
    case LaunchOrigin::configured: return "configured";
    case LaunchOrigin::preset: return "default";
    case LaunchOrigin::tuning: return "tuning";
    case LaunchOrigin::tuned: return "tuned";
    case LaunchOrigin::stored: return "stored";
  }
  return "unknown";
}

// How a device that has a choice of launch shapes launches its searches (a GPU), in its words.
struct LaunchReport {
  std::string shape;  // "block=128 registers=128 launch=4194304 streams=3"
  LaunchOrigin origin = LaunchOrigin::preset;
  std::string problem;  // why a tuned shape could not be stored or read back; empty if none
  bool operator==(const LaunchReport&) const = default;
};

// What a device says of its own state beside its counters; what a backend does not have stays
// empty. The daemon shows it as it is, whichever backend filled it in.
struct DeviceStatusReport {
  std::string fault;                         // why the device stopped searching on its own; empty while healthy
  std::optional<MemoryStats> memory;         // devices with memory of their own (GPUs)
  std::optional<DeviceTelemetry> telemetry;  // GPUs whose driver reports readings
  // The fault left the process unable to use the device again (a sticky CUDA error, a launch
  // that never completes): only a new process recovers.
  bool fault_needs_restart = false;
  std::optional<LaunchReport> launch;  // devices with launch shapes (GPUs)
};

// Both are called from the device's own threads, or from within set_work; they must be cheap,
// thread-safe and must not call back into the device (post to a queue). work_started, optional,
// reports the moment a tag's first batch or launch was issued: with the job's arrival time it
// gives the job-switch latency.
using CandidateSink = std::function<void(const Candidate&)>;
using WorkStartSink = std::function<void(std::uint64_t tag, std::chrono::steady_clock::time_point issued)>;

struct DeviceSinks {
  DeviceSinks(CandidateSink candidate_sink, WorkStartSink work_start_sink = {})
      : candidate(std::move(candidate_sink)), work_started(std::move(work_start_sink)) {}
  CandidateSink candidate;
  WorkStartSink work_started;
};

class SearchDevice {
 public:
  virtual ~SearchDevice() = default;

  virtual DeviceInfo describe() const = 0;

  // Makes an epoch ready to mine (a GPU builds its DAG). Blocking, thread-safe, and allowed
  // while another epoch is being mined, so the next epoch can be prepared ahead of time.
  virtual void prepare(std::shared_ptr<const LightCache> epoch) = 0;

  // Replaces the whole work set; takes effect at the device's next batch or launch, without
  // draining work in flight. An empty set idles the device. Items whose epoch is not
  // prepared are prepared first. An item whose tag is already being searched keeps its
  // progress (it continues where it got, never re-searching nonces: that would find duplicate
  // shares); a new tag starts at its nonce_start.
  virtual void set_work(std::vector<WorkItem> work) = 0;

  virtual void start(DeviceSinks sinks) = 0;
  // Returns once no search runs; no candidate is delivered after it returns.
  virtual void stop() = 0;

  virtual DeviceCounters counters() const = 0;
  virtual DeviceStatusReport status() const = 0;  // thread-safe, cheap
};

}  // namespace dagminer
