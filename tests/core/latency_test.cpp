// LatencyRecorder: nearest-rank quantiles over a sliding window, and cumulative histogram counts.
#include <gtest/gtest.h>

#include "dagminer/core/latency.hpp"

namespace dagminer {
namespace {

TEST(LatencyRecorder, NothingBeforeTheFirstSample) {
  const LatencyRecorder r;
  EXPECT_FALSE(r.recent());
  EXPECT_EQ(r.count(), 0u);
}

TEST(LatencyRecorder, QuantilesByNearestRank) {
  LatencyRecorder r;
  for (int i = 100; i >= 1; --i) r.record(i * 1e-3);  // 1..100 ms, in any order
  const auto q = r.recent();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->samples, 100u);
  EXPECT_DOUBLE_EQ(q->p50, 50e-3);
  EXPECT_DOUBLE_EQ(q->p99, 99e-3);
  EXPECT_DOUBLE_EQ(q->max, 100e-3);
  EXPECT_NEAR(r.sum(), 5.050, 1e-9);

  LatencyRecorder one;
  one.record(0.25);
  EXPECT_DOUBLE_EQ(one.recent()->p50, 0.25);
  EXPECT_DOUBLE_EQ(one.recent()->p99, 0.25);
}

TEST(LatencyRecorder, QuantilesForgetSamplesOutsideTheWindowCountsDoNot) {
  LatencyRecorder r(4);
  for (double s : {9.0, 9.0, 9.0, 1e-3, 2e-3, 3e-3, 4e-3}) r.record(s);
  const auto q = r.recent();
  EXPECT_EQ(q->samples, 4u);
  EXPECT_DOUBLE_EQ(q->max, 4e-3);
  EXPECT_DOUBLE_EQ(q->p50, 2e-3);
  EXPECT_EQ(r.count(), 7u);
}

TEST(LatencyRecorder, HistogramCountsAreCumulative) {
  LatencyRecorder r;
  for (double s : {40e-6, 100e-6, 150e-6, 0.7e-3, 20.0, -1e-6}) r.record(s);  // a negative read counts as 0
  const auto& c = r.cumulative_counts();
  ASSERT_EQ(LatencyRecorder::bounds[0], 50e-6);
  EXPECT_EQ(c[0], 2u);      // <= 50 us: 40 us and the clamped one
  EXPECT_EQ(c[1], 3u);      // <= 100 us, the bound itself included
  EXPECT_EQ(c[2], 4u);      // <= 200 us
  EXPECT_EQ(c[4], 5u);      // <= 1 ms
  EXPECT_EQ(c.back(), 5u);  // 20 s is beyond the last bound: only +Inf (the count) holds it
  EXPECT_EQ(r.count(), 6u);
}

}  // namespace
}  // namespace dagminer
