// The summary line and its rates.
#include <gtest/gtest.h>

#include "dagminer/daemon/summary.hpp"

namespace dagminer {
namespace {

TEST(Summary, RatesTakeTheLargestUnitUpToGigahashes) {
  EXPECT_EQ(format_rate(0), "0.00 H/s");
  EXPECT_EQ(format_rate(999), "999.00 H/s");
  EXPECT_EQ(format_rate(1500), "1.50 kH/s");
  EXPECT_EQ(format_rate(12.345e6), "12.35 MH/s");
  EXPECT_EQ(format_rate(4e12), "4000.00 GH/s");
}

TEST(Summary, LineNamesEveryDeviceAndPool) {
  std::vector<DeviceStatus> devices(2);
  devices[0].info.id = "cpu0";
  devices[0].hashrate = 1000;
  devices[1].info.id = "cpu1";
  devices[1].hashrate = 2000;
  std::vector<PoolStatus> pools(2);
  pools[0].name = "main";
  pools[0].alive = true;
  pools[0].shares.accepted = 5;
  pools[0].shares.rejected = 1;
  pools[0].shares.timed_out = 1;
  pools[0].shares.stale = 3;
  pools[1].name = "backup";
  EXPECT_EQ(summary_line(3000, devices, pools, 4, std::chrono::seconds(3725)),
            "speed 3.00 kH/s [cpu0 1.00 kH/s cpu1 2.00 kH/s] | main up A/R/S 5/1/3 (1 timed out) | backup down A/R/S 0/0/0 | "
            "hw errors 4 | "
            "uptime 1h02m05s");
  EXPECT_EQ(summary_line(0, {}, {}, 0, std::chrono::seconds(0)), "speed 0.00 H/s [] | hw errors 0 | uptime 0h00m00s");
}

// Timed-out shares are not counted as the pool's refusals: the dashboard, the API and the
// metrics keep them apart too.
TEST(Summary, SharesNameTimedOutOnesApartFromRejected) {
  ShareCounts counts;
  counts.accepted = 7;
  counts.rejected = 2;
  counts.stale = 1;
  EXPECT_EQ(format_shares(counts), "A/R/S 7/2/1");
  counts.timed_out = 3;
  EXPECT_EQ(format_shares(counts), "A/R/S 7/2/1 (3 timed out)");
}

}  // namespace
}  // namespace dagminer
