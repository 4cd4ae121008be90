// What a job shows of the algorithm its pool computes. Ethash and Etchash jobs look alike on the
// wire (an Etchash seed is the Ethash seed of twice the epoch), so a miner set to the wrong one
// mines a DAG the pool does not use and has every share rejected. The seed, and the block height
// where the pool sends one, can tell them apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dagminer/core/ethash.hpp"

namespace dagminer {

// Ethereum's last proof-of-work block, 15,537,393, is in Ethash epoch 517: an even seed epoch
// past it is far more likely an Etchash seed (Ethereum Classic) than an Ethash fork's.
inline constexpr int last_ethereum_ethash_epoch = 517;

struct AlgorithmEvidence {
  Algorithm algo = Algorithm::ethash;  // the algorithm the job points to
  bool settled = false;                // by the block height (or an odd seed epoch); else only likely
  std::string seen;                    // what points there, for the log: "its seed is that of ..."
};

// The algorithm a job with this seed (and height, where sent) points to, or nullopt where it fits
// both alike or the seed is no epoch's. Settled: the seed's epoch is odd (no Etchash epoch), or
// exactly one algorithm's epoch of the height has this seed. Likely: an even seed epoch past
// last_ethereum_ethash_epoch, read as Etchash.
std::optional<AlgorithmEvidence> algorithm_evidence(const Hash256& seed, std::optional<std::uint64_t> height);

}  // namespace dagminer
