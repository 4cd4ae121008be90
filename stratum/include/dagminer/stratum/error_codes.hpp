// The error codes Ethash pools put in a rejected request's reply (EthereumStratum/1.0.0 and the
// pools that follow it); the client classifies rejections by them, the simulator sends them.
#pragma once

namespace dagminer::stratum {

enum class StratumError : int {
  other = 20,           // anything else: malformed request, unknown method, wrong dialect
  stale = 21,           // job not found (some pools send -1 or 202 instead)
  duplicate = 22,       // share already submitted
  low_difficulty = 23,  // final hash above the share target
  unauthorized = 24,    // worker not authorized
  not_subscribed = 25,
};

constexpr int code(StratumError e) noexcept { return static_cast<int>(e); }

}  // namespace dagminer::stratum
