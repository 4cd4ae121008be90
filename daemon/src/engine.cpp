#include "engine.hpp"

#include <algorithm>
#include <utility>

#include <pthread.h>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"

namespace dagminer {
namespace {

constexpr std::size_t jobs_kept_per_pool = 64;  // candidates arrive within milliseconds of a switch
constexpr auto tick_period = std::chrono::seconds(1);
constexpr auto next_epoch_delay = std::chrono::seconds(10);  // after an epoch's first job: its DAG is built by then

std::string format_rate(double hs) {
  const char* units[] = {"H/s", "kH/s", "MH/s", "GH/s"};
  int u = 0;
  while (hs >= 1000 && u < 3) {
    hs /= 1000;
    ++u;
  }
  return fmt::format("{:.2f} {}", hs, units[u]);
}

// Pool threads carry the name of their work, for top -H and /proc (once per thread).
void name_thread(const char* name) {
  thread_local bool named = false;
  if (!std::exchange(named, true)) pthread_setname_np(pthread_self(), name);
}

}  // namespace

Engine::Engine(boost::asio::io_context& io, Config config, std::vector<std::unique_ptr<SearchDevice>> devices)
    : io_(io),
      config_(std::move(config)),
      epochs_(io.get_executor(), background_,
              LightCacheStore(config_.light_cache_dir.empty() ? LightCacheStore::default_directory() : config_.light_cache_dir)),
      devices_(std::move(devices)),
      selector_(config_.strategy, config_.fallback_after),
      work_(devices_.size()),
      last_hashes_(devices_.size(), 0),
      last_progress_(devices_.size()),
      mining_epoch_(devices_.size(), {Algorithm::ethash, -1}),
      timer_(io) {
  if (!config_.share_journal.empty()) journal_ = ShareJournal(config_.share_journal);
  for (const auto& d : devices_) device_status_.push_back({d->describe(), {}, 0, std::nullopt, {}, {}});
}

Engine::~Engine() {
  for (auto& d : devices_) d->stop();
  verifiers_.join();
  background_.join();
}

void Engine::start() {
  started_ = last_rate_ = last_summary_ = idle_since_ = Clock::now();
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    spdlog::info("device {}: {}", device_status_[i].info.id, device_status_[i].info.name);
    devices_[i]->start({[this, i](const Candidate& c) { boost::asio::post(io_, [this, i, c] { on_candidate(i, c); }); },
                        [this, i](std::uint64_t tag, Clock::time_point issued) {
                          boost::asio::post(io_, [this, i, tag, issued] { on_work_started(i, tag, issued); });
                        }});
  }
  for (const auto& p : config_.pools) add_pool(p);
  tick();
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
  callbacks.on_state = [this, name](stratum::ConnectionState state, const std::string& reason) { on_state(name, state, reason); };
  callbacks.on_share_result = [this, name](std::uint64_t id, const ShareResult& r) { on_share_result(name, id, r); };
  pool.client = stratum::make_job_source(io_.get_executor(), pool.config, std::move(callbacks));
  pool.client->start();
}

void Engine::on_job(const std::string& name, Job job) {
  auto it = pools_.find(name);
  if (it == pools_.end() || stopping_) return;
  Pool& pool = it->second;
  if (job.clean)
    for (auto tag : pool.jobs)
      if (auto j = jobs_.find(tag); j != jobs_.end()) j->second->valid = false;

  const std::uint64_t tag = next_tag_++;
  auto record = std::make_shared<JobRecord>();
  record->job = std::move(job);
  record->epoch_since = record->job.received;
  if (auto previous = jobs_.find(pool.current); previous != jobs_.end()) {
    const Job& p = previous->second->job;
    if (p.algo == record->job.algo && p.epoch == record->job.epoch) record->epoch_since = previous->second->epoch_since;
  }
  jobs_[tag] = record;
  pool.jobs.push_back(tag);
  while (pool.jobs.size() > jobs_kept_per_pool) {
    jobs_.erase(pool.jobs.front());
    pool.jobs.pop_front();
  }
  pool.current = tag;
  if (!pool.alive) {
    pool.alive = true;
    pool.alive_since = Clock::now();
  }
  const Job& j = record->job;
  spdlog::debug("pool {}: job {} epoch {} difficulty {:.6g}{}", name, j.id, j.epoch, difficulty_of(j.target), j.clean ? " (clean)" : "");
  epochs_.get(j.algo, j.epoch, [this, record](std::shared_ptr<const LightCache> cache) {
    record->cache = std::move(cache);
    if (config_.prepare_next_epoch) prepare_next_epoch(*record);
    reschedule();
  });
}

// Asks for the next epoch's light cache and device preparation (a GPU builds its DAG) a while
// after an epoch starts being mined, so an epoch change costs no hashing time. Not at once: a
// DAG built beside the first one would delay the first hash (0.8 s instead of 0.4 s, measured).
void Engine::prepare_next_epoch(const JobRecord& record) {
  const std::pair key{record.job.algo, record.job.epoch + 1};
  if (key.second > max_epoch || epochs_.find(key.first, key.second) || epochs_.pending(key.first, key.second)) return;
  prepare_due_.try_emplace(key, Clock::now() + next_epoch_delay);
}

void Engine::prepare_due_epochs() {
  if (!config_.prepare_next_epoch) prepare_due_.clear();  // turned off by a reload meanwhile
  const auto now = Clock::now();
  for (auto it = prepare_due_.begin(); it != prepare_due_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    epochs_.get(it->first.first, it->first.second, [this](std::shared_ptr<const LightCache> cache) {
      for (auto& d : devices_)
        boost::asio::post(background_, [device = d.get(), cache] {
          name_thread("prepare");
          try {
            device->prepare(cache);
          } catch (const std::exception& e) {
            spdlog::warn("device {}: preparing epoch {} ahead of time failed: {}", device->describe().id, cache->epoch, e.what());
          }
        });
    });
    it = prepare_due_.erase(it);
  }
}

// The client logs connection events with their reasons; the engine only tracks liveness.
void Engine::on_state(const std::string& name, stratum::ConnectionState state, const std::string&) {
  auto it = pools_.find(name);
  if (it == pools_.end()) return;
  if (state == stratum::ConnectionState::disconnected || state == stratum::ConnectionState::auth_failed) {
    it->second.alive = false;
    reschedule();
  }
}

void Engine::reschedule() {
  if (stopping_) return;
  std::vector<PoolState> states;
  for (const auto& [name, p] : pools_)
    states.push_back({name, p.config.priority, p.config.weight, p.config.enabled, p.alive && jobs_.count(p.current), p.alive_since});
  auto selection = selector_.select(states, Clock::now());
  if (selection != mining_) {
    std::string names;
    for (const auto& s : selection) names += (names.empty() ? "" : ", ") + s.pool + (selection.size() > 1 ? fmt::format(" (weight {})", s.weight) : "");
    if (paused_) spdlog::info("paused: the devices have no work");
    else if (selection.empty()) spdlog::warn("no pool is alive: devices keep the last work for up to the job timeout");
    else spdlog::info("mining {}", names);
    if (selection.empty()) idle_since_ = Clock::now();
    mining_ = selection;
  }
  if (paused_) selection.clear();
  // A pool whose light cache is still being built or loaded is not mined yet (the cache's
  // arrival reschedules); it is not treated as dead either, so waiting for it never fails over.
  std::erase_if(selection, [&](const PoolShare& s) { return !jobs_.at(pools_.at(s.pool).current)->cache; });
  if (selection.empty() && !mining_.empty() && !paused_) return;  // keep the current work meanwhile
  if (selection.empty() && !paused_) {
    // Keep mining the last jobs for a while: shares found are held by the pool clients and
    // submitted if the job survives the reconnect. After the job timeout, idle.
    std::chrono::seconds grace{0};
    for (const auto& p : config_.pools) grace = std::max(grace, p.job_timeout);
    if (Clock::now() - idle_since_ < grace) return;
  }

  for (std::size_t d = 0; d < devices_.size(); ++d) {
    std::vector<WorkItem> items;
    std::vector<std::uint64_t> tags;
    for (const auto& share : selection) {
      const Pool& pool = pools_.at(share.pool);
      const auto& record = jobs_.at(pool.current);
      const NonceRange range = device_slice(record->job.nonces, d, devices_.size());
      items.push_back({pool.current, record->cache, record->job.header, boundary64(record->job.target), range.start,
                       range.count, share.weight});
      tags.push_back(pool.current);
      tags.push_back(share.weight);
    }
    if (tags == work_[d]) continue;
    if (work_[d].empty()) last_progress_[d] = Clock::now();
    work_[d] = std::move(tags);
    try {
      devices_[d]->set_work(std::move(items));
    } catch (const std::exception& e) {  // a lost GPU: the others mine on; the watchdog sees it
      spdlog::error("device {}: cannot take new work: {}", device_status_[d].info.id, e.what());
    }
  }
}

// A job's first launch (or CPU batch) on a device: a job switch, whose latency is recorded, or
// the device's first work or a move to another epoch, which is logged with the pause it cost
// (light cache and DAG, when not prepared ahead).
void Engine::on_work_started(std::size_t device, std::uint64_t tag, Clock::time_point issued) {
  const auto it = jobs_.find(tag);
  if (it == jobs_.end()) return;  // replaced long since
  const Job& job = it->second->job;
  auto& epoch = mining_epoch_[device];
  if (epoch == std::pair{job.algo, job.epoch}) {
    device_status_[device].job_switch.record(std::chrono::duration<double>(issued - job.received).count());
    return;
  }
  // Newer jobs may have come while the epoch was being prepared: the pause runs from the first.
  epoch = {job.algo, job.epoch};
  spdlog::info("device {}: mining {} epoch {} (pool {}, job {}): first launch {:.3f} ms after the pool's first job at this epoch",
               device_status_[device].info.id, to_string(job.algo), job.epoch, job.pool, job.id,
               std::chrono::duration<double, std::milli>(issued - it->second->epoch_since).count());
}

void Engine::on_candidate(std::size_t device, Candidate candidate) {
  auto it = jobs_.find(candidate.tag);
  const std::string& device_id = device_status_[device].info.id;
  if (it == jobs_.end()) {
    spdlog::warn("device {}: candidate nonce {} for a job no longer known (tag {}); discarded as stale", device_id,
                 to_hex_u64(candidate.nonce), candidate.tag);
    ledger_.found("(expired)", device_id);
    ledger_.resolved("(expired)", device_id, {ShareOutcome::stale, 0, "job expired", {}}, 0);
    return;
  }
  std::shared_ptr<const JobRecord> record = it->second;
  boost::asio::post(verifiers_, [this, device, record, candidate] {
    name_thread("verify");
    HashResult hash = hashimoto_light(*record->cache, record->job.header, candidate.nonce);
    boost::asio::post(io_, [this, device, record, candidate, hash] { on_verified(device, record, candidate, hash); });
  });
}

void Engine::on_verified(std::size_t device, std::shared_ptr<const JobRecord> record, Candidate candidate, HashResult hash) {
  const Job& job = record->job;
  const std::string& device_id = device_status_[device].info.id;
  if (hash.mix_hash != candidate.mix_hash) {
    ledger_.hardware_error(job.pool, device_id);
    spdlog::warn("device {}: hardware error: nonce {} for job {} of pool {} fails CPU verification (mix {} expected {})",
                 device_id, to_hex_u64(candidate.nonce), job.id, job.pool, to_hex(candidate.mix_hash), to_hex(hash.mix_hash));
    return;
  }
  if (!meets_target(hash.final_hash, job.target)) {
    // Passed the 64-bit boundary but not the full 256-bit target: not a share.
    spdlog::debug("device {}: nonce {} meets the 64-bit boundary but not the full target", device_id, to_hex_u64(candidate.nonce));
    return;
  }
  Share share{job.pool, job.id, job.header, candidate.nonce, hash.mix_hash, hash.final_hash,
              difficulty_of(hash.final_hash), device_id, Clock::now(), difficulty_of(job.target)};
  ledger_.found(job.pool, device_id);
  auto pool = pools_.find(job.pool);
  if (!record->valid || pool == pools_.end() || !pool->second.client) {
    settle(share, {ShareOutcome::stale, 0, !record->valid ? "job replaced by a clean job" : "pool removed", {}});
    return;
  }
  const std::uint64_t id = pool->second.client->submit(share);
  pending_[{job.pool, id}] = {std::move(share)};
}

void Engine::on_share_result(const std::string& pool, std::uint64_t id, const ShareResult& result) {
  auto it = pending_.find({pool, id});
  if (it == pending_.end()) return;
  Share share = std::move(it->second.share);
  pending_.erase(it);
  settle(share, result);
}

void Engine::settle(const Share& share, const ShareResult& result) {
  ledger_.resolved(share.pool, share.device, result, share.job_difficulty);
  journal_.record(share, result);
  const auto counts = ledger_.pool(share.pool);
  const auto line = fmt::format("pool {}: share {} (job {}, nonce {}, difficulty {:.4g} of {:.4g}, device {}, {} ms){}{} [A/R/S {}/{}/{}]",
                                share.pool, to_string(result.outcome), share.job_id, to_hex_u64(share.nonce),
                                share.difficulty, share.job_difficulty, share.device, result.round_trip.count(),
                                result.reason.empty() ? "" : ": ", result.reason, counts.accepted,
                                counts.rejected + counts.timed_out, counts.stale);
  if (result.outcome == ShareOutcome::accepted) spdlog::info("{}", line);
  else spdlog::warn("{}", line);
}

void Engine::tick() {
  if (stopping_) return;
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - last_rate_).count();
  if (seconds >= 5) {
    double total = 0;
    for (std::size_t d = 0; d < devices_.size(); ++d) {
      const auto c = devices_[d]->counters();
      device_status_[d].counters = c;
      device_status_[d].hashrate = static_cast<double>(c.hashes - last_hashes_[d]) / seconds;
      if (c.hashes != last_hashes_[d]) last_progress_[d] = now;
      last_hashes_[d] = c.hashes;
      total += device_status_[d].hashrate;
    }
    last_rate_ = now;
    // Each pool hears the part of the hashrate it receives.
    unsigned weights = 0;
    for (const auto& m : mining_) weights += m.weight;
    for (const auto& m : mining_)
      if (auto& p = pools_.at(m.pool); p.client) p.client->set_hashrate(total * m.weight / std::max(1u, weights));
  }
  if (now - last_summary_ >= config_.summary_interval) {
    last_summary_ = now;
    log_summary();
  }
  prepare_due_epochs();
  reschedule();  // failover fallback is a matter of time
  timer_.expires_after(tick_period);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

double Engine::hashrate() const {
  double total = 0;
  for (const auto& d : device_status_) total += d.hashrate;
  return total;
}

bool Engine::mining() const {
  return std::any_of(work_.begin(), work_.end(), [](const auto& w) { return !w.empty(); });
}

std::string Engine::health_problem() const {
  constexpr auto stall_limit = std::chrono::seconds(30);  // a DAG build takes well under this
  const auto now = Clock::now();
  for (std::size_t d = 0; d < devices_.size(); ++d)
    if (!work_[d].empty() && now - last_progress_[d] > stall_limit)
      return fmt::format("device {} has work but has computed no hash for {} s", device_status_[d].info.id,
                         std::chrono::duration_cast<std::chrono::seconds>(now - last_progress_[d]).count());
  return {};
}

void Engine::log_summary() {
  std::string devices, pools;
  for (const auto& d : device_status_) devices += fmt::format(" {} {}", d.info.id, format_rate(d.hashrate));
  for (const auto& [name, p] : pools_) {
    const auto c = ledger_.pool(name);
    pools += fmt::format(" | {} {} A/R/S {}/{}/{}", name, p.alive ? "up" : "down", c.accepted, c.rejected + c.timed_out, c.stale);
  }
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count();
  const auto& t = ledger_.total();
  spdlog::info("speed {} [{}]{} | hw errors {} | uptime {}h{:02}m{:02}s", format_rate(hashrate()), devices.empty() ? "" : devices.substr(1),
               pools, t.hardware_errors, uptime / 3600, uptime / 60 % 60, uptime % 60);
}

void Engine::reload(Config config) {
  // Pools: compare by name; an edited pool reconnects, an untouched one keeps its connection.
  for (auto it = pools_.begin(); it != pools_.end();) {
    const PoolConfig* next = config.find_pool(it->first);
    if (next && *next == it->second.config) {
      ++it;
      continue;
    }
    spdlog::info("pool {}: {}", it->first, next ? "changed, reconnecting" : "removed");
    close(it->second, next ? "pool reconfigured" : "pool removed");
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
  if (config.share_journal != config_.share_journal)
    journal_ = config.share_journal.empty() ? ShareJournal() : ShareJournal(config.share_journal);
  if (config.devices.all_gpus != config_.devices.all_gpus || config.devices.gpus != config_.devices.gpus ||
      config.devices.cpu != config_.devices.cpu || config.devices.cpu_threads != config_.devices.cpu_threads)
    spdlog::warn("device selection changed: it takes effect at the next restart");
  config_ = std::move(config);
  reschedule();
}

void Engine::stop(std::chrono::milliseconds grace, std::function<void()> done) {
  stopping_ = true;
  timer_.cancel();
  for (auto& d : devices_) d->stop();
  stop_deadline_ = Clock::now() + grace;
  stop_done_ = std::move(done);
  finish_stop();
}

// Gives pending shares their replies, up to the grace period, then closes the pools.
void Engine::finish_stop() {
  if (!pending_.empty() && Clock::now() < stop_deadline_) {
    timer_.expires_after(std::chrono::milliseconds(50));
    timer_.async_wait([this](const boost::system::error_code&) { finish_stop(); });
    return;
  }
  for (auto& [name, p] : pools_) close(p, "shutdown");
  log_summary();
  for (std::size_t d = 0; d < devices_.size(); ++d) {
    const auto q = device_status_[d].job_switch.recent();
    if (!q) continue;
    const auto c = devices_[d]->counters();
    spdlog::info("device {}: {} job switches, notify line to first launch p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms (last {}); "
                 "{:.4f}% of hashes on replaced jobs",
                 device_status_[d].info.id, device_status_[d].job_switch.count(), q->p50 * 1e3, q->p99 * 1e3, q->max * 1e3,
                 q->samples, c.hashes ? 100.0 * static_cast<double>(c.replaced_job_hashes) / static_cast<double>(c.hashes) : 0.0);
  }
  if (auto done = std::exchange(stop_done_, nullptr)) done();
}

std::vector<PoolStatus> Engine::pools() const {
  std::vector<PoolStatus> out;
  for (const auto& [name, p] : pools_) {
    PoolStatus s{name, p.config.url, p.config.enabled, p.alive, false, {}, -1, ledger_.pool(name), {}};
    for (const auto& m : mining_) s.mining = s.mining || m.pool == name;
    if (p.client) s.latency = p.client->latency();
    if (auto j = jobs_.find(p.current); j != jobs_.end()) {
      s.current_job = j->second->job.id;
      s.epoch = j->second->job.epoch;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<DeviceStatus> Engine::devices() const {
  std::vector<DeviceStatus> out = device_status_;
  for (std::size_t d = 0; d < devices_.size(); ++d) {
    out[d].counters = devices_[d]->counters();
    auto report = devices_[d]->status();
    out[d].memory = std::move(report.memory);
    out[d].fault = std::move(report.fault);
  }
  return out;
}

// Closes a pool's connection. Its client reports nothing after it is gone, so shares still
// waiting for the pool's answer are settled here: they count as timed out, never as lost.
void Engine::close(Pool& pool, const std::string& why) {
  if (!pool.client) return;
  pool.client->stop();
  pool.client.reset();
  pool.alive = false;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->first.first != pool.config.name) {
      ++it;
      continue;
    }
    settle(it->second.share, {ShareOutcome::timed_out, 0, why + " before the pool answered", {}});
    it = pending_.erase(it);
  }
}

bool Engine::set_pool_enabled(const std::string& name, bool enabled) {
  auto it = pools_.find(name);
  if (it == pools_.end()) return false;
  Pool& pool = it->second;
  if (pool.config.enabled == enabled) return true;
  spdlog::info("pool {}: {} at runtime", name, enabled ? "enabled" : "disabled");
  pool.config.enabled = enabled;
  if (enabled) {
    connect(pool);
  } else {
    close(pool, "pool disabled");
  }
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
