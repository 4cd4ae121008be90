// Keccak-f[1600] and the original Keccak-256/512 (pad byte 0x01, as Ethereum uses; not SHA-3).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace dagminer {

using Hash256 = std::array<std::uint8_t, 32>;
using Hash512 = std::array<std::uint8_t, 64>;

// The instruction sets the core's hot loops (Keccak-f[1600], dataset-item FNV mixing) are built
// for. One binary carries each; the fastest of those the CPU supports (timed at first use) runs.
// x86_64_v3: AVX2, BMI1, BMI2 (non-destructive and-not and rotates, 8-wide 32-bit multiplies);
// x86_64_v4: AVX-512F as well (the Keccak state in five registers, 16-wide multiplies).
enum class CpuPath : std::uint8_t { portable, x86_64_v3, x86_64_v4 };

std::string_view to_string(CpuPath path) noexcept;
bool cpu_path_supported(CpuPath path) noexcept;
CpuPath cpu_path() noexcept;
// Selects the path for the whole process (tests and benchmarks compare them); throws
// std::invalid_argument for a path this CPU or build lacks.
void use_cpu_path(CpuPath path);

void keccakf1600(std::uint64_t state[25]) noexcept;

Hash256 keccak256(std::span<const std::uint8_t> data) noexcept;
Hash512 keccak512(std::span<const std::uint8_t> data) noexcept;
// Keccak-512 of exactly 64 bytes (8 little-endian lanes) in place: the step of the light cache
// and of dataset items, one permutation with the padding set directly.
void keccak512_64(std::uint64_t lanes[8]) noexcept;

}  // namespace dagminer
