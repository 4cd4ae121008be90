// libFuzzer target for the configuration loader: any text up to the size cap gives either a
// configuration or errors, never a crash, a hang or an exception out of the loader.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dagminer/daemon/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > dagminer::max_config_bytes) return 0;  // load_config refuses these unread
  const auto load = dagminer::parse_config(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  if (load.config.has_value() == !load.errors.empty()) __builtin_trap();  // exactly one of the two
  return 0;
}
