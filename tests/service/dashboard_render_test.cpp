// The dashboard's pieces without a daemon: the bounded rings, the JSON of /api/v1/history and
// /api/v1/shares, and the routes of the page's files.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api_request.hpp"
#include "dagminer/daemon/dashboard_json.hpp"

namespace dagminer {
namespace {

namespace http = boost::beast::http;

TEST(RecentRing, KeepsTheNewestUpToItsCapacity) {
  RecentRing<int> ring(3);
  for (int i = 1; i <= 5; ++i) ring.push(i);
  EXPECT_EQ(std::vector<int>(ring.items().begin(), ring.items().end()), (std::vector<int>{3, 4, 5}));
  RecentRing<int> none(0);
  none.push(1);
  EXPECT_TRUE(none.items().empty());
}

TEST(DashboardJson, HistoryOldestFirstWithTheDaemonsClock) {
  RecentRing<HashrateSample> history(2);
  history.push({100, 1.5e6});
  history.push({105, 2.5e6});
  history.push({110, 3.5e6});
  const auto j = history_json(history, 111);
  EXPECT_EQ(j.at("now").as_double(), 111);
  const auto& samples = j.at("samples").as_array();
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].at("time").as_double(), 105);
  EXPECT_EQ(samples[0].at("hashrate").as_double(), 2.5e6);
  EXPECT_EQ(samples[1].at("time").as_double(), 110);
}

TEST(DashboardJson, SharesNewestFirstWithTheirOutcome) {
  RecentRing<ShareRecord> shares(recent_share_count);
  Share a;
  a.pool = "main";
  a.job_id = "0x1a";
  a.nonce = 0xa2eea0cfae7df760;
  a.device = "gpu0";
  a.difficulty = 3.5;
  a.job_difficulty = 2;
  shares.push({1000, a, {ShareOutcome::accepted, 0, "", std::chrono::milliseconds(42)}});
  Share b = a;
  b.pool = "backup";
  shares.push({1001, b, {ShareOutcome::rejected, 23, "low difficulty share", std::chrono::milliseconds(7)}});
  for (int i = 0; i < 60; ++i) shares.push({1002.0 + i, a, {}});
  const auto j = recent_shares_json(shares);
  const auto& list = j.at("shares").as_array();
  ASSERT_EQ(list.size(), recent_share_count);
  EXPECT_EQ(list.front().at("time").as_double(), 1061);
  shares = RecentRing<ShareRecord>(recent_share_count);
  shares.push({1000, a, {ShareOutcome::accepted, 0, "", std::chrono::milliseconds(42)}});
  shares.push({1001, b, {ShareOutcome::rejected, 23, "low difficulty share", std::chrono::milliseconds(7)}});
  const auto two = recent_shares_json(shares).at("shares").as_array();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].at("pool"), "backup");
  EXPECT_EQ(two[0].at("outcome"), "rejected");
  EXPECT_EQ(two[0].at("code"), 23);
  EXPECT_EQ(two[0].at("reason"), "low difficulty share");
  EXPECT_EQ(two[1].at("outcome"), "accepted");
  EXPECT_TRUE(two[1].at("code").is_null());
  EXPECT_TRUE(two[1].at("reason").is_null());
  EXPECT_EQ(two[1].at("nonce"), "a2eea0cfae7df760");
  EXPECT_EQ(two[1].at("job"), "0x1a");
  EXPECT_EQ(two[1].at("device"), "gpu0");
  EXPECT_EQ(two[1].at("difficulty").as_double(), 3.5);
  EXPECT_EQ(two[1].at("job_difficulty").as_double(), 2);
  EXPECT_EQ(two[1].at("latency_ms"), 42);
}

TEST(DashboardRoutes, ThePageAndItsFilesAreReadEndpoints) {
  const ApiRoute root = route_api_request(http::verb::get, "/");
  ASSERT_EQ(root.endpoint, ApiEndpoint::web_asset);
  ASSERT_NE(root.asset, nullptr);
  EXPECT_EQ(root.asset->path, "/index.html");
  EXPECT_EQ(root.asset->content_type, "text/html; charset=utf-8");
  EXPECT_FALSE(root.control);
  for (const char* file : {"/dashboard.js", "/dashboard.css", "/favicon.svg", "/index.html?x=1"}) {
    const ApiRoute r = route_api_request(http::verb::get, file);
    ASSERT_EQ(r.endpoint, ApiEndpoint::web_asset) << file;
    EXPECT_FALSE(r.asset->body.empty()) << file;
  }
  EXPECT_TRUE(route_api_request(http::verb::head, "/").head);
  EXPECT_EQ(route_api_request(http::verb::post, "/").status, http::status::method_not_allowed);
  EXPECT_EQ(route_api_request(http::verb::get, "/dashboard").status, http::status::not_found);
  EXPECT_EQ(route_api_request(http::verb::get, "/api/v1/history").endpoint, ApiEndpoint::history);
  EXPECT_EQ(route_api_request(http::verb::get, "/api/v1/shares").endpoint, ApiEndpoint::shares);
  EXPECT_EQ(route_api_request(http::verb::post, "/api/v1/shares").status, http::status::method_not_allowed);
}

}  // namespace
}  // namespace dagminer
