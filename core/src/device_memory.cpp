#include "dagminer/core/device_memory.hpp"

namespace dagminer {

std::string_view to_string(MemoryKind kind) noexcept {
  switch (kind) {
    case MemoryKind::dag: return "dag";
    case MemoryKind::light_cache: return "light_cache";
    case MemoryKind::staging: return "staging";
    case MemoryKind::results: return "results";
  }
  return "unknown";
}

std::string to_string(const DagKey& key) {
  return std::string(dagminer::to_string(key.algo)) + " epoch " + std::to_string(key.epoch);
}

}  // namespace dagminer
