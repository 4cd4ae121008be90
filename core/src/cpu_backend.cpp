#include "dagminer/core/cpu_backend.hpp"

#include <algorithm>
#include <fstream>
#include <unistd.h>

#include "dagminer/core/target.hpp"

namespace dagminer {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0)
      if (auto colon = line.find(':'); colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
  return "CPU";
}

}  // namespace

CpuSearchDevice::CpuSearchDevice(unsigned threads, std::uint32_t batch, std::string id)
    : threads_(threads ? threads : std::max(1u, std::thread::hardware_concurrency())),
      batch_(std::max<std::uint32_t>(1, batch)),
      id_(std::move(id)) {}

CpuSearchDevice::~CpuSearchDevice() { stop(); }

DeviceInfo CpuSearchDevice::describe() const {
  const auto pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  return {id_, "cpu", cpu_model() + " (" + std::to_string(threads_) + " threads)",
          pages > 0 && page_size > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size) : 0, ""};
}

// The light cache is all the CPU needs; the WorkItem carries it.
void CpuSearchDevice::prepare(std::shared_ptr<const LightCache>) {}

void CpuSearchDevice::set_work(std::vector<WorkItem> work) {
  {
    std::lock_guard lock(mutex_);
    work_.assign(std::move(work));
    std::map<std::uint64_t, std::shared_ptr<std::atomic<bool>>> retired;
    for (const WorkItem& item : work_.items()) {
      if (auto kept = retired_.extract(item.tag)) retired.insert(std::move(kept));
      else retired.emplace(item.tag, std::make_shared<std::atomic<bool>>(false));
    }
    for (auto& [tag, dropped] : retired_) *dropped = true;
    retired_ = std::move(retired);
  }
  work_changed_.notify_all();
}

void CpuSearchDevice::start(DeviceSinks sinks) {
  std::lock_guard lock(mutex_);
  if (running_) return;
  running_ = true;
  sinks_ = std::move(sinks);
  for (unsigned t = 0; t < threads_; ++t) workers_.emplace_back([this] { run_worker(); });
}

void CpuSearchDevice::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    running_ = false;
  }
  work_changed_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

DeviceCounters CpuSearchDevice::counters() const { return {hashes_.load(), candidates_.load(), 0, replaced_.load()}; }

std::optional<CpuSearchDevice::Batch> CpuSearchDevice::claim() {
  auto range = work_.next(batch_);
  if (!range) return std::nullopt;
  auto retired = retired_.at(range->item.tag);
  return Batch{std::move(*range), std::move(retired)};
}

void CpuSearchDevice::search(const Batch& batch) {
  const WorkItem& item = batch.range.item;
  if (batch.range.item_first && sinks_.work_started) sinks_.work_started(item.tag, std::chrono::steady_clock::now());
  std::uint64_t done = 0;
  for (; done < batch.range.count && !batch.retired->load(std::memory_order_relaxed); ++done) {
    const std::uint64_t nonce = batch.range.first_nonce + done;
    const HashResult r = hashimoto_light(*item.light_cache, item.header, nonce);
    if (batch.retired->load(std::memory_order_relaxed)) replaced_.fetch_add(1, std::memory_order_relaxed);
    if (hash_top64(r.final_hash) <= item.boundary) {
      candidates_.fetch_add(1, std::memory_order_relaxed);
      sinks_.candidate(Candidate{item.tag, nonce, r.mix_hash});
    }
  }
  hashes_.fetch_add(done, std::memory_order_relaxed);
}

void CpuSearchDevice::run_worker() {
  for (;;) {
    std::optional<Batch> batch;
    {
      std::unique_lock lock(mutex_);
      work_changed_.wait(lock, [&] { return !running_ || (batch = claim()).has_value(); });
      if (!running_) return;
    }
    search(*batch);
  }
}

}  // namespace dagminer
