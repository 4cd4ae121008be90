// Pool selection, device nonce slices and share accounting.
#include <gtest/gtest.h>

#include "dagminer/core/scheduler.hpp"

namespace dagminer {
namespace {

using namespace std::chrono_literals;

struct Pools {
  std::vector<PoolCandidate> candidates;
  PoolCandidate& operator[](const std::string& name) {
    for (auto& s : candidates)
      if (s.name == name) return s;
    throw std::out_of_range(name);
  }
};

Pools three_pools(Clock::time_point t0) {
  return {{{"primary", 0, 1, true, true, t0}, {"secondary", 1, 1, true, true, t0}, {"tertiary", 2, 1, true, true, t0}}};
}

std::string chosen(PoolSelector& s, const Pools& p, Clock::time_point now) {
  auto sel = s.select(p.candidates, now);
  EXPECT_LE(sel.size(), 1u);
  return sel.empty() ? "" : sel[0].pool;
}

TEST(PoolSelector, FailoverMinesTheBestAlivePool) {
  const auto t0 = Clock::now();
  PoolSelector s(Strategy::failover, 120s);
  Pools p = three_pools(t0);
  EXPECT_EQ(chosen(s, p, t0), "primary");
  p["primary"].alive = false;
  EXPECT_EQ(chosen(s, p, t0 + 1s), "secondary");
  p["secondary"].alive = false;
  EXPECT_EQ(chosen(s, p, t0 + 2s), "tertiary");
  p["tertiary"].alive = false;
  EXPECT_EQ(chosen(s, p, t0 + 3s), "");
}

TEST(PoolSelector, FailoverFallsBackOnlyAfterTheBetterPoolIsStable) {
  const auto t0 = Clock::now();
  PoolSelector s(Strategy::failover, 120s);
  Pools p = three_pools(t0);
  EXPECT_EQ(chosen(s, p, t0), "primary");
  p["primary"].alive = false;
  EXPECT_EQ(chosen(s, p, t0 + 1s), "secondary");
  p["primary"].alive = true;
  p["primary"].alive_since = t0 + 10s;
  EXPECT_EQ(chosen(s, p, t0 + 10s), "secondary");
  EXPECT_EQ(chosen(s, p, t0 + 129s), "secondary");
  EXPECT_EQ(chosen(s, p, t0 + 130s), "primary");
  // Flapping restarts the clock.
  p["primary"].alive = false;
  EXPECT_EQ(chosen(s, p, t0 + 131s), "secondary");
  p["primary"].alive = true;
  p["primary"].alive_since = t0 + 132s;
  EXPECT_EQ(chosen(s, p, t0 + 200s), "secondary");
  EXPECT_EQ(chosen(s, p, t0 + 252s), "primary");
}

// At the start the pools' first jobs come in any order: a better pool alive for the first time
// takes over at once (nothing says it is unstable), only one that was lost waits fallback_after.
TEST(PoolSelector, FailoverTakesABetterPoolAliveForTheFirstTimeAtOnce) {
  const auto t0 = Clock::now();
  PoolSelector s(Strategy::failover, 120s);
  Pools p = three_pools(t0);
  p["primary"].alive = false;
  p["secondary"].alive = false;
  EXPECT_EQ(chosen(s, p, t0), "tertiary");
  p["secondary"].alive = true;
  p["secondary"].alive_since = t0 + 1s;
  EXPECT_EQ(chosen(s, p, t0 + 1s), "secondary");
  p["primary"].alive = true;
  p["primary"].alive_since = t0 + 600s;  // down at the start, up ten minutes later: new too
  EXPECT_EQ(chosen(s, p, t0 + 600s), "primary");
  p["primary"].alive = false;
  EXPECT_EQ(chosen(s, p, t0 + 601s), "secondary");
  p["primary"].alive = true;
  p["primary"].alive_since = t0 + 602s;
  EXPECT_EQ(chosen(s, p, t0 + 602s), "secondary");  // back after a loss: it waits
  EXPECT_EQ(chosen(s, p, t0 + 722s), "primary");
}

TEST(PoolSelector, FailoverSkipsDisabledPoolsAndHonoursPriorityOverOrder) {
  const auto t0 = Clock::now();
  PoolSelector s(Strategy::failover, 0s);
  Pools p{{{"a", 5, 1, true, true, t0}, {"b", 1, 1, false, true, t0}, {"c", 2, 1, true, true, t0}}};
  EXPECT_EQ(chosen(s, p, t0), "c");
}

TEST(PoolSelector, SplitMinesEveryAlivePoolByWeight) {
  const auto t0 = Clock::now();
  PoolSelector s(Strategy::split, 120s);
  Pools p{{{"a", 0, 5, true, true, t0}, {"b", 1, 3, true, true, t0}, {"c", 2, 2, true, true, t0}}};
  EXPECT_EQ(s.select(p.candidates, t0), (std::vector<SelectedPool>{{"a", 5}, {"b", 3}, {"c", 2}}));
  p["b"].alive = false;
  EXPECT_EQ(s.select(p.candidates, t0), (std::vector<SelectedPool>{{"a", 5}, {"c", 2}}));
}

TEST(DeviceSlice, DisjointAndCoveringForEveryExtranonceWidth) {
  for (std::size_t bytes = 0; bytes <= 6; ++bytes) {
    std::vector<std::uint8_t> extranonce(bytes, 0xa5);
    const auto space = *NonceSpace::from_extranonce(extranonce);
    for (std::size_t devices : {1u, 2u, 3u, 7u}) {
      std::uint64_t next = space.first(), covered = 0;
      for (std::size_t d = 0; d < devices; ++d) {
        const NonceRange r = device_slice(space, d, devices);
        EXPECT_EQ(r.start, next) << bytes << " bytes, device " << d << " of " << devices;
        EXPECT_GT(r.count, 0u);
        EXPECT_TRUE(space.contains(r.start));
        EXPECT_TRUE(space.contains(r.start + (r.count - 1)));
        next = r.start + r.count;
        covered += r.count;
      }
      if (bytes > 0) EXPECT_EQ(covered, space.size()) << bytes << " bytes, " << devices << " devices";
      else if (devices > 1) EXPECT_EQ(covered, 0u);  // exactly 2^64, wrapped
      else EXPECT_EQ(covered, ~std::uint64_t{0});    // one device: 2^64 - 1, a count must fit 64 bits
    }
  }
  EXPECT_EQ(device_slice(NonceSpace{}, 2, 2).count, 0u);
}

TEST(ShareLedger, BalancedAtEveryStep) {
  ShareLedger l;
  auto check = [&] {
    EXPECT_TRUE(l.total().balanced());
    for (const auto& [n, c] : l.pools()) EXPECT_TRUE(c.balanced()) << n;
    for (const auto& [n, c] : l.devices()) EXPECT_TRUE(c.balanced()) << n;
  };
  l.found("p1", "gpu0");
  check();
  l.found("p1", "gpu1");
  l.found("p2", "gpu0");
  l.hardware_error("p2", "gpu1");
  check();
  l.resolved("p1", "gpu0", {ShareOutcome::accepted, 0, "", 5ms}, 2.5);
  l.resolved("p1", "gpu1", {ShareOutcome::rejected, 23, "low difficulty", 5ms}, 0.1);
  check();
  l.resolved("p2", "gpu0", {ShareOutcome::stale, 21, "stale", 5ms}, 3);
  check();
  EXPECT_EQ(l.pool("p1").accepted, 1u);
  EXPECT_DOUBLE_EQ(l.pool("p1").accepted_difficulty, 2.5);
  EXPECT_EQ(l.pool("p1").rejected, 1u);
  EXPECT_EQ(l.pool("p2").stale, 1u);
  EXPECT_EQ(l.pool("p2").hardware_errors, 1u);
  EXPECT_EQ(l.device("gpu0").found, 2u);
  EXPECT_EQ(l.device("gpu1").hardware_errors, 1u);
  EXPECT_EQ(l.total().found, 4u);
  EXPECT_EQ(l.total().pending, 0u);
  EXPECT_EQ(l.pool("nope").found, 0u);
}

}  // namespace
}  // namespace dagminer
