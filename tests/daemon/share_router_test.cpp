// The share's path in isolation: a job book, a fake job source, the router on a local loop.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include <boost/asio/io_context.hpp>

#include "dagminer/daemon/share_router.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer {
namespace {

using namespace std::chrono_literals;

// Records what is submitted; answers nothing by itself.
class FakeSource final : public stratum::JobSource {
 public:
  void start() override {}
  void stop() override {}
  std::uint64_t submit(const Share& share) override {
    submitted.push_back(share);
    return submitted.size();
  }
  bool holds(std::uint64_t id) const noexcept override { return held.contains(id); }
  void set_hashrate(double) override {}
  const PoolConfig& config() const noexcept override { return config_; }
  stratum::ConnectionState state() const noexcept override { return stratum::ConnectionState::authorized; }
  bool alive() const noexcept override { return true; }
  PoolProtocol protocol() const noexcept override { return PoolProtocol::ethereum_stratum_1; }
  std::optional<std::chrono::milliseconds> latency() const noexcept override { return std::nullopt; }
  stratum::JobSourceCounters counters() const noexcept override { return {}; }

  std::vector<Share> submitted;
  std::set<std::uint64_t> held;  // submitted while "the pool is down"

 private:
  PoolConfig config_;
};

class ShareRouterTest : public ::testing::Test {
 protected:
  static std::shared_ptr<const LightCache> cache() {
    static const auto c = test::shared_light_cache(Algorithm::ethash, 0);
    return c;
  }
  // A job of `pool` that any hash meets, with its light cache at hand.
  JobTag add_job(const std::string& pool, const std::string& id, bool clean = false) {
    Job job;
    job.pool = pool;
    job.id = id;
    job.clean = clean;
    job.header[0] = static_cast<std::uint8_t>(id.size());
    job.target.be.fill(0xff);
    const JobTag tag = book_.add(pool, job);
    book_.find(tag)->cache = cache();
    return tag;
  }
  Candidate candidate(JobTag tag, std::uint64_t nonce) {
    return {tag, nonce, hashimoto_light(*cache(), book_.find(tag)->job.header, nonce).mix_hash};
  }
  // Runs the loop until the ledger has no share in verification (found counts them once checked).
  void settle_verifications(std::uint64_t expected_found) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (router_.ledger().total().found < expected_found && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(10ms);
    }
  }

  boost::asio::io_context io_;
  JobBook book_;
  FakeSource source_;
  bool has_source_ = true;
  ShareRouter router_{io_.get_executor(), book_, [this](const std::string& pool) -> stratum::JobSource* {
                        return pool == "main" && has_source_ ? &source_ : nullptr;
                      }};
};

TEST_F(ShareRouterTest, AVerifiedShareGoesToItsPoolAndSettlesWithItsAnswer) {
  const auto tag = add_job("main", "j1");
  router_.on_candidate("cpu0", candidate(tag, 42));
  settle_verifications(1);
  ASSERT_EQ(source_.submitted.size(), 1u);
  EXPECT_EQ(source_.submitted[0].nonce, 42u);
  EXPECT_EQ(source_.submitted[0].job_id, "j1");
  EXPECT_EQ(source_.submitted[0].device, "cpu0");
  EXPECT_EQ(router_.pending(), 1u);
  EXPECT_EQ(router_.ledger().pool("main").pending, 1u);
  router_.on_share_result("main", 1, {ShareOutcome::accepted, 0, "", 5ms});
  EXPECT_EQ(router_.pending(), 0u);
  EXPECT_EQ(router_.ledger().pool("main").accepted, 1u);
  EXPECT_EQ(router_.ledger().device("cpu0").accepted, 1u);
  EXPECT_TRUE(router_.ledger().total().balanced());
}

TEST_F(ShareRouterTest, AShareOfAJobReplacedByACleanJobIsStaleAndNotSent) {
  const auto old_job = add_job("main", "j1");
  add_job("main", "j22", true);
  router_.on_candidate("cpu0", candidate(old_job, 7));
  settle_verifications(1);
  EXPECT_TRUE(source_.submitted.empty());
  EXPECT_EQ(router_.ledger().pool("main").stale, 1u);
  EXPECT_TRUE(router_.ledger().total().balanced());
}

TEST_F(ShareRouterTest, AShareForAPoolWithoutASourceIsStale) {
  has_source_ = false;
  router_.on_candidate("cpu0", candidate(add_job("main", "j1"), 7));
  settle_verifications(1);
  EXPECT_EQ(router_.ledger().pool("main").stale, 1u);
  EXPECT_TRUE(router_.ledger().total().balanced());
}

TEST_F(ShareRouterTest, AMixThatFailsVerificationIsAHardwareError) {
  auto bad = candidate(add_job("main", "j1"), 9);
  bad.mix_hash[0] ^= 1;
  router_.on_candidate("cpu0", bad);
  settle_verifications(1);
  EXPECT_TRUE(source_.submitted.empty());
  EXPECT_EQ(router_.ledger().device("cpu0").hardware_errors, 1u);
  EXPECT_TRUE(router_.ledger().total().balanced());
}

TEST_F(ShareRouterTest, ACandidateForAnUnknownJobIsStale) {
  router_.on_candidate("cpu0", {12345, 1, {}});
  EXPECT_EQ(router_.ledger().total().stale, 1u);
  EXPECT_EQ(router_.ledger().pool("(expired)").stale, 1u);
  EXPECT_TRUE(router_.ledger().total().balanced());
}

TEST_F(ShareRouterTest, AbandoningAPoolSettlesItsWaitingSharesAsTimedOut) {
  const auto tag = add_job("main", "j1");
  router_.on_candidate("cpu0", candidate(tag, 1));
  router_.on_candidate("cpu0", candidate(tag, 2));
  settle_verifications(2);
  ASSERT_EQ(router_.pending(), 2u);
  router_.abandon("other", "pool removed");
  EXPECT_EQ(router_.pending(), 2u);
  router_.abandon("main", "pool removed");
  EXPECT_EQ(router_.pending(), 0u);
  EXPECT_EQ(router_.ledger().pool("main").timed_out, 2u);
  EXPECT_TRUE(router_.ledger().total().balanced());
  router_.on_share_result("main", 1, {});  // a late answer is ignored
  EXPECT_EQ(router_.ledger().pool("main").accepted, 0u);
}

// A share held while its pool is down was never sent: at a stop it is not "timed out before the
// pool answered" but stale, saying so in the log and the journal.
TEST_F(ShareRouterTest, AbandoningAPoolSettlesItsHeldSharesAsNeverSent) {
  test::TempDir dir;
  router_.set_journal(ShareJournal(dir.path() / "shares.jsonl"));
  const auto tag = add_job("main", "j1");
  router_.on_candidate("cpu0", candidate(tag, 1));
  router_.on_candidate("cpu0", candidate(tag, 2));
  settle_verifications(2);
  source_.held = {2};
  router_.abandon("main", "shutdown");
  EXPECT_EQ(router_.ledger().pool("main").timed_out, 1u);
  EXPECT_EQ(router_.ledger().pool("main").stale, 1u);
  EXPECT_TRUE(router_.ledger().total().balanced());
  router_.set_journal(ShareJournal());  // flushes and closes
  std::ostringstream journal;
  journal << std::ifstream(dir.path() / "shares.jsonl").rdbuf();
  EXPECT_NE(journal.str().find("never sent: the pool was down at shutdown"), std::string::npos) << journal.str();
  EXPECT_NE(journal.str().find("shutdown before the pool answered"), std::string::npos) << journal.str();
}

}  // namespace
}  // namespace dagminer
