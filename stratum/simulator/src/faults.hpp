// The faults the simulator plays: their names (for `dagminer poolsim --fault`), the windows of
// those that last a while, and the broken lines the instant ones send.
#pragma once

#include <array>
#include <chrono>
#include <string>

#include "dagminer/core/job.hpp"
#include "dagminer/stratum/pool_simulator.hpp"

namespace dagminer::stratum {

// Until when each lasting fault holds. The instant faults (drop, malformed, overlong,
// reconnect) are acted out by the simulator at once and never recorded here.
class FaultWindows {
 public:
  void open(Fault fault, Clock::time_point now, std::chrono::milliseconds duration);
  bool active(Fault fault, Clock::time_point now) const;
  // How late replies go out while delay_replies holds.
  std::chrono::milliseconds reply_delay() const noexcept { return reply_delay_; }

 private:
  // Indexed by Fault; go_silent is the last enumerator.
  std::array<Clock::time_point, static_cast<std::size_t>(Fault::go_silent) + 1> until_{};
  std::chrono::milliseconds reply_delay_{0};
};

// A line that is not JSON (an unterminated notify).
std::string malformed_line();
// A well-formed notification longer than the line limit miners must enforce.
std::string overlong_line();

}  // namespace dagminer::stratum
