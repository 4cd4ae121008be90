// The job book: tags, each pool's current job, invalidation by a clean job, expiry, epochs.
#include <gtest/gtest.h>

#include "dagminer/daemon/job_book.hpp"

namespace dagminer {
namespace {

Job job(const std::string& pool, const std::string& id, bool clean = false, int epoch = 0) {
  Job j;
  j.pool = pool;
  j.id = id;
  j.clean = clean;
  j.epoch = epoch;
  j.received = Clock::now();
  return j;
}

TEST(JobBook, EachPoolHasItsCurrentJob) {
  JobBook book;
  EXPECT_EQ(book.current_tag("a"), 0u);
  EXPECT_EQ(book.current("a"), nullptr);
  const auto a1 = book.add("a", job("a", "1"));
  const auto b1 = book.add("b", job("b", "1"));
  const auto a2 = book.add("a", job("a", "2"));
  EXPECT_NE(a1, a2);
  EXPECT_NE(a1, b1);
  EXPECT_EQ(book.current_tag("a"), a2);
  EXPECT_EQ(book.current("b")->job.id, "1");
  EXPECT_EQ(book.find(a1)->job.id, "1");
  EXPECT_EQ(book.find(0), nullptr);
}

TEST(JobBook, ACleanJobInvalidatesOnlyItsPoolsEarlierJobs) {
  JobBook book;
  const auto a1 = book.add("a", job("a", "1"));
  const auto b1 = book.add("b", job("b", "1"));
  const auto a2 = book.add("a", job("a", "2", true));
  EXPECT_FALSE(book.find(a1)->valid);
  EXPECT_TRUE(book.find(a2)->valid);
  EXPECT_TRUE(book.find(b1)->valid);
}

TEST(JobBook, TheCurrentJobSentAgainKeepsItsTag) {
  JobBook book;
  const auto a1 = book.add("a", job("a", "1"));
  const auto a2 = book.add("a", job("a", "2", true));
  EXPECT_EQ(book.add("a", job("a", "2", true)), a2);  // after a reconnect: the same work
  EXPECT_TRUE(book.find(a2)->valid);
  EXPECT_FALSE(book.find(a1)->valid);
  // Anything a device searches or the pool checks that differs is a new job.
  auto other_nonces = job("a", "2", true);
  other_nonces.nonces = *NonceSpace::from_extranonce_hex("ab");
  const auto a3 = book.add("a", other_nonces);
  EXPECT_NE(a3, a2);
  EXPECT_FALSE(book.find(a2)->valid);
  auto other_target = other_nonces;
  other_target.target = target_from_difficulty(2);
  EXPECT_NE(book.add("a", other_target), a3);
  // An earlier job sent again is not the current one: a new tag.
  const auto a4 = book.current_tag("a");
  book.add("a", job("a", "5"));
  EXPECT_NE(book.add("a", other_target), a4);
}

TEST(JobBook, APoolsOldestJobsExpire) {
  JobBook book;
  const auto first = book.add("a", job("a", "first"));
  for (std::size_t i = 1; i < JobBook::jobs_kept_per_pool; ++i) book.add("a", job("a", std::to_string(i)));
  EXPECT_NE(book.find(first), nullptr);
  book.add("a", job("a", "one more"));
  EXPECT_EQ(book.find(first), nullptr);
}

TEST(JobBook, AnEpochStartsWithItsPoolsFirstJobThere) {
  JobBook book;
  auto first = job("a", "1");
  first.received = Clock::now() - std::chrono::seconds(5);
  const auto t1 = book.add("a", first);
  const auto t2 = book.add("a", job("a", "2"));
  EXPECT_EQ(book.find(t2)->epoch_since, book.find(t1)->epoch_since);
  const auto t3 = book.add("a", job("a", "3", false, 1));
  EXPECT_EQ(book.find(t3)->epoch_since, book.find(t3)->job.received);
}

TEST(JobBook, AForgottenPoolHasNoJobs) {
  JobBook book;
  const auto a1 = book.add("a", job("a", "1"));
  const auto b1 = book.add("b", job("b", "1"));
  book.forget("a");
  EXPECT_EQ(book.find(a1), nullptr);
  EXPECT_EQ(book.current_tag("a"), 0u);
  EXPECT_NE(book.find(b1), nullptr);
}

}  // namespace
}  // namespace dagminer
