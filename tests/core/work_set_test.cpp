// The work set both search backends share: weights, kept cursors, new items first, exhausted
// ranges and the items it leaves out. Pure bookkeeping: no hashing.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "dagminer/core/work_set.hpp"

namespace dagminer {
namespace {

constexpr std::uint64_t endless = ~std::uint64_t{0} >> 1;

WorkItem item(std::uint64_t tag, std::uint32_t weight = 1, std::uint64_t count = endless, std::uint64_t start = 0) {
  static const auto epoch = std::make_shared<const LightCache>();
  WorkItem w;
  w.tag = tag;
  w.light_cache = epoch;
  w.nonce_start = start;
  w.nonce_count = count;
  w.weight = weight;
  return w;
}

std::vector<std::uint64_t> tags_served(WeightedWorkSet& set, int ranges) {
  std::vector<std::uint64_t> tags;
  tags.reserve(static_cast<std::size_t>(ranges));
  for (int i = 0; i < ranges; ++i) tags.push_back(set.next(1)->item.tag);
  return tags;
}

std::map<std::uint64_t, int> count_by_tag(const std::vector<std::uint64_t>& tags) {
  std::map<std::uint64_t, int> counts;
  for (auto t : tags) ++counts[t];
  return counts;
}

TEST(WorkSet, EmptySetHasNoWork) {
  WeightedWorkSet set;
  EXPECT_FALSE(set.has_work());
  EXPECT_FALSE(set.next(16).has_value());
}

TEST(WorkSet, RangesFollowEachOtherFromNonceStart) {
  WeightedWorkSet set;
  set.assign({item(1, 1, 100, 5000)});
  const auto a = set.next(16), b = set.next(16);
  EXPECT_EQ(a->first_nonce, 5000u);
  EXPECT_EQ(a->count, 16u);
  EXPECT_TRUE(a->item_first);
  EXPECT_EQ(b->first_nonce, 5016u);
  EXPECT_EQ(b->count, 16u);
  EXPECT_FALSE(b->item_first);
  EXPECT_EQ(b->item.tag, 1u);
}

TEST(WorkSet, ExhaustedRangeEndsShortThenStops) {
  WeightedWorkSet set;
  set.assign({item(1, 1, 10, 0)});
  EXPECT_EQ(set.next(4)->count, 4u);
  EXPECT_EQ(set.next(4)->count, 4u);
  const auto last = set.next(4);
  EXPECT_EQ(last->first_nonce, 8u);
  EXPECT_EQ(last->count, 2u);
  EXPECT_FALSE(set.has_work());
  EXPECT_FALSE(set.next(4).has_value());
  EXPECT_TRUE(set.contains(1));  // still in the set: a re-set keeps it exhausted, never re-searched
  set.assign({item(1, 1, 10, 0)});
  EXPECT_FALSE(set.next(4).has_value());
}

TEST(WorkSet, ExhaustedItemLeavesTheRoundRobin) {
  WeightedWorkSet set;
  set.assign({item(1, 5, 3), item(2, 1)});
  const auto served = tags_served(set, 20);
  EXPECT_EQ(count_by_tag(served).at(1), 3);
  EXPECT_EQ(served.back(), 2u);
}

TEST(WorkSet, AtLeastOneNonceARange) {
  WeightedWorkSet set;
  set.assign({item(1)});
  EXPECT_EQ(set.next(0)->count, 1u);
}

TEST(WorkSet, WeightsSplitExactlyOverEveryCycle) {
  WeightedWorkSet set;
  set.assign({item(1, 1), item(2, 2), item(3, 3)});
  EXPECT_EQ(tags_served(set, 3), (std::vector<std::uint64_t>{3, 2, 1}));  // new items first, richest first
  for (int cycle = 0; cycle < 50; ++cycle) {
    const auto counts = count_by_tag(tags_served(set, 6));
    EXPECT_EQ(counts.at(1), 1) << "cycle " << cycle;
    EXPECT_EQ(counts.at(2), 2) << "cycle " << cycle;
    EXPECT_EQ(counts.at(3), 3) << "cycle " << cycle;
  }
}

TEST(WorkSet, SmoothRoundRobinInterleaves) {
  WeightedWorkSet set;
  set.assign({item(1, 2), item(2, 1)});
  (void)tags_served(set, 2);  // each new item once
  // Never the heavy item's whole turn in one run: 1, 2, 1, 1, 2, 1, ... has no run longer than 2.
  const auto served = tags_served(set, 30);
  for (std::size_t i = 2; i < served.size(); ++i)
    EXPECT_FALSE(served[i] == 1 && served[i - 1] == 1 && served[i - 2] == 1) << "at " << i;
  EXPECT_EQ(count_by_tag(served).at(1), 20);
}

TEST(WorkSet, EqualWeightsAlternateEarlierItemFirst) {
  WeightedWorkSet set;
  set.assign({item(7), item(8)});
  EXPECT_EQ(tags_served(set, 6), (std::vector<std::uint64_t>{7, 8, 7, 8, 7, 8}));
}

TEST(WorkSet, NewItemIsServedFirstWhateverItsWeight) {
  WeightedWorkSet set;
  set.assign({item(1, 100)});
  (void)tags_served(set, 5);
  set.assign({item(1, 100), item(2, 1)});
  const auto first = set.next(8);
  EXPECT_EQ(first->item.tag, 2u);
  EXPECT_TRUE(first->item_first);
  EXPECT_EQ(first->first_nonce, 0u);
  // Its head start is paid from its own turns: the cycle that began with it ends 100 to 1.
  EXPECT_EQ(tags_served(set, 100), std::vector<std::uint64_t>(100, 1));
  const auto counts = count_by_tag(tags_served(set, 101));
  EXPECT_EQ(counts.at(1), 100);
  EXPECT_EQ(counts.at(2), 1);
}

TEST(WorkSet, ReSetItemKeepsItsCursorAndTakesTheNewWeightAndBoundary) {
  WeightedWorkSet set;
  set.assign({item(1, 1, 1000, 0)});
  EXPECT_EQ(set.next(10)->first_nonce, 0u);
  EXPECT_EQ(set.next(10)->first_nonce, 10u);
  // Re-set with another weight (and a stale copy of the rest): the cursor stays, so no nonce is
  // searched twice (duplicate shares).
  set.assign({item(2, 1), item(1, 3, 1000, 0)});
  EXPECT_EQ(set.next(10)->item.tag, 2u);  // new first
  const auto kept = set.next(10);
  EXPECT_EQ(kept->item.tag, 1u);
  EXPECT_EQ(kept->first_nonce, 20u);
  EXPECT_FALSE(kept->item_first);
  EXPECT_EQ(set.items().at(1).weight, 3u);
  auto harder = item(1, 3, 1000, 0);
  harder.boundary = 12345;  // the share boundary follows too
  set.assign({item(2, 1), harder});
  EXPECT_EQ(set.items().at(1).boundary, 12345u);
  const auto counts = count_by_tag(tags_served(set, 400));
  EXPECT_EQ(counts.at(1), 300);
  EXPECT_EQ(counts.at(2), 100);
}

TEST(WorkSet, NoNonceIsHandedOutTwiceAcrossReSets) {
  WeightedWorkSet set;
  std::set<std::uint64_t> seen;
  for (int round = 0; round < 20; ++round) {
    set.assign({item(1, 1 + round % 3, 10'000, 0), item(2, 2, 10'000, 1'000'000)});
    for (int i = 0; i < 7; ++i) {
      const auto r = set.next(13);
      for (std::uint64_t n = r->first_nonce; n < r->first_nonce + r->count; ++n) EXPECT_TRUE(seen.insert(n).second) << n;
    }
  }
}

// A pause (an empty set) and a resume, or a failover back to a pool whose job did not change,
// sets a dropped tag again: starting it afresh would search its nonces twice and find duplicate
// shares (seen as "duplicate share" rejections right after a resume).
TEST(WorkSet, DroppedItemSetAgainGoesOnAfterItsNonces) {
  WeightedWorkSet set;
  set.assign({item(1, 1, 100, 0)});
  (void)set.next(10);
  set.assign({});
  EXPECT_FALSE(set.contains(1));
  set.assign({item(2)});
  (void)set.next(5);
  set.assign({item(1, 1, 100, 0)});
  const auto again = set.next(10);
  EXPECT_EQ(again->first_nonce, 10u);
  EXPECT_FALSE(again->item_first);
  set.assign({item(2), item(1, 1, 100, 0)});
  EXPECT_EQ(set.next(10)->first_nonce, 5u);  // tag 2 was dropped a second time, with its 5 nonces
}

TEST(WorkSet, OnlyRecentlyDroppedTagsAreRemembered) {
  WeightedWorkSet set;
  set.assign({item(1, 1, 100, 0)});
  (void)set.next(10);
  for (std::uint64_t tag = 100; tag < 300; ++tag) set.assign({item(tag)});  // 200 later jobs
  set.assign({item(1, 1, 100, 0)});
  const auto again = set.next(10);
  EXPECT_EQ(again->first_nonce, 0u);
  EXPECT_TRUE(again->item_first);
}

TEST(WorkSet, UnsearchableItemsAreLeftOut) {
  WeightedWorkSet set;
  WorkItem no_epoch = item(1);
  no_epoch.light_cache.reset();
  set.assign({no_epoch, item(2, 0), item(3, 1, 0), item(4, 1, 5)});
  ASSERT_EQ(set.items().size(), 1u);
  EXPECT_EQ(set.items()[0].tag, 4u);
  EXPECT_FALSE(set.contains(1));
  EXPECT_FALSE(set.contains(2));
  EXPECT_FALSE(set.contains(3));
  EXPECT_EQ(tags_served(set, 5), (std::vector<std::uint64_t>(5, 4)));
  EXPECT_FALSE(set.has_work());
}

TEST(WorkSet, ReSetWithWeightZeroDropsTheItem) {
  WeightedWorkSet set;
  set.assign({item(1, 1, 100, 0), item(2)});
  (void)set.next(10);
  set.assign({item(1, 0, 100, 0), item(2)});
  EXPECT_FALSE(set.contains(1));
}

TEST(WorkSet, RepeatedTagKeepsItsFirstItemOnly) {
  WeightedWorkSet set;
  set.assign({item(1, 1, 100, 0)});
  (void)set.next(10);
  set.assign({item(1, 2, 100, 0), item(1, 5, 100, 0)});
  ASSERT_EQ(set.items().size(), 1u);
  EXPECT_EQ(set.items()[0].weight, 2u);
  EXPECT_EQ(set.next(10)->first_nonce, 10u);
}

}  // namespace
}  // namespace dagminer
