// One device's work set: which item the next batch (CPU) or launch (GPU) searches, and which of
// its nonces. Both backends share it, so the promises of SearchDevice::set_work hold alike on
// both: a re-set tag keeps its cursor, a new tag is served first, and hashes split by weight.
// Not thread-safe: a backend calls it under its own lock.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "dagminer/core/device.hpp"

namespace dagminer {

// Nonces [first_nonce, first_nonce + count) of `item`, handed out once.
struct WorkRange {
  WorkItem item;  // a copy: the searcher reads it after the backend's lock is released
  std::uint64_t first_nonce = 0;
  std::uint64_t count = 0;  // 1..the most asked for
  bool item_first = false;  // the item's first range: its search starts now
};

class WeightedWorkSet {
 public:
  // Replaces the items. An item whose tag is already here keeps its cursor and credit and takes
  // the new weight (re-searching its nonces would find duplicate shares); so does a tag dropped
  // by one of the last `retired_capacity` assignments and set again (a pause and resume, a
  // failover back to a pool whose job did not change): it goes on after the nonces it had handed
  // out. A new tag starts at its nonce_start. Items that cannot be searched (no epoch, weight 0,
  // no nonces) are left out, and so is a tag repeated within `items` after its first item.
  void assign(std::vector<WorkItem> items);

  // The next range of up to max_nonces nonces (at least 1), or nothing when every item is
  // exhausted. A never-served item goes first, whatever its weight, so a job switch waits for
  // no other pool's turn; otherwise smooth weighted round robin (each item with nonces left
  // gains its weight, the richest is served and pays the total; ties go to the earlier item)
  // splits ranges by weight even over short intervals.
  std::optional<WorkRange> next(std::uint64_t max_nonces);

  // Some item has nonces left.
  bool has_work() const;
  bool contains(std::uint64_t tag) const;
  // The items as assigned (searchable ones, each tag once), with their current weights.
  const std::vector<WorkItem>& items() const noexcept { return items_; }

 private:
  struct Cursor {
    std::uint64_t handed_out = 0;  // nonces of the item handed out so far
    std::int64_t credit = 0;       // smooth weighted round robin state
  };
  bool exhausted(std::size_t i) const { return cursors_[i].handed_out >= items_[i].nonce_count; }

  std::vector<WorkItem> items_;  // parallel to cursors_
  std::vector<Cursor> cursors_;
  // Nonces handed out of recently dropped tags, newest last. Tags are never reused for another
  // job, so a bound only limits memory: far more than the jobs a device sees between resets.
  static constexpr std::size_t retired_capacity = 64;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> retired_;  // (tag, handed_out)
};

}  // namespace dagminer
