// PoolJobs: which jobs a share may still be submitted for, and what happens to shares found
// between connections.
#include <gtest/gtest.h>

#include "pool_jobs.hpp"

namespace dagminer::stratum {
namespace {

Hash256 header(std::uint8_t n) {
  Hash256 h{};
  h[0] = n;
  return h;
}

Job job(const std::string& id, std::uint8_t n, bool clean = false, NonceSpace nonces = {}) {
  Job j;
  j.id = id;
  j.header = header(n);
  j.clean = clean;
  j.nonces = nonces;
  return j;
}

Share share_for(const std::string& job_id, std::uint8_t n) {
  Share s;
  s.job_id = job_id;
  s.header = header(n);
  return s;
}

TEST(PoolJobs, JobsAreKeyedByIdAndHeader) {
  PoolJobs book;
  book.add(job("a", 1));
  const auto nonces = *NonceSpace::from_extranonce_hex("0102");
  book.add(job("a", 2, false, nonces));
  ASSERT_NE(book.find("a", header(1)), nullptr);
  ASSERT_NE(book.find("a", header(2)), nullptr);
  EXPECT_EQ(book.find("a", header(2))->nonces.first(), nonces.first());
  EXPECT_EQ(book.find("a", header(3)), nullptr);
  EXPECT_EQ(book.find("b", header(1)), nullptr);
}

TEST(PoolJobs, ACleanJobVoidsTheEarlierOnes) {
  PoolJobs book;
  book.add(job("a", 1));
  book.add(job("b", 2));
  book.add(job("c", 3, true));
  EXPECT_EQ(book.find("a", header(1)), nullptr);
  EXPECT_EQ(book.find("b", header(2)), nullptr);
  EXPECT_NE(book.find("c", header(3)), nullptr);
}

TEST(PoolJobs, KeepsTheNewestJobs) {
  PoolJobs book;
  for (std::size_t i = 0; i <= PoolJobs::jobs_kept; ++i) book.add(job(std::to_string(i), static_cast<std::uint8_t>(i)));
  EXPECT_EQ(book.find("0", header(0)), nullptr);
  EXPECT_NE(book.find("1", header(1)), nullptr);
  EXPECT_NE(book.find(std::to_string(PoolJobs::jobs_kept), header(PoolJobs::jobs_kept)), nullptr);
}

TEST(PoolJobs, HoldsOnlySharesOfJobsValidAtTheDisconnect) {
  PoolJobs book;
  book.add(job("a", 1));
  book.end_connection(true);
  EXPECT_EQ(book.find("a", header(1)), nullptr);  // not current any more...
  EXPECT_TRUE(book.hold(1, share_for("a", 1)));   // ...but its shares are held
  EXPECT_FALSE(book.hold(2, share_for("z", 9)));
  EXPECT_EQ(book.held(), 1u);
}

TEST(PoolJobs, AConnectionWithoutJobsKeepsThePreviousOnes) {
  PoolJobs book;
  book.add(job("a", 1));
  book.end_connection(true);
  book.end_connection(false);  // a refused attempt
  book.end_connection(false);
  EXPECT_TRUE(book.hold(1, share_for("a", 1)));
}

TEST(PoolJobs, TheFirstJobAfterTheReconnectDecidesTheHeldShares) {
  PoolJobs book;
  book.add(job("a", 1));
  book.add(job("b", 2));
  book.end_connection(true);
  ASSERT_TRUE(book.hold(1, share_for("a", 1)));
  ASSERT_TRUE(book.hold(2, share_for("b", 2)));
  book.add(job("a", 1, true));  // the pool sent job a again
  const auto released = book.release();
  ASSERT_EQ(released.renewed.size(), 1u);
  EXPECT_EQ(released.renewed[0].first.share_id, 1u);
  EXPECT_EQ(released.renewed[0].second.id, "a");
  ASSERT_EQ(released.stale.size(), 1u);
  EXPECT_EQ(released.stale[0].share_id, 2u);
  EXPECT_EQ(book.held(), 0u);
  // The previous connection's jobs are forgotten once decided.
  book.end_connection(false);
  EXPECT_FALSE(book.hold(3, share_for("b", 2)));
}

TEST(PoolJobs, StoppingTakesTheHeldSharesOut) {
  PoolJobs book;
  book.add(job("a", 1));
  book.end_connection(true);
  ASSERT_TRUE(book.hold(7, share_for("a", 1)));
  const auto dropped = book.drop_held();
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].share_id, 7u);
  EXPECT_EQ(book.held(), 0u);
}

}  // namespace
}  // namespace dagminer::stratum
