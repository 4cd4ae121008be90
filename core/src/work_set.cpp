#include "dagminer/core/work_set.hpp"

#include <algorithm>

namespace dagminer {

namespace {

bool searchable(const WorkItem& item) { return item.light_cache && item.weight > 0 && item.nonce_count > 0; }

}  // namespace

void WeightedWorkSet::assign(std::vector<WorkItem> items) {
  std::vector<WorkItem> kept_items;
  std::vector<Cursor> kept_cursors;
  for (auto& item : items) {
    if (!searchable(item)) continue;
    const auto same_tag = [&](const WorkItem& w) { return w.tag == item.tag; };
    if (std::any_of(kept_items.begin(), kept_items.end(), same_tag)) continue;
    const auto old = std::find_if(items_.begin(), items_.end(), same_tag);
    if (old == items_.end()) {
      Cursor cursor;
      const auto back = std::find_if(retired_.begin(), retired_.end(), [&](const auto& r) { return r.first == item.tag; });
      if (back != retired_.end()) {
        cursor.handed_out = back->second;
        retired_.erase(back);
      }
      kept_items.push_back(std::move(item));
      kept_cursors.push_back(cursor);
      continue;
    }
    // Its weight and share boundary follow the new assignment (the boundary moves once the
    // devices' rate is measured); its nonces are as first assigned: they are half searched.
    old->weight = item.weight;
    old->boundary = item.boundary;
    kept_items.push_back(std::move(*old));
    kept_cursors.push_back(cursors_[static_cast<std::size_t>(old - items_.begin())]);
  }
  for (std::size_t i = 0; i < items_.size(); ++i) {
    const auto tag = items_[i].tag;
    if (std::none_of(kept_items.begin(), kept_items.end(), [&](const WorkItem& w) { return w.tag == tag; }))
      retired_.emplace_back(tag, cursors_[i].handed_out);
  }
  if (retired_.size() > retired_capacity)
    retired_.erase(retired_.begin(), retired_.begin() + static_cast<std::ptrdiff_t>(retired_.size() - retired_capacity));
  items_ = std::move(kept_items);
  cursors_ = std::move(kept_cursors);
}

std::optional<WorkRange> WeightedWorkSet::next(std::uint64_t max_nonces) {
  std::int64_t total = 0;
  std::optional<std::size_t> best;
  const auto fresh = [&](std::size_t i) { return cursors_[i].handed_out == 0; };
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (exhausted(i)) continue;
    cursors_[i].credit += items_[i].weight;
    total += items_[i].weight;
    if (!best || (fresh(i) && !fresh(*best)) || (fresh(i) == fresh(*best) && cursors_[i].credit > cursors_[*best].credit))
      best = i;
  }
  if (!best) return std::nullopt;
  Cursor& cursor = cursors_[*best];
  const WorkItem& item = items_[*best];
  cursor.credit -= total;
  WorkRange range{item, item.nonce_start + cursor.handed_out,
                  std::min(std::max<std::uint64_t>(max_nonces, 1), item.nonce_count - cursor.handed_out), cursor.handed_out == 0};
  cursor.handed_out += range.count;
  return range;
}

bool WeightedWorkSet::has_work() const {
  for (std::size_t i = 0; i < items_.size(); ++i)
    if (!exhausted(i)) return true;
  return false;
}

bool WeightedWorkSet::contains(std::uint64_t tag) const {
  return std::any_of(items_.begin(), items_.end(), [&](const WorkItem& w) { return w.tag == tag; });
}

}  // namespace dagminer
