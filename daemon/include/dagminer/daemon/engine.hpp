// The multi-pool engine: keeps a JobSource per pool, decides which pools the devices mine and
// gives them their work, and wires the job's path (JobBook, DeviceRecord) to the share's path
// (ShareRouter). Runs on one Asio event loop; device threads only post to it; slow work (light
// caches, CPU verification, DAG preparation) runs on worker threads.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "dagminer/core/device.hpp"
#include "dagminer/core/scheduler.hpp"
#include "dagminer/daemon/config.hpp"
#include "dagminer/daemon/device_record.hpp"
#include "dagminer/daemon/epoch_provider.hpp"
#include "dagminer/daemon/job_book.hpp"
#include "dagminer/daemon/next_epoch.hpp"
#include "dagminer/daemon/pool_health.hpp"
#include "dagminer/daemon/recent.hpp"
#include "dagminer/daemon/share_router.hpp"
#include "dagminer/daemon/status.hpp"
#include "dagminer/stratum/job_source.hpp"

namespace dagminer {

class Engine {
 public:
  Engine(boost::asio::io_context& io, Config config, std::vector<std::unique_ptr<SearchDevice>> devices);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

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
  const ShareLedger& ledger() const noexcept { return shares_.ledger(); }
  std::uint64_t share_journal_errors() const noexcept { return shares_.journal().errors(); }
  double hashrate() const;  // H/s, all devices
  bool mining() const;      // some device has work
  // Empty when healthy; else why not: a device with work whose hash count stopped moving.
  std::string health_problem() const;
  Clock::time_point started() const noexcept { return started_; }
  // Non-empty once the daemon should exit with gpu_fault_exit_status for a new process: a GPU
  // fault that needs one under gpu_fault_action restart, or no device left unfaulted.
  const std::string& fault_exit() const noexcept { return fault_exit_; }
  // The dashboard's views: the total hashrate at each rate interval of the last hour, and the
  // last share outcomes.
  const RecentRing<HashrateSample>& history() const noexcept { return history_; }
  const RecentRing<ShareRecord>& recent_shares() const noexcept { return shares_.recent(); }

 private:
  struct Pool {
    PoolConfig config;
    std::unique_ptr<stratum::JobSource> client;  // null while disabled, closed or unusable
    bool alive = false;
    Clock::time_point alive_since{};
    bool told_difficulty_raised = false;  // the max_share_rate error is said once
    bool past_max_epoch = false;          // its current job was refused: no work from it
    bool cache_refused = false;           // its current job's light cache would exceed light_cache_memory
    std::set<int> refused_epochs;         // logged once each
    // Whether it accepts what is computed here (pool_health.hpp).
    bool wrong_algorithm = false;      // its current job settles that it computes the other one: refused
    std::set<Hash256> told_algorithm;  // seeds whose algorithm evidence was logged
    Hash256 seed{};                    // of its latest job
    bool accepted_at_seed = false;     // a share accepted since the seed changed
    RejectionRun rejections;
    std::string problem;                 // why it is marked unhealthy; empty while it is not
    Clock::time_point cooled_down_at{};  // after a run of rejections it is not mined before this
  };

  void add_pool(const PoolConfig& config);
  void connect(Pool& pool);
  void close(Pool& pool, const std::string& why);
  void on_job(const std::string& pool, Job job);
  void on_state(const std::string& pool, stratum::ConnectionState state);
  bool wrong_algorithm(Pool& pool, const Job& job);
  void on_settled(const Share& share, const ShareResult& result);
  void on_work_started(std::size_t device, JobTag tag, Clock::time_point issued);
  void reschedule();
  std::set<EpochProvider::Key> wanted_epochs() const;
  std::vector<WorkItem> work_for(const std::vector<SelectedPool>& selection, std::size_t device);
  Target mining_target(Pool& pool, const Job& job);
  double share_rate_basis() const;
  void report_hashrate(double total) const;
  void tick();
  void check_device_health();
  boost::asio::awaitable<void> keep_ticking();
  boost::asio::awaitable<void> settle_and_close(Clock::time_point deadline, std::function<void()> done);
  bool prepares_after(int epoch) const;
  void log_summary() const;

  boost::asio::io_context& io_;
  Config config_;
  boost::asio::thread_pool background_{2};  // light-cache builds and DAG preparation (seconds each)
  EpochProvider epochs_;
  std::vector<DeviceRecord> devices_;
  NextEpochPreparer next_epoch_;
  std::map<std::string, Pool> pools_;
  // Per pool name, the blocks found over its closed connections: the count outlives a disable,
  // a reconnect for new settings or a removal and return, as the share ledger does.
  std::map<std::string, std::uint64_t> blocks_found_before_;
  JobBook jobs_;
  ShareRouter shares_;
  PoolSelector selector_;
  RecentRing<HashrateSample> history_;
  std::vector<SelectedPool> mining_;  // the current selection
  Clock::time_point idle_since_{};    // when the selection last became empty
  std::vector<std::string> worked_;   // the pools whose jobs the devices were last given
  Clock::time_point last_rate_{};
  Clock::time_point last_summary_{};
  Clock::time_point started_{};
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer stop_timer_;
  bool stopping_ = false;
  bool paused_ = false;
  std::string fault_exit_;
};

}  // namespace dagminer
