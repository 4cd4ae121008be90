// The dashboard's side of the API on a running daemon: the page and its files with their
// security headers, the hashrate history and the last share outcomes (issue 15). The page
// itself is driven in a browser by tests/browser.
#include <algorithm>

#include <gtest/gtest.h>

#include "service_harness.hpp"

namespace dagminer::test {
namespace {

using namespace std::chrono_literals;

TEST_F(ServiceTest, DashboardIsServedWithAStrictContentSecurityPolicy) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();

  const Reply page = get(port, "/");
  ASSERT_EQ(page.status, 200u) << page.body;
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<script src=\"/dashboard.js\" defer></script>"), std::string::npos);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos) << "no inline script";
  EXPECT_EQ(page.body.find("http"), std::string::npos) << "nothing from another origin (no CDN, no font)";
  const std::string csp = page.header("content-security-policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(get(port, "/index.html").body, page.body);

  const Reply script = get(port, "/dashboard.js");
  ASSERT_EQ(script.status, 200u);
  EXPECT_EQ(script.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_NE(script.body.find("Authorization: 'Bearer '"), std::string::npos) << "the token goes in the header";
  EXPECT_NE(script.body.find("sessionStorage"), std::string::npos);
  EXPECT_EQ(script.body.find("document.cookie"), std::string::npos) << "never a cookie";
  EXPECT_EQ(script.body.find("innerHTML"), std::string::npos) << "the daemon's text goes in as text";
  EXPECT_EQ(get(port, "/dashboard.css").header("content-type"), "text/css; charset=utf-8");
  EXPECT_EQ(get(port, "/favicon.svg").header("content-type"), "image/svg+xml");

  EXPECT_EQ(get(port, "/nothing.js").status, 404u);
  EXPECT_EQ(get(port, "/../dashboard.js").status, 404u);
  EXPECT_EQ(post(port, "/").status, 405u);
  const Reply head = request(port, http::verb::head, "/");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-length"), std::to_string(page.body.size()));
  stop_cleanly(*d);
}

TEST_F(ServiceTest, HistoryAndSharesShowTheRecentPast) {
  std::uint16_t port = 0;
  auto d = start_with_api(port);
  ASSERT_NE(port, 0) << d->log();
  ASSERT_TRUE(eventually([&] { return get(port, "/api/v1/summary").json().at("shares").at("accepted").as_int64() >= 2; }, 60s))
      << d->log();
  ASSERT_TRUE(eventually([&] { return get(port, "/api/v1/history").json().at("samples").as_array().size() >= 2; }, 20s));

  const auto history = get(port, "/api/v1/history").json();
  const double now = history.at("now").as_double();
  EXPECT_NEAR(now, static_cast<double>(std::time(nullptr)), 5) << "Unix seconds";
  double previous = 0;
  bool hashed = false;
  for (const auto& sample : history.at("samples").as_array()) {
    const double time = sample.at("time").as_double();
    EXPECT_GT(time, previous) << "oldest first";
    EXPECT_LE(time, now);
    EXPECT_GE(sample.at("hashrate").as_double(), 0);
    hashed |= sample.at("hashrate").as_double() > 0;
    previous = time;
  }
  EXPECT_TRUE(hashed) << history;

  // Shares first: the ones settled then cannot outnumber those found by the summary's time.
  const auto shares = get(port, "/api/v1/shares").json().at("shares").as_array();
  const auto summary = get(port, "/api/v1/summary").json();
  ASSERT_GE(shares.size(), 2u);
  EXPECT_LE(shares.size(), 50u);
  EXPECT_LE(static_cast<std::int64_t>(shares.size()), summary.at("shares").at("found").as_int64());
  EXPECT_GE(shares.at(0).at("time").as_double(), shares.at(1).at("time").as_double()) << "newest first";
  // The newest accepted one (a share of the hash in flight at a clean job may be stale).
  const auto accepted = std::find_if(shares.begin(), shares.end(), [](const auto& s) { return s.at("outcome") == "accepted"; });
  ASSERT_NE(accepted, shares.end());
  EXPECT_EQ(accepted->at("pool"), "solo");
  EXPECT_EQ(accepted->at("device"), "cpu");
  EXPECT_TRUE(accepted->at("reason").is_null());
  EXPECT_EQ(accepted->at("nonce").as_string().size(), 16u);
  stop_cleanly(*d);
}

}  // namespace
}  // namespace dagminer::test
