// Hex text <-> bytes. Pools and users write hex with or without 0x, in either case.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dagminer {

std::string to_hex(std::span<const std::uint8_t> bytes);

// Strips an optional 0x/0X; nullopt on an odd length or a non-hex digit.
std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view text);

// Exactly N bytes (2N digits after the optional 0x), else nullopt.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> parse_hex_array(std::string_view text) {
  auto bytes = parse_hex(text);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = (*bytes)[i];
  return out;
}

// A 64-bit number written as up to 16 hex digits (big-endian text, as nonces are written).
std::optional<std::uint64_t> parse_hex_u64(std::string_view text);
std::string to_hex_u64(std::uint64_t value);  // always 16 digits

}  // namespace dagminer
