// Preparing the next epoch ahead of time: its light cache, then each device's preparation (a
// GPU builds its DAG), so an epoch change costs no hashing time. Not at once when an epoch
// starts: a DAG built beside the first one would delay the first hash; a while later instead.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "dagminer/core/device.hpp"
#include "dagminer/core/job.hpp"
#include "dagminer/daemon/epoch_provider.hpp"

namespace dagminer {

class NextEpochPreparer {
 public:
  static constexpr auto delay = std::chrono::seconds(10);  // after an epoch's first job: its DAG is built by then

  // The devices outlive the preparer; device preparations run on `workers`.
  NextEpochPreparer(EpochProvider& epochs, boost::asio::thread_pool& workers, std::vector<SearchDevice*> devices)
      : epochs_(epochs), workers_(workers), devices_(std::move(devices)) {}

  // An epoch's light cache is at hand: its successor becomes due `delay` from now, unless it is
  // beyond the last epoch, ready or on its way already.
  void schedule_successor(Algorithm algo, int epoch, Clock::time_point now);
  // Starts the preparations that are due.
  void start_due(Clock::time_point now);
  // Forgets what is scheduled (preparation turned off by a reload).
  void cancel() { due_.clear(); }

 private:
  EpochProvider& epochs_;
  boost::asio::thread_pool& workers_;
  std::vector<SearchDevice*> devices_;
  std::map<std::pair<Algorithm, int>, Clock::time_point> due_;
  std::set<std::pair<Algorithm, int>> said_;  // epochs refused for want of room, once logged
};

}  // namespace dagminer
