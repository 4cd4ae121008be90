// Keccak-f[1600] and the original Keccak-256/512 (pad byte 0x01, as Ethereum uses; not SHA-3).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace dagminer {

using Hash256 = std::array<std::uint8_t, 32>;
using Hash512 = std::array<std::uint8_t, 64>;

void keccakf1600(std::uint64_t state[25]) noexcept;

Hash256 keccak256(std::span<const std::uint8_t> data) noexcept;
Hash512 keccak512(std::span<const std::uint8_t> data) noexcept;

}  // namespace dagminer
