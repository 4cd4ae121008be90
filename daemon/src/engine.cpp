#include "dagminer/daemon/engine.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/algorithm_evidence.hpp"
#include "dagminer/core/target.hpp"
#include "dagminer/daemon/summary.hpp"

namespace dagminer {
namespace {

constexpr auto tick_period = std::chrono::seconds(1);
constexpr auto rate_interval = std::chrono::seconds(5);
constexpr auto stall_limit = std::chrono::seconds(30);  // a DAG build takes well under this
constexpr auto stop_poll = std::chrono::milliseconds(50);
constexpr auto wait_result = boost::asio::as_tuple(boost::asio::use_awaitable);  // errors as values, not exceptions
// Rates assumed for devices before one is measured: above what each kind reaches, so a pool's
// tiny difficulty is raised from the first launch (the measured rate takes over within seconds).
constexpr double assumed_cpu_rate = 1e6;
constexpr double assumed_gpu_rate = 2e9;

std::vector<DeviceRecord> records_of(std::vector<std::unique_ptr<SearchDevice>> devices) {
  std::vector<DeviceRecord> out;
  for (auto& d : devices) out.emplace_back(std::move(d));
  return out;
}

// The journal at `file` (none when empty), or nullopt, logged, when it cannot be opened: a reload
// then keeps the running journal rather than ending the daemon.
std::optional<ShareJournal> open_journal(const std::filesystem::path& file) {
  if (file.empty()) return ShareJournal();
  try {
    return ShareJournal(file);
  } catch (const std::system_error& e) {
    spdlog::error("share_journal: cannot open {} ({}), keeping the running journal", file.string(), e.code().message());
    return std::nullopt;
  }
}

std::vector<SearchDevice*> devices_of(std::vector<DeviceRecord>& records) {
  std::vector<SearchDevice*> out;
  for (auto& r : records) out.push_back(&r.device());
  return out;
}

// Whether `next` changes what the pool's connection uses. The engine's own settings apply in
// place: a pool's place in the list (its default priority), its weight, its share rate and
// cool-down do not cost its connection and the answers it owes.
bool reconnects_for(const PoolConfig& now, PoolConfig next) {
  next.priority = now.priority;
  next.weight = now.weight;
  next.max_share_rate = now.max_share_rate;
  next.rejection_cooldown = now.rejection_cooldown;
  return !(next == now);
}

}  // namespace

Engine::Engine(boost::asio::io_context& io, Config config, std::vector<std::unique_ptr<SearchDevice>> devices)
    : io_(io),
      config_(std::move(config)),
      epochs_(io.get_executor(), background_,
              LightCacheStore(config_.light_cache_dir.empty() ? LightCacheStore::default_directory() : config_.light_cache_dir),
              config_.light_cache_memory),
      devices_(records_of(std::move(devices))),
      next_epoch_(epochs_, background_, devices_of(devices_)),
      shares_(io.get_executor(), jobs_,
              [this](const std::string& pool) -> stratum::JobSource* {
                const auto it = pools_.find(pool);
                return it == pools_.end() ? nullptr : it->second.client.get();
              }),
      selector_(config_.strategy, config_.fallback_after),
      history_(std::chrono::hours(1) / rate_interval),
      tick_timer_(io),
      stop_timer_(io) {
  if (!config_.share_journal.empty()) shares_.set_journal(ShareJournal(config_.share_journal));
  shares_.on_settled([this](const Share& share, const ShareResult& result) { on_settled(share, result); });
}

Engine::~Engine() {
  epochs_.cancel_all();
  for (auto& d : devices_) d.device().stop();
  background_.join();
}

void Engine::start() {
  started_ = last_rate_ = last_summary_ = idle_since_ = Clock::now();
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    DeviceRecord& d = devices_[i];
    spdlog::info("device {}: {}", d.id(), d.info().name);
    d.device().start(
        {[this, i](const Candidate& c) { boost::asio::post(io_, [this, i, c] { shares_.on_candidate(devices_[i].id(), c); }); },
         [this, i](std::uint64_t tag, Clock::time_point issued) {
           boost::asio::post(io_, [this, i, tag, issued] { on_work_started(i, tag, issued); });
         }});
  }
  for (const auto& p : config_.pools) add_pool(p);
  boost::asio::co_spawn(io_, keep_ticking(), boost::asio::detached);
}

void Engine::add_pool(const PoolConfig& config) {
  Pool& pool = pools_[config.name];
  pool.config = config;
  if (config.enabled) connect(pool);
  else spdlog::info("pool {}: disabled in the configuration", config.name);
}

void Engine::connect(Pool& pool) {
  const std::string name = pool.config.name;
  stratum::JobSource::Callbacks callbacks;
  callbacks.on_job = [this, name](Job job) { on_job(name, std::move(job)); };
  // The source logs connection events with their reasons; the engine only tracks liveness.
  callbacks.on_state = [this, name](stratum::ConnectionState state, const std::string&) { on_state(name, state); };
  callbacks.on_share_result = [this, name](std::uint64_t id, const ShareResult& r) { shares_.on_share_result(name, id, r); };
  pool.problem.clear();  // (re)enabled: tried afresh
  pool.cooled_down_at = {};
  try {
    pool.client = stratum::make_job_source(io_.get_executor(), pool.config, std::move(callbacks));
    pool.client->start();
  } catch (const std::exception& e) {
    // Settings no source can use (the message names the pool): it stays down, without a
    // source, and the others mine on.
    pool.client.reset();
    spdlog::error("{}; the pool stays down", e.what());
  }
}

void Engine::on_job(const std::string& name, Job job) {
  auto it = pools_.find(name);
  if (it == pools_.end() || stopping_) return;
  Pool& pool = it->second;
  spdlog::debug("pool {}: job {} epoch {} difficulty {:.6g}{}", name, job.id, job.epoch, difficulty_of(job.target),
                job.clean ? " (clean)" : "");
  pool.past_max_epoch = job.epoch > config_.max_epoch;
  if (pool.past_max_epoch) {
    if (pool.refused_epochs.insert(job.epoch).second)
      spdlog::error(
          "pool {}: job {} asks for {} epoch {}, past max_epoch {} (its light cache alone: {} MiB); refused: "
          "the pool has no work until it sends a job at a lower epoch",
          name, job.id, to_string(job.algo), job.epoch, config_.max_epoch, light_cache_bytes(job.epoch) >> 20);
    return reschedule();
  }
  const bool was_wrong = std::exchange(pool.wrong_algorithm, wrong_algorithm(pool, job));
  if (pool.wrong_algorithm) return reschedule();
  if (was_wrong) pool.problem.clear();  // the job that settled it is gone
  const auto record = jobs_.find(jobs_.add(name, std::move(job)));
  epochs_.cancel_except(wanted_epochs());
  if (!pool.alive) {
    pool.alive = true;
    pool.alive_since = Clock::now();
  }
  // Refused for the memory budget, the pool is passed over (another is mined) until a job of
  // an epoch that fits; while the cache is on its way, it is waited for.
  pool.cache_refused = false;
  pool.cache_refused = !epochs_.get(record->job.algo, record->job.epoch, [this, record](std::shared_ptr<const LightCache> cache) {
    record->cache = std::move(cache);
    if (prepares_after(record->job.epoch)) next_epoch_.schedule_successor(record->job.algo, record->job.epoch, Clock::now());
    reschedule();
  });
  if (pool.cache_refused) reschedule();
}

void Engine::on_state(const std::string& name, stratum::ConnectionState state) {
  auto it = pools_.find(name);
  if (it == pools_.end()) return;
  if (state == stratum::ConnectionState::disconnected || state == stratum::ConnectionState::auth_failed) {
    it->second.alive = false;
    reschedule();
  }
}

// Says once per seed where a job points to another algorithm than the one it is mined with. True
// where the job settles it: the job is refused, since every share of it would be rejected.
bool Engine::wrong_algorithm(Pool& pool, const Job& job) {
  if (job.seed != pool.seed) {
    pool.seed = job.seed;
    pool.accepted_at_seed = false;
  }
  const auto evidence = algorithm_evidence(job.seed, job.height);
  if (!evidence || evidence->algo == job.algo) return false;
  const std::string line = algorithm_mismatch(job, *evidence);
  if (pool.told_algorithm.insert(job.seed).second) {
    if (evidence->settled) spdlog::error("pool {}: {}", pool.config.name, line);
    else spdlog::warn("pool {}: {}", pool.config.name, line);
  }
  if (evidence->settled) pool.problem = line;
  return evidence->settled;
}

// A run of rejections of shares that verified here marks the pool: said in one line, shown in the
// API and metrics, and passed over until its cool-down passes (then it is tried again). An
// accepted share clears the mark.
void Engine::on_settled(const Share& share, const ShareResult& result) {
  const auto it = pools_.find(share.pool);
  if (it == pools_.end()) return;
  Pool& pool = it->second;
  if (result.outcome == ShareOutcome::accepted) {
    pool.accepted_at_seed = true;
    pool.rejections.clear();
    if (!pool.problem.empty() && !pool.wrong_algorithm) {
      spdlog::info("pool {}: a share was accepted: no longer marked unhealthy", pool.config.name);
      pool.problem.clear();
      pool.cooled_down_at = {};
    }
    return;
  }
  if (!pool.rejections.record(result)) return;
  if (Clock::now() < pool.cooled_down_at) return pool.rejections.clear();  // answers to shares sent before it was left
  const auto current = jobs_.current(share.pool);
  pool.problem = fmt::format("{}; passed over for {} s (rejection_cooldown) while another pool can be mined",
                             rejection_problem(pool.rejections, current ? &current->job : nullptr, pool.accepted_at_seed),
                             pool.config.rejection_cooldown.count());
  pool.rejections.clear();
  pool.cooled_down_at = Clock::now() + pool.config.rejection_cooldown;
  spdlog::error("pool {}: {}", pool.config.name, pool.problem);
  reschedule();
}

void Engine::reschedule() {
  if (stopping_) return;
  const auto now = Clock::now();
  // A pool left for rejecting shares is passed over while another can be mined; with none other
  // it is mined still (idle hashes earn nothing either, and it may recover).
  const auto choose = [&](bool pass_over_rejecting) {
    std::vector<PoolCandidate> candidates;
    for (const auto& [name, p] : pools_)
      candidates.push_back({name, p.config.priority, p.config.weight, p.config.enabled,
                            p.alive && !p.past_max_epoch && !p.wrong_algorithm && !p.cache_refused &&
                                (!pass_over_rejecting || now >= p.cooled_down_at) && jobs_.current(name),
                            pass_over_rejecting ? std::max(p.alive_since, p.cooled_down_at) : p.alive_since});
    return selector_.select(candidates, now);
  };
  auto selection = choose(true);
  if (selection.empty()) selection = choose(false);
  if (selection != mining_) {
    std::string names;
    for (const auto& s : selection)
      names += (names.empty() ? "" : ", ") + s.pool + (selection.size() > 1 ? fmt::format(" (weight {})", s.weight) : "");
    if (paused_) spdlog::info("paused: the devices have no work");
    else if (selection.empty()) spdlog::warn("no pool is alive: devices keep the last work for up to the job timeout");
    else spdlog::info("mining {}", names);
    if (selection.empty()) idle_since_ = Clock::now();
    mining_ = selection;
  }
  if (paused_) selection.clear();
  // A pool whose light cache is still being built or loaded is not mined yet (the cache's
  // arrival reschedules); it is not treated as dead either, so waiting for it never fails over.
  std::erase_if(selection, [&](const SelectedPool& s) { return !jobs_.current(s.pool)->cache; });
  if (selection.empty() && !mining_.empty() && !paused_) return;  // keep the current work meanwhile
  if (selection.empty() && !paused_) {
    // Keep mining the last jobs for a while: shares found are held by the pool clients and
    // submitted if the job survives the reconnect. After the job timeout, idle. Not the jobs of
    // a pool disabled or removed: no client holds its shares.
    std::chrono::seconds grace{0};
    for (const auto& name : worked_)
      if (const auto it = pools_.find(name); it != pools_.end() && it->second.client)
        grace = std::max(grace, it->second.config.job_timeout);
    if (now - idle_since_ < grace) return;
  }
  worked_.clear();
  for (const auto& s : selection) worked_.push_back(s.pool);
  for (std::size_t d = 0; d < devices_.size(); ++d)
    devices_[d].give_work(devices_[d].may_work() ? work_for(selection, d) : std::vector<WorkItem>{}, now);
}

// The epochs the pools' current jobs need, and their successors while those are prepared ahead:
// a build for any other epoch is no longer worth its time or memory.
std::set<EpochProvider::Key> Engine::wanted_epochs() const {
  std::set<EpochProvider::Key> wanted;
  for (const auto& [name, p] : pools_)
    if (const auto current = jobs_.current(name)) {
      wanted.insert({current->job.algo, current->job.epoch});
      if (prepares_after(current->job.epoch)) wanted.insert({current->job.algo, current->job.epoch + 1});
    }
  return wanted;
}

// The next epoch is prepared ahead where it is wanted and one the daemon would mine (max_epoch).
bool Engine::prepares_after(int epoch) const { return config_.prepare_next_epoch && epoch < config_.max_epoch; }

// Each selected pool's current job, in this device's slice of the job's nonces.
std::vector<WorkItem> Engine::work_for(const std::vector<SelectedPool>& selection, std::size_t device) {
  std::vector<WorkItem> items;
  for (const auto& s : selection) {
    const JobTag tag = jobs_.current_tag(s.pool);
    const auto record = jobs_.find(tag);
    if (!devices_[device].holds(*record->cache)) continue;
    const NonceRange range = device_slice(record->job.nonces, device, devices_.size());
    const Target target = mining_target(pools_.at(s.pool), record->job);
    items.push_back({tag, record->cache, record->job.header, boundary64(target), range.start, range.count, s.weight});
  }
  return items;
}

// The pool's target, or a harder one where the pool's would bring more than max_share_rate
// shares a second at all the devices' rate. Shares found at it meet the pool's target too, so
// none is lost; the pool only sees fewer, harder ones.
Target Engine::mining_target(Pool& pool, const Job& job) {
  const double rate = share_rate_basis();
  const Target target = std::min(job.target, target_for_share_rate(rate, pool.config.max_share_rate));
  // Said once the rate is measured: the assumed one is above any card's, so a difficulty that
  // suits the rig would be named wrongly at the first job.
  if (target != job.target && hashrate() > 0 && !std::exchange(pool.told_difficulty_raised, true))
    spdlog::error(
        "pool {}: its difficulty {:.4g} would make about {:.0f} shares a second at {:.4g} H/s; mining it at difficulty "
        "{:.4g} here (max_share_rate: {:g}), and every share found still meets the pool's target",
        pool.config.name, difficulty_of(job.target), rate / (difficulty_of(job.target) * 4294967296.0), rate,
        difficulty_of(target), pool.config.max_share_rate);
  return target;
}

// The devices' measured rate, or before any is measured the rates assumed for their kinds.
double Engine::share_rate_basis() const {
  if (const double measured = hashrate(); measured > 0) return measured;
  double assumed = 0;
  for (const auto& d : devices_) assumed += d.info().kind == "cpu" ? assumed_cpu_rate : assumed_gpu_rate;
  return assumed;
}

// A job's first launch (or CPU batch) on a device: a job switch, whose latency the device
// records, or the device's first work or a move to another epoch, which is logged with the
// pause it cost (light cache and DAG, when not prepared ahead).
void Engine::on_work_started(std::size_t device, JobTag tag, Clock::time_point issued) {
  const auto record = jobs_.find(tag);
  if (!record) return;  // replaced long since
  const Job& job = record->job;
  if (!devices_[device].work_started(job, issued)) return;
  // Newer jobs may have come while the epoch was being prepared: the pause runs from the first.
  spdlog::info("device {}: mining {} epoch {} (pool {}, job {}): first launch {:.3f} ms after the pool's first job at this epoch",
               devices_[device].id(), to_string(job.algo), job.epoch, job.pool, job.id,
               std::chrono::duration<double, std::milli>(issued - record->epoch_since).count());
}

// Each pool hears the part of the hashrate it receives.
void Engine::report_hashrate(double total) const {
  unsigned weights = 0;
  for (const auto& m : mining_) weights += m.weight;
  for (const auto& m : mining_)
    if (const auto& p = pools_.at(m.pool); p.client) p.client->set_hashrate(total * m.weight / std::max(1u, weights));
}

boost::asio::awaitable<void> Engine::keep_ticking() {
  while (!stopping_) {
    tick();
    tick_timer_.expires_after(tick_period);
    if (const auto [ec] = co_await tick_timer_.async_wait(wait_result); ec) co_return;  // cancelled by stop
  }
}

void Engine::tick() {
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - last_rate_).count();
  if (now - last_rate_ >= rate_interval) {
    for (auto& d : devices_) d.sample_rate(now, seconds);
    last_rate_ = now;
    report_hashrate(hashrate());
    history_.push({unix_seconds(std::chrono::system_clock::now()), hashrate()});
  }
  if (now - last_summary_ >= config_.summary_interval) {
    last_summary_ = now;
    log_summary();
  }
  next_epoch_.start_due(now);
  check_device_health();
  reschedule();  // failover fallback is a matter of time
}

// A device paused by its temperature limits or faulted gets no work at once (its pools go on
// with the other devices); one that cooled down gets work at the reschedule that follows.
void Engine::check_device_health() {
  const auto now = Clock::now();
  for (auto& d : devices_)
    if (d.check_health(config_.protection.for_device(d.id())) && !d.may_work()) d.give_work({}, now);
  if (!fault_exit_.empty()) return;
  const bool all_faulted = std::all_of(devices_.begin(), devices_.end(), [](const DeviceRecord& d) { return d.faulted(); });
  for (const auto& d : devices_)
    if (d.fault_needs_restart() && config_.gpu_fault_action == GpuFaultAction::restart)
      fault_exit_ = fmt::format("device {} needs a new process (gpu_fault_action: restart)", d.id());
  if (fault_exit_.empty() && all_faulted) fault_exit_ = "every device has faulted";
  if (!fault_exit_.empty())
    spdlog::critical("{}: settling the shares, then exiting with status {} for a restart", fault_exit_, gpu_fault_exit_status);
}

double Engine::hashrate() const {
  double total = 0;
  for (const auto& d : devices_) total += d.hashrate();
  return total;
}

bool Engine::mining() const {
  return std::any_of(devices_.begin(), devices_.end(), [](const DeviceRecord& d) { return d.has_work(); });
}

std::string Engine::health_problem() const {
  const auto now = Clock::now();
  for (const auto& d : devices_)
    if (const auto stalled = d.stalled_for(now); stalled && *stalled > stall_limit)
      return fmt::format("device {} has work but has computed no hash for {} s", d.id(),
                         std::chrono::duration_cast<std::chrono::seconds>(*stalled).count());
  return {};
}

void Engine::log_summary() const {
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_);
  spdlog::info("{}", summary_line(hashrate(), devices(), pools(), ledger().total().hardware_errors, uptime));
}

void Engine::reload(Config config) {
  // Pools: compare by name; a pool whose connection settings changed reconnects, the others keep
  // their connections.
  for (auto it = pools_.begin(); it != pools_.end();) {
    const PoolConfig* next = config.find_pool(it->first);
    if (next && !reconnects_for(it->second.config, *next)) {
      it->second.config = *next;
      ++it;
      continue;
    }
    spdlog::info("pool {}: {}", it->first, next ? "changed, reconnecting" : "removed");
    close(it->second, next ? "pool reconfigured" : "pool removed");
    jobs_.forget(it->first);
    it = pools_.erase(it);
  }
  for (const auto& p : config.pools)
    if (!pools_.count(p.name)) {
      if (!config_.find_pool(p.name)) spdlog::info("pool {}: added", p.name);
      add_pool(p);
    }
  if (config.strategy != config_.strategy || config.fallback_after != config_.fallback_after) {
    selector_ = PoolSelector(config.strategy, config.fallback_after);
    mining_.clear();
  }
  if (config.share_journal != config_.share_journal) {
    if (auto journal = open_journal(config.share_journal)) shares_.set_journal(std::move(*journal));
    else config.share_journal = config_.share_journal;  // so the next reload tries the new path again
  }
  if (!config.prepare_next_epoch) next_epoch_.cancel();
  epochs_.set_memory_budget(config.light_cache_memory);
  // Read only when the devices are opened: said, so that a reload is not taken for their change.
  std::string at_restart;
  const auto changed = [&](bool differs, const char* key) {
    if (differs) at_restart += (at_restart.empty() ? "" : ", ") + std::string(key);
  };
  changed(config.devices != config_.devices, "devices");
  changed(config.memory != config_.memory, "memory_budget");
  changed(config.launch_shapes != config_.launch_shapes, "launch_shapes");
  changed(config.light_cache_dir != config_.light_cache_dir, "light_cache_dir");
  if (!at_restart.empty()) spdlog::warn("changed: {}; this takes effect at the next restart", at_restart);
  config_ = std::move(config);
  reschedule();
}

void Engine::stop(std::chrono::milliseconds grace, std::function<void()> done) {
  stopping_ = true;
  tick_timer_.cancel();
  epochs_.cancel_all();  // a build may take seconds, or minutes at a hostile epoch
  for (auto& d : devices_) d.device().stop();
  boost::asio::co_spawn(io_, settle_and_close(Clock::now() + grace, std::move(done)), boost::asio::detached);
}

// Checks the candidates the stopped devices delivered last (a GPU's final launches) and gives
// pending shares their replies, up to the deadline, then closes the pools (which settles the
// rest as timed out).
boost::asio::awaitable<void> Engine::settle_and_close(Clock::time_point deadline, std::function<void()> done) {
  while ((shares_.pending() > 0 || shares_.checking() > 0) && Clock::now() < deadline) {
    stop_timer_.expires_after(stop_poll);
    co_await stop_timer_.async_wait(wait_result);
  }
  if (const auto unchecked = shares_.checking())
    spdlog::warn("{} candidates were still in their CPU check at the shutdown deadline: not sent", unchecked);
  for (auto& [name, p] : pools_) close(p, "shutdown");
  log_summary();
  for (const auto& d : devices_)
    if (const auto report = d.job_switch_report()) spdlog::info("device {}: {}", d.id(), *report);
  if (done) done();
}

std::vector<PoolStatus> Engine::pools() const {
  std::vector<PoolStatus> out;
  for (const auto& [name, p] : pools_) {
    PoolStatus s{name,     redact_credentials(p.config.url), p.config.enabled, p.alive, false, {}, -1, ledger().pool(name), {},
                 p.problem};
    for (const auto& m : mining_) s.mining = s.mining || (m.pool == name && !paused_);  // paused: no pool is mined
    if (p.client) s.latency = p.client->latency();
    if (const auto before = blocks_found_before_.find(name); before != blocks_found_before_.end())
      s.blocks_found = before->second;
    if (p.client) s.blocks_found += p.client->counters().blocks_found;
    if (const auto current = jobs_.current(name)) {
      s.current_job = current->job.id;
      s.epoch = current->job.epoch;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<DeviceStatus> Engine::devices() const {
  std::vector<DeviceStatus> out;
  for (const auto& d : devices_) out.push_back(d.status());
  return out;
}

// Closes a pool's connection. Its source reports nothing after it is gone, so the share
// router first settles the shares still waiting for the pool (asking the source which it holds).
void Engine::close(Pool& pool, const std::string& why) {
  if (!pool.client) return;
  shares_.abandon(pool.config.name, why);
  pool.client->stop();
  if (const auto blocks = pool.client->counters().blocks_found) blocks_found_before_[pool.config.name] += blocks;
  pool.client.reset();
  pool.alive = false;
}

bool Engine::set_pool_enabled(const std::string& name, bool enabled) {
  auto it = pools_.find(name);
  if (it == pools_.end()) return false;
  Pool& pool = it->second;
  if (pool.config.enabled == enabled) return true;
  spdlog::info("pool {}: {} at runtime", name, enabled ? "enabled" : "disabled");
  pool.config.enabled = enabled;
  if (enabled) connect(pool);
  else close(pool, "pool disabled");
  reschedule();
  return true;
}

void Engine::pause() {
  if (std::exchange(paused_, true)) return;
  reschedule();
}

void Engine::resume() {
  if (!std::exchange(paused_, false)) return;
  mining_.clear();  // log the selection again
  reschedule();
}

}  // namespace dagminer
