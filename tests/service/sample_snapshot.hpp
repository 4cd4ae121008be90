// A snapshot of the daemon's state with every kind of value the renderings know: a CPU and a
// GPU (whose memory statistics a machine without one never produces), a pool with answers and
// one with a hostile name and none.
#pragma once

#include <string>

#include "dagminer/daemon/service_snapshot.hpp"

namespace dagminer::test {

inline const std::string hostile_pool = "we\"ird\\pool\nname";

ServiceSnapshot snapshot_with_gpu();

}  // namespace dagminer::test
