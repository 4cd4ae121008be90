#include "dagminer/daemon/dashboard_json.hpp"

#include <boost/json/array.hpp>

#include "dagminer/core/hex.hpp"

namespace dagminer {

namespace json = boost::json;

json::object history_json(const RecentRing<HashrateSample>& history, double now) {
  json::array samples;
  samples.reserve(history.items().size());
  for (const auto& s : history.items()) samples.push_back(json::object{{"time", s.time}, {"hashrate", s.hashrate}});
  return {{"now", now}, {"samples", std::move(samples)}};
}

json::object recent_shares_json(const RecentRing<ShareRecord>& shares) {
  json::array out;
  out.reserve(shares.items().size());
  for (auto it = shares.items().rbegin(); it != shares.items().rend(); ++it) {
    const Share& s = it->share;
    const ShareResult& r = it->result;
    out.push_back(json::object{{"time", it->time},
                               {"pool", s.pool},
                               {"device", s.device},
                               {"job", s.job_id},
                               {"nonce", to_hex_u64(s.nonce)},
                               {"difficulty", s.difficulty},
                               {"job_difficulty", s.job_difficulty},
                               {"outcome", to_string(r.outcome)},
                               {"code", r.code == 0 ? json::value(nullptr) : json::value(r.code)},
                               {"reason", r.reason.empty() ? json::value(nullptr) : json::value(r.reason)},
                               {"latency_ms", r.round_trip.count()}});
  }
  return {{"shares", std::move(out)}};
}

}  // namespace dagminer
