// The JSON of the dashboard's own endpoints: /api/v1/history and /api/v1/shares.
#pragma once

#include <boost/json/object.hpp>

#include "dagminer/daemon/recent.hpp"

namespace dagminer {

// {"now": Unix seconds, "samples": [{"time", "hashrate"}, ...]}, oldest first. `now` is the
// daemon's clock, so a page on a machine whose clock differs still places the samples right.
boost::json::object history_json(const RecentRing<HashrateSample>& history, double now);

// {"shares": [{"time", "pool", "device", "job", "nonce", "difficulty", "job_difficulty",
// "outcome", "code", "reason", "latency_ms"}, ...]}, newest first.
boost::json::object recent_shares_json(const RecentRing<ShareRecord>& shares);

}  // namespace dagminer
