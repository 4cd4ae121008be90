// The multi-pool engine: pool clients in, device work out, candidates back to shares. Runs on
// one Asio event loop; device threads only post candidates to it; slow work (light caches,
// CPU verification, DAG preparation) runs on worker threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "dagminer/core/config.hpp"
#include "dagminer/core/device.hpp"
#include "dagminer/core/latency.hpp"
#include "dagminer/core/scheduler.hpp"
#include "dagminer/core/device_memory.hpp"
#include "dagminer/stratum/job_source.hpp"
#include "epoch_provider.hpp"
#include "share_journal.hpp"

namespace dagminer {

struct DeviceStatus {
  DeviceInfo info;
  DeviceCounters counters;
  double hashrate = 0;  // H/s over the last rate interval
  std::optional<MemoryStats> memory;  // GPUs only
  std::string fault;                       // why a GPU stopped on its own; empty if healthy
  LatencyRecorder job_switch;              // a job's notify line read to its first launch here (same epoch)
};

struct PoolStatus {
  std::string name;
  std::string url;
  bool enabled = true;
  bool alive = false;
  bool mining = false;  // selected by the strategy right now
  std::string current_job;
  int epoch = -1;
  ShareCounts shares;
  std::optional<std::chrono::milliseconds> latency;  // round trip of the last answered request, while connected
};

class Engine {
 public:
  Engine(boost::asio::io_context& io, Config config, std::vector<std::unique_ptr<SearchDevice>> devices);
  ~Engine();

  void start();
  // Applies a validated configuration: added, removed or edited pools (re)connect, untouched
  // pools keep their connections, the devices and their DAGs stay.
  void reload(Config config);
  // Stops the devices, waits up to `grace` for pending share replies, closes the pools, then
  // calls done (on the loop).
  void stop(std::chrono::milliseconds grace, std::function<void()> done);

  // Runtime controls (the HTTP API): a disabled pool disconnects until enabled again; a paused
  // engine gives the devices no work. Return false for an unknown pool name.
  bool set_pool_enabled(const std::string& name, bool enabled);
  void pause();
  void resume();
  bool paused() const noexcept { return paused_; }

  std::vector<PoolStatus> pools() const;
  std::vector<DeviceStatus> devices() const;
  const ShareLedger& ledger() const noexcept { return ledger_; }
  double hashrate() const;  // H/s, all devices
  bool mining() const;      // some device has work
  // Empty when healthy; else why not: a device with work whose hash count stopped moving.
  std::string health_problem() const;
  Clock::time_point started() const noexcept { return started_; }

 private:
  struct JobRecord {
    Job job;
    std::shared_ptr<const LightCache> cache;
    bool valid = true;  // false once the pool sent a clean job after it
    Clock::time_point epoch_since{};  // arrival of the pool's first job at this job's epoch
  };
  struct Pool {
    PoolConfig config;
    std::unique_ptr<stratum::JobSource> client;
    bool alive = false;
    Clock::time_point alive_since{};
    std::uint64_t current = 0;      // tag of the job to mine, 0 for none
    std::deque<std::uint64_t> jobs; // recent job tags, oldest first
  };
  struct PendingShare {
    Share share;
  };

  void add_pool(const PoolConfig& config);
  void connect(Pool& pool);
  void close(Pool& pool, const std::string& why);
  void on_job(const std::string& pool, Job job);
  void on_state(const std::string& pool, stratum::ConnectionState state, const std::string& reason);
  void on_share_result(const std::string& pool, std::uint64_t id, const ShareResult& result);
  void on_work_started(std::size_t device, std::uint64_t tag, Clock::time_point issued);
  void on_candidate(std::size_t device, Candidate candidate);
  void on_verified(std::size_t device, std::shared_ptr<const JobRecord> record, Candidate candidate, HashResult hash);
  void settle(const Share& share, const ShareResult& result);
  void reschedule();
  void prepare_next_epoch(const JobRecord& record);
  void prepare_due_epochs();
  void tick();
  void log_summary();
  void finish_stop();

  boost::asio::io_context& io_;
  Config config_;
  boost::asio::thread_pool verifiers_{2};   // CPU re-verification of candidates: never queued behind builds
  boost::asio::thread_pool background_{2};  // light-cache builds and DAG preparation (seconds each)
  EpochProvider epochs_;
  std::vector<std::unique_ptr<SearchDevice>> devices_;
  std::map<std::string, Pool> pools_;
  std::map<std::uint64_t, std::shared_ptr<JobRecord>> jobs_;
  std::uint64_t next_tag_ = 1;
  PoolSelector selector_;
  std::vector<PoolShare> mining_;               // the current selection
  std::vector<std::vector<std::uint64_t>> work_;// per device: tags last set, to skip no-op updates
  Clock::time_point idle_since_{};             // when the selection last became empty
  ShareLedger ledger_;
  ShareJournal journal_;
  std::map<std::pair<std::string, std::uint64_t>, PendingShare> pending_;  // (pool, submit id)
  std::vector<DeviceStatus> device_status_;
  std::vector<std::uint64_t> last_hashes_;
  std::vector<Clock::time_point> last_progress_;  // per device: hashes last moved, or work was set
  std::vector<std::pair<Algorithm, int>> mining_epoch_;  // per device: of its last started job, epoch -1 before
  std::map<std::pair<Algorithm, int>, Clock::time_point> prepare_due_;  // next epochs and when to prepare them
  Clock::time_point last_rate_{};
  Clock::time_point last_summary_{};
  Clock::time_point started_{};
  boost::asio::steady_timer timer_;
  bool stopping_ = false;
  bool paused_ = false;
  Clock::time_point stop_deadline_{};
  std::function<void()> stop_done_;
};

}  // namespace dagminer
