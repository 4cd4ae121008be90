#include "dagminer/core/cpu_backend.hpp"

#include <algorithm>
#include <fstream>
#include <unistd.h>

#include "dagminer/core/target.hpp"

namespace dagminer {

struct CpuSearchDevice::Slot {
  WorkItem item;
  std::uint64_t claimed = 0;        // nonces handed to threads so far (under mutex_)
  std::int64_t current_weight = 0;  // smooth weighted round robin state (under mutex_)
  std::atomic<bool> retired{false}; // set when set_work replaces it: threads stop mid-batch
};

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
    std::vector<std::shared_ptr<Slot>> slots;
    for (auto& item : work) {
      if (!item.epoch || item.weight == 0) continue;
      // A tag already being searched keeps its slot and cursor: re-searching finds duplicates.
      auto kept = std::find_if(slots_.begin(), slots_.end(), [&](const auto& s) { return s->item.tag == item.tag; });
      if (kept != slots_.end()) {
        (*kept)->item.weight = item.weight;
        slots.push_back(std::move(*kept));
        slots_.erase(kept);
        continue;
      }
      auto slot = std::make_shared<Slot>();
      slot->item = std::move(item);
      slots.push_back(std::move(slot));
    }
    for (auto& old : slots_) old->retired = true;
    slots_ = std::move(slots);
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

// Picks the next slot by smooth weighted round robin (each slot gains its weight, the richest
// is served and pays the total), so hashes split by weight even over short intervals; a new
// slot is served first, whatever its weight, so a job switch waits for no other pool's turn.
std::shared_ptr<CpuSearchDevice::Slot> CpuSearchDevice::claim(std::uint64_t& first, std::uint32_t& count, bool& first_claim) {
  std::int64_t total = 0;
  Slot* best = nullptr;
  std::shared_ptr<Slot> chosen;
  for (auto& slot : slots_) {
    if (slot->claimed >= slot->item.nonce_count) continue;  // range exhausted
    slot->current_weight += slot->item.weight;
    total += slot->item.weight;
    const bool fresh = slot->claimed == 0, best_fresh = best && best->claimed == 0;
    if (!best || (fresh && !best_fresh) || (fresh == best_fresh && slot->current_weight > best->current_weight)) {
      best = slot.get();
      chosen = slot;
    }
  }
  if (!chosen) return nullptr;
  chosen->current_weight -= total;
  const std::uint64_t left = chosen->item.nonce_count - chosen->claimed;
  count = static_cast<std::uint32_t>(std::min<std::uint64_t>(batch_, left));
  first = chosen->item.nonce_start + chosen->claimed;
  first_claim = chosen->claimed == 0;
  chosen->claimed += count;
  return chosen;
}

void CpuSearchDevice::run_worker() {
  for (;;) {
    std::shared_ptr<Slot> slot;
    std::uint64_t first = 0;
    std::uint32_t count = 0;
    bool first_claim = false;
    {
      std::unique_lock lock(mutex_);
      work_changed_.wait(lock, [&] { return !running_ || (slot = claim(first, count, first_claim)) != nullptr; });
      if (!running_) return;
    }
    const WorkItem& item = slot->item;
    if (first_claim && sinks_.work_started) sinks_.work_started(item.tag, std::chrono::steady_clock::now());
    std::uint32_t done = 0;
    for (; done < count && !slot->retired.load(std::memory_order_relaxed); ++done) {
      const std::uint64_t nonce = first + done;
      const HashResult r = hashimoto_light(*item.epoch, item.header, nonce);
      if (slot->retired.load(std::memory_order_relaxed)) replaced_.fetch_add(1, std::memory_order_relaxed);
      if (hash_top64(r.final_hash) <= item.boundary) {
        candidates_.fetch_add(1, std::memory_order_relaxed);
        sinks_.candidate(Candidate{item.tag, nonce, r.mix_hash});
      }
    }
    hashes_.fetch_add(done, std::memory_order_relaxed);
  }
}

}  // namespace dagminer
