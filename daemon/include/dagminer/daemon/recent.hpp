// What the dashboard shows of the recent past: the total hashrate over the last hour and the
// last share outcomes. Kept on the event loop in bounded rings, so a long run costs no memory.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "dagminer/core/job.hpp"

namespace dagminer {

// The newest `capacity` items, oldest first.
template <class T>
class RecentRing {
 public:
  explicit RecentRing(std::size_t capacity) : capacity_(capacity) {}
  void push(T item) {
    if (capacity_ == 0) return;
    if (items_.size() == capacity_) items_.pop_front();
    items_.push_back(std::move(item));
  }
  const std::deque<T>& items() const noexcept { return items_; }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  std::size_t capacity_;
  std::deque<T> items_;
};

// Seconds since the Unix epoch: the page shows wall-clock times.
inline double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

struct HashrateSample {
  double time = 0;      // Unix seconds
  double hashrate = 0;  // H/s, all devices, over the rate interval that ended then
};

struct ShareRecord {
  double time = 0;  // Unix seconds, when the outcome was settled
  Share share;
  ShareResult result;
};

inline constexpr std::size_t recent_share_count = 50;

}  // namespace dagminer
