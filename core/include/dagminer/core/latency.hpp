// Latencies of a recurring event, such as a job switch (a pool's notify line read off the
// socket to the first launch of that job on a device): exact quantiles over the most recent
// samples, and running counts over fixed bounds for a Prometheus histogram.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace dagminer {

class LatencyRecorder {
 public:
  // Upper bounds, in seconds, of the histogram buckets (+Inf is implied): fine below a
  // millisecond, where job switches are expected, coarse up to the seconds of an epoch change.
  static constexpr std::array<double, 14> bounds{50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3,
                                                 10e-3, 50e-3,  0.1,    0.5,    1,    5,    10};

  LatencyRecorder() : LatencyRecorder(1024) {}
  explicit LatencyRecorder(std::size_t window);

  void record(double seconds);

  struct Quantiles {
    std::size_t samples = 0;
    double p50 = 0, p99 = 0, max = 0;  // seconds, nearest rank
  };
  // Over the most recent `window` samples; nothing before the first sample.
  std::optional<Quantiles> recent() const;

  std::uint64_t count() const noexcept { return count_; }
  double sum() const noexcept { return sum_; }
  // Samples <= bounds[i], cumulative as Prometheus wants them.
  const std::array<std::uint64_t, bounds.size()>& cumulative_counts() const noexcept { return at_most_; }

 private:
  std::size_t window_;
  std::deque<double> recent_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
  std::array<std::uint64_t, bounds.size()> at_most_{};
};

}  // namespace dagminer
