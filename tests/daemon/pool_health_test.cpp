// A pool that rejects every share: when a run of rejections is called a wrong algorithm, and when
// only what was seen is said.
#include <gtest/gtest.h>

#include "dagminer/daemon/pool_health.hpp"

namespace dagminer {
namespace {

ShareResult rejected(int code, std::string reason) { return {ShareOutcome::rejected, code, std::move(reason), {}}; }

// A job mined as Ethash epoch 2: its seed is that of Etchash epoch 1 as well.
Job ethash_job(int epoch) {
  Job job;
  job.id = "j1";
  job.algo = Algorithm::ethash;
  job.epoch = epoch;
  job.seed = seed_of_epoch(Algorithm::ethash, epoch);
  return job;
}

bool run_of(RejectionRun& run, const ShareResult& r) {
  for (std::size_t i = 1; i < RejectionRun::length; ++i)
    if (run.record(r)) return false;
  return run.record(r);
}

TEST(RejectionRun, FiveRejectionsInARowMakeARunAndAnAcceptedShareEndsIt) {
  RejectionRun run;
  const auto low = rejected(23, "Low difficulty share (code 23)");
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(run.record(low));
  EXPECT_FALSE(run.record({ShareOutcome::accepted, 0, {}, {}}));
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(run.record(low));
  // Stale and timed-out shares say nothing of the pool's check: the run goes on past them.
  EXPECT_FALSE(run.record({ShareOutcome::stale, 21, "job not found", {}}));
  EXPECT_FALSE(run.record({ShareOutcome::timed_out, 0, "no answer", {}}));
  EXPECT_TRUE(run.record(low));
  EXPECT_EQ(run.seen(), "Low difficulty share (code 23) x5");
}

TEST(RejectionRun, HashRejectionsAtASeedOfBothAlgorithmsNameTheSetting) {
  RejectionRun run;
  for (int i = 0; i < 3; ++i) run.record(rejected(23, "Low difficulty share (code 23)"));
  run.record(rejected(20, "mix hash does not match (code 20)"));
  ASSERT_TRUE(run.record(rejected(0, "")));
  EXPECT_TRUE(run.about_the_hash());
  const Job job = ethash_job(2);
  EXPECT_EQ(rejection_problem(run, &job, false),
            "5 shares in a row that verified here were rejected (Low difficulty share (code 23) x3, mix hash does not match "
            "(code 20) x1, no reason given x1) and none was accepted at this seed: the pool likely computes etchash; its "
            "seed is that of Ethash epoch 2 and of Etchash epoch 1, mined here as ethash epoch 2: set `algorithm: etchash` for "
            "this pool");
}

TEST(RejectionRun, OtherCausesAreSaidAsSeenNotCalledAWrongAlgorithm) {
  const Job job = ethash_job(2);
  for (const auto& r : {rejected(24, "Unauthorized worker (code 24)"), rejected(22, "Duplicate share (code 22)"),
                        rejected(25, "Not subscribed (code 25)"), rejected(-1, "worker banned")}) {
    SCOPED_TRACE(r.reason);
    RejectionRun run;
    ASSERT_TRUE(run_of(run, r));
    EXPECT_FALSE(run.about_the_hash());
    EXPECT_EQ(rejection_problem(run, &job, false), "5 shares in a row that verified here were rejected (" + r.reason + " x5)");
  }
}

// A pool that accepted shares at this seed computes what is computed here: later low-difficulty
// rejections (a share of an older job after a difficulty rise, say) are not the algorithm.
TEST(RejectionRun, SharesAcceptedAtTheSeedRuleTheAlgorithmOut) {
  RejectionRun run;
  ASSERT_TRUE(run_of(run, rejected(23, "Low difficulty share (code 23)")));
  const Job job = ethash_job(2);
  EXPECT_EQ(rejection_problem(run, &job, true),
            "5 shares in a row that verified here were rejected (Low difficulty share (code 23) x5), after shares accepted at "
            "this seed: not the algorithm");
}

// An odd Ethash epoch is no Etchash epoch: the seed fits no other algorithm.
TEST(RejectionRun, ASeedOfNoOtherAlgorithmIsNotCalledAWrongAlgorithm) {
  RejectionRun run;
  ASSERT_TRUE(run_of(run, rejected(23, "Low difficulty share (code 23)")));
  const Job job = ethash_job(3);
  EXPECT_EQ(rejection_problem(run, &job, false),
            "5 shares in a row that verified here were rejected (Low difficulty share (code 23) x5)");
}

TEST(AlgorithmMismatch, SaysWhatWasSeenAndTheSetting) {
  Job job = ethash_job(862);
  job.id = "abc";
  const auto likely = algorithm_evidence(job.seed, std::nullopt);
  ASSERT_TRUE(likely);
  EXPECT_EQ(algorithm_mismatch(job, *likely),
            "job abc: its seed is that of Ethash epoch 862 and of Etchash epoch 431, past Ethereum's last Ethash epoch 517: "
            "likely an Ethereum Classic pool, mined here as ethash epoch 862; if so, set `algorithm: etchash` for this pool");
  const auto settled = algorithm_evidence(job.seed, 25'890'000);
  ASSERT_TRUE(settled);
  EXPECT_EQ(algorithm_mismatch(job, *settled),
            "job abc: its seed is that of Ethash epoch 862 and of Etchash epoch 431, and its block height 25890000 is in Ethash "
            "epoch 863 and Etchash epoch 431: the pool computes etchash, not ethash; set `algorithm: etchash` for this pool (its "
            "jobs are refused until then)");
}

}  // namespace
}  // namespace dagminer
