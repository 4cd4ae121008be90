#include "dagminer/core/algorithm_evidence.hpp"

namespace dagminer {
namespace {

std::string both_readings(int rounds) {
  return "its seed is that of Ethash epoch " + std::to_string(rounds) + " and of Etchash epoch " + std::to_string(rounds / 2);
}

}  // namespace

std::optional<AlgorithmEvidence> algorithm_evidence(const Hash256& seed, std::optional<std::uint64_t> height) {
  const auto rounds = epoch_of_seed(Algorithm::ethash, seed);
  if (!rounds) return std::nullopt;
  if (*rounds % 2)
    return AlgorithmEvidence{Algorithm::ethash, true,
                             "its seed is that of Ethash epoch " + std::to_string(*rounds) + ", odd, which no Etchash epoch has"};
  if (height) {
    const bool fits_ethash = epoch_of_block(Algorithm::ethash, *height) == *rounds;
    const bool fits_etchash = 2 * epoch_of_block(Algorithm::etchash, *height) == *rounds;
    if (fits_ethash != fits_etchash)
      return AlgorithmEvidence{fits_ethash ? Algorithm::ethash : Algorithm::etchash, true,
                               both_readings(*rounds) + ", and its block height " + std::to_string(*height) +
                                   " is in Ethash epoch " + std::to_string(epoch_of_block(Algorithm::ethash, *height)) +
                                   " and Etchash epoch " + std::to_string(epoch_of_block(Algorithm::etchash, *height))};
  }
  if (*rounds > last_ethereum_ethash_epoch)
    return AlgorithmEvidence{
        Algorithm::etchash, false,
        both_readings(*rounds) + ", past Ethereum's last Ethash epoch " + std::to_string(last_ethereum_ethash_epoch)};
  return std::nullopt;
}

}  // namespace dagminer
