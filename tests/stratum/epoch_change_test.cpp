// The simulator moves to another epoch (PoolSimulator::set_epoch): the client's next job carries
// the new seed (EthereumStratum/2.0.0: the new epoch announced first), it is clean, and shares on
// it verify against the new epoch's cache, not the old one. Epochs 0 and 1 keep the caches small.
#include <algorithm>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace dagminer::stratum {
namespace {

using test::Rig;

const LightCache& epoch0() { return *test::shared_light_cache(Algorithm::ethash, 0); }
const LightCache& epoch1() { return *test::shared_light_cache(Algorithm::ethash, 1); }

// A share for `job` whose nonce meets the job's target with `right` and misses it with `wrong`:
// only a pool that verifies with `right` accepts it.
Share share_only_under(const LightCache& right, const LightCache& wrong, const Job& job) {
  for (std::uint64_t start = 0;;) {
    Share s = test::find_share(right, job, true, start);
    if (!meets_target(hashimoto_light(wrong, job.header, s.nonce).final_hash, job.target)) return s;
    start = s.nonce - job.nonces.first() + 1;
  }
}

class EpochChange : public ::testing::TestWithParam<PoolProtocol> {};

TEST_P(EpochChange, NextJobCarriesTheNewEpochAndSharesVerifyAgainstIt) {
  Rig rig(test::simulator_config(GetParam()));
  rig.connect();
  ASSERT_TRUE(rig.wait_jobs(1));
  ASSERT_EQ(rig.last_job().epoch, 0);
  const Share old_epoch_share = rig.share_for_last_job(true);

  rig.sim->set_epoch(1, test::shared_light_cache(Algorithm::ethash, 1));
  EXPECT_EQ(rig.sim->epoch(), 1);
  EXPECT_EQ(rig.sim->light_cache()->epoch, 1);
  ASSERT_TRUE(rig.wait_jobs(2));
  const Job job = rig.last_job();
  if (GetParam() != PoolProtocol::ethproxy) {  // EthProxy has no job ids: the client names jobs by header
    EXPECT_EQ(job.id, rig.sim->job_id());
  }
  EXPECT_EQ(job.epoch, 1);
  EXPECT_EQ(job.seed, seed_of_epoch(Algorithm::ethash, 1));
  EXPECT_EQ(epoch_of_seed(Algorithm::ethash, job.seed), 1);
  EXPECT_TRUE(job.clean);
  if (job.height) {
    EXPECT_EQ(*job.height / ethash_epoch_length, 1u);
  }

  // The move was a clean job: the old epoch's work is stale (the client knows without asking).
  EXPECT_EQ(rig.submit(old_epoch_share).outcome, ShareOutcome::stale);

  const Share right = share_only_under(epoch1(), epoch0(), job);
  auto r = rig.submit(right);
  EXPECT_EQ(r.outcome, ShareOutcome::accepted) << r.reason;
  // What a miner still on the old epoch's DAG would find: meets the target at epoch 0 only.
  const Share wrong = share_only_under(epoch0(), epoch1(), job);
  r = rig.submit(wrong);
  EXPECT_EQ(r.outcome, ShareOutcome::rejected);
  if (GetParam() == PoolProtocol::ethproxy) {
    // The only dialect that sends the mix: the old epoch's is invalid, even for a nonce that
    // meets the target at the new epoch.
    EXPECT_NE(r.reason.find("mix"), std::string::npos) << r.reason;
    Share bad_mix = test::find_share(epoch1(), job, true, std::max(right.nonce, wrong.nonce) - job.nonces.first() + 1);
    bad_mix.mix_hash = hashimoto_light(epoch0(), job.header, bad_mix.nonce).mix_hash;
    r = rig.submit(bad_mix);
    EXPECT_EQ(r.outcome, ShareOutcome::rejected);
    EXPECT_NE(r.reason.find("mix"), std::string::npos) << r.reason;
    EXPECT_EQ(rig.sim->totals().invalid, 2u);
  } else {
    EXPECT_EQ(r.code, 23) << r.reason;
    EXPECT_EQ(rig.sim->totals().low_difficulty, 1u);
  }
  EXPECT_EQ(rig.sim->totals().accepted, 1u);

  // A miner that connects after the move starts on the new epoch.
  test::Recorder late;
  PoolClient second(rig.io, test::fast_pool(rig.sim->url()), late.callbacks());
  second.start();
  ASSERT_TRUE(test::run_until(rig.io, [&] { return !late.jobs.empty(); }));
  EXPECT_EQ(late.jobs.back().epoch, 1);
  EXPECT_EQ(late.jobs.back().seed, seed_of_epoch(Algorithm::ethash, 1));
  second.stop();
}

INSTANTIATE_TEST_SUITE_P(Stratum, EpochChange,
                         ::testing::Values(PoolProtocol::ethproxy, PoolProtocol::ethereum_stratum_1,
                                           PoolProtocol::ethereum_stratum_2),
                         test::dialect_test_name);

TEST(EpochChangeValidation, ACacheOfAnotherEpochOrAlgorithmIsRefused) {
  Rig rig(test::simulator_config(PoolProtocol::ethereum_stratum_1));
  auto message_of = [&](int epoch, std::shared_ptr<const LightCache> cache) {
    try {
      rig.sim->set_epoch(epoch, std::move(cache));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  std::string m = message_of(1, test::shared_light_cache(Algorithm::ethash, 0));
  EXPECT_NE(m.find("ethash epoch 0"), std::string::npos) << m;
  EXPECT_NE(m.find("ethash epoch 1"), std::string::npos) << m;
  m = message_of(1, test::shared_light_cache(Algorithm::etchash, 1));
  EXPECT_NE(m.find("etchash epoch 1"), std::string::npos) << m;
  EXPECT_NE(m.find("ethash epoch 1"), std::string::npos) << m;
  m = message_of(1, nullptr);
  EXPECT_NE(m.find("no light cache"), std::string::npos) << m;
  m = message_of(-1, test::shared_light_cache(Algorithm::ethash, 0));
  EXPECT_NE(m.find("out of range"), std::string::npos) << m;
  EXPECT_EQ(rig.sim->epoch(), 0);  // nothing changed
  EXPECT_EQ(rig.sim->light_cache()->epoch, 0);
}

}  // namespace
}  // namespace dagminer::stratum
