#include "dagminer/core/latency.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace dagminer {

LatencyRecorder::LatencyRecorder(std::size_t window) : window_(std::max<std::size_t>(1, window)) {}

void LatencyRecorder::record(double seconds) {
  seconds = std::max(0.0, seconds);  // a clock read on another thread can precede by a hair
  recent_.push_back(seconds);
  if (recent_.size() > window_) recent_.pop_front();
  ++count_;
  sum_ += seconds;
  for (std::size_t i = 0; i < bounds.size(); ++i)
    if (seconds <= bounds[i]) ++at_most_[i];
}

std::optional<LatencyRecorder::Quantiles> LatencyRecorder::recent() const {
  if (recent_.empty()) return std::nullopt;
  std::vector<double> sorted(recent_.begin(), recent_.end());
  std::sort(sorted.begin(), sorted.end());
  const auto rank = [&](double q) {  // nearest rank: the smallest sample with q of them at or below it
    const auto r = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(r, 1, sorted.size()) - 1];
  };
  return Quantiles{sorted.size(), rank(0.5), rank(0.99), sorted.back()};
}

}  // namespace dagminer
