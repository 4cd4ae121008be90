#include "dagminer/core/scheduler.hpp"

#include <algorithm>

namespace dagminer {

std::string_view to_string(Strategy s) noexcept { return s == Strategy::failover ? "failover" : "split"; }

std::vector<SelectedPool> PoolSelector::select(std::span<const PoolCandidate> pools, Clock::time_point now) {
  std::vector<const PoolCandidate*> alive;
  for (const auto& p : pools)
    if (p.enabled && p.alive) alive.push_back(&p);
  // Stable: equal priorities keep config order.
  std::stable_sort(alive.begin(), alive.end(), [](auto* a, auto* b) { return a->priority < b->priority; });

  if (strategy_ == Strategy::split) {
    std::vector<SelectedPool> out;
    for (auto* p : alive) out.push_back({p->name, p->weight});
    return out;
  }

  auto current = std::find_if(alive.begin(), alive.end(), [&](auto* p) { return p->name == current_; });
  if (current == alive.end()) {
    current_ = alive.empty() ? std::string() : alive.front()->name;  // lost (or no) pool: best alive now
  } else {
    for (auto it = alive.begin(); it != current; ++it)
      if (!ever_alive_.count((*it)->name) || now - (*it)->alive_since >= fallback_after_) {  // a better pool, new or stable
        current_ = (*it)->name;
        break;
      }
  }
  for (auto* p : alive) ever_alive_.insert(p->name);
  if (current_.empty()) return {};
  const auto chosen = std::find_if(alive.begin(), alive.end(), [&](auto* p) { return p->name == current_; });
  return {{current_, (*chosen)->weight}};
}

NonceRange device_slice(const NonceSpace& space, std::size_t index, std::size_t count) noexcept {
  if (count == 0 || index >= count) return {};
  __extension__ typedef unsigned __int128 uint128;  // the whole space, 2^64, needs 65 bits
  const uint128 total = space.size() ? uint128{space.size()} : uint128{1} << 64;
  const uint128 slice = total / count;
  const uint128 size = index + 1 == count ? total - slice * index : slice;
  // A single device with the whole 2^64 space gets 2^64 - 1 nonces: a count must fit 64 bits.
  return {space.first() + static_cast<std::uint64_t>(slice * index),
          static_cast<std::uint64_t>(std::min<uint128>(size, ~std::uint64_t{0}))};
}

template <typename F>
void ShareLedger::apply(const std::string& pool, const std::string& device, F&& change) {
  change(pools_[pool]);
  change(devices_[device]);
  change(total_);
}

void ShareLedger::found(const std::string& pool, const std::string& device) {
  apply(pool, device, [](ShareCounts& c) {
    ++c.found;
    ++c.pending;
  });
}

void ShareLedger::hardware_error(const std::string& pool, const std::string& device) {
  apply(pool, device, [](ShareCounts& c) {
    ++c.found;
    ++c.hardware_errors;
  });
}

void ShareLedger::resolved(const std::string& pool, const std::string& device, const ShareResult& result, double job_difficulty) {
  apply(pool, device, [&](ShareCounts& c) {
    --c.pending;
    switch (result.outcome) {
      case ShareOutcome::accepted:
        ++c.accepted;
        c.accepted_difficulty += job_difficulty;
        break;
      case ShareOutcome::rejected: ++c.rejected; break;
      case ShareOutcome::stale: ++c.stale; break;
      case ShareOutcome::timed_out: ++c.timed_out; break;
    }
  });
}

ShareCounts ShareLedger::pool(const std::string& name) const {
  auto it = pools_.find(name);
  return it == pools_.end() ? ShareCounts{} : it->second;
}

ShareCounts ShareLedger::device(const std::string& id) const {
  auto it = devices_.find(id);
  return it == devices_.end() ? ShareCounts{} : it->second;
}

}  // namespace dagminer
