// The simulator's share check on its own: a session's issued jobs and the verdict on each kind of
// submission, and the Stratum error each refusal is answered with.
#include <gtest/gtest.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/stratum/error_codes.hpp"
#include "harness.hpp"
#include "share_check.hpp"

namespace dagminer::stratum {
namespace {

class ShareCheckTest : public ::testing::Test {
 protected:
  ShareCheckTest() {
    job.id = "0000002a";
    job.header = parse_hex_array<32>("fc12eb20c58158071c956316cdcd12a22dd8bf126ac4aee559f0ffe4df11f279").value();
    job.target = target_from_difficulty(test::easy_difficulty);
    job.nonces = *NonceSpace::from_extranonce_hex("1234");
  }

  IssuedJob issued(const std::string& id = "0000002a") const { return {id, job.header, job.target, job.nonces, cache, true}; }
  // The miner's part of a share's nonce, as EthereumStratum sends it.
  std::string miner_part(const Share& share) const { return job.nonces.miner_part_hex(share.nonce); }
  Submission es_submission(const Share& share) const { return {job.id, std::nullopt, miner_part(share), std::nullopt}; }
  Submission ethproxy_submission(const Share& share) const {
    return {{}, share.header, "0x" + to_hex_u64(share.nonce), share.mix_hash};
  }

  std::shared_ptr<const LightCache> cache = test::shared_light_cache(Algorithm::ethash, 0);
  Job job;
  IssuedJobs jobs;
};

TEST_F(ShareCheckTest, AShareMeetingTheTargetIsAcceptedOnceThenDuplicate) {
  jobs.issue(issued(), true);
  const Share share = test::find_share(*cache, job, true);
  const ShareCheck first = jobs.check(es_submission(share));
  EXPECT_EQ(first.verdict, ShareVerdict::accepted);
  EXPECT_EQ(first.job_id, job.id);
  EXPECT_EQ(first.nonce, share.nonce);
  EXPECT_FALSE(rejection(first));
  EXPECT_EQ(jobs.check(es_submission(share)).verdict, ShareVerdict::duplicate);
  // The same share by header (EthProxy) is the same share.
  EXPECT_EQ(jobs.check(ethproxy_submission(share)).verdict, ShareVerdict::duplicate);
}

TEST_F(ShareCheckTest, AShareAboveTheTargetIsLowDifficulty) {
  jobs.issue(issued(), true);
  const ShareCheck check = jobs.check(es_submission(test::find_share(*cache, job, false)));
  EXPECT_EQ(check.verdict, ShareVerdict::low_difficulty);
  EXPECT_EQ(rejection(check)->code, code(StratumError::low_difficulty));
}

TEST_F(ShareCheckTest, EthProxyFindsTheJobByHeaderAndChecksTheMixHash) {
  jobs.issue(issued(), true);
  Share share = test::find_share(*cache, job, true);
  share.mix_hash[0] ^= 1;
  const ShareCheck wrong_mix = jobs.check(ethproxy_submission(share));
  EXPECT_EQ(wrong_mix.verdict, ShareVerdict::invalid);
  EXPECT_EQ(wrong_mix.why, "mix hash does not match");
  EXPECT_EQ(rejection(wrong_mix)->code, code(StratumError::other));

  const Share other = test::find_share(*cache, job, true, share.nonce - job.nonces.first() + 1);
  EXPECT_EQ(jobs.check(ethproxy_submission(other)).verdict, ShareVerdict::accepted);
  Submission malformed = ethproxy_submission(other);
  malformed.nonce_hex = "0xnot-hex";
  EXPECT_EQ(jobs.check(malformed).verdict, ShareVerdict::invalid);
}

TEST_F(ShareCheckTest, TheMinersPartMustHaveExactlyItsDigits) {
  jobs.issue(issued(), true);
  Submission s = es_submission(test::find_share(*cache, job, true));
  s.nonce_hex += "00";
  const ShareCheck check = jobs.check(s);
  EXPECT_EQ(check.verdict, ShareVerdict::invalid);
  EXPECT_EQ(check.why, "the nonce must be 12 hex digits");
}

TEST_F(ShareCheckTest, UnknownAndReplacedJobsAreStale) {
  const Share share = test::find_share(*cache, job, true);
  EXPECT_EQ(jobs.check(es_submission(share)).verdict, ShareVerdict::stale);

  jobs.issue(issued(), true);
  jobs.issue(issued("0000002b"), false);  // not clean: the first job stays valid
  EXPECT_EQ(jobs.check(es_submission(share)).verdict, ShareVerdict::accepted);

  jobs.issue(issued("0000002c"), true);
  const ShareCheck check = jobs.check(es_submission(test::find_share(*cache, job, true, share.nonce - job.nonces.first() + 1)));
  EXPECT_EQ(check.verdict, ShareVerdict::stale);
  EXPECT_EQ(rejection(check)->code, code(StratumError::stale));
}

TEST_F(ShareCheckTest, OnlyTheMostRecentJobsAreRemembered) {
  jobs.issue(issued(), true);
  for (std::size_t i = 1; i < IssuedJobs::remembered; ++i) jobs.issue(issued("later" + std::to_string(i)), false);
  const Share share = test::find_share(*cache, job, true);
  EXPECT_EQ(jobs.size(), IssuedJobs::remembered);
  jobs.issue(issued("one-too-many"), false);
  EXPECT_EQ(jobs.size(), IssuedJobs::remembered);
  EXPECT_EQ(jobs.check(es_submission(share)).verdict, ShareVerdict::stale);
}

TEST_F(ShareCheckTest, ARepeatedJobIdMeansItsNewestJob) {
  jobs.issue(issued(), true);
  IssuedJob reused = issued();
  reused.header[0] ^= 1;
  jobs.issue(reused, false);
  Job newest = job;
  newest.header = reused.header;
  const Share share = test::find_share(*cache, newest, true);
  EXPECT_EQ(jobs.check({job.id, std::nullopt, newest.nonces.miner_part_hex(share.nonce), std::nullopt}).verdict,
            ShareVerdict::accepted);
}

TEST(ShareRejection, UsesTheStratumErrorCodes) {
  EXPECT_EQ(rejection({ShareVerdict::duplicate, {}, {}, 0})->code, code(StratumError::duplicate));
  EXPECT_EQ(rejection({ShareVerdict::invalid, "why", {}, 0})->message, "why");
  EXPECT_EQ(unauthorized_error().code, code(StratumError::unauthorized));
}

}  // namespace
}  // namespace dagminer::stratum
