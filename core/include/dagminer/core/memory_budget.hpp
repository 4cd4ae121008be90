// How much GPU memory the DAGs and light caches of a device may take: shared by the
// configuration and the GPU memory manager.
#pragma once

#include <cstdint>

namespace dagminer {

struct MemoryBudget {
  std::uint64_t bytes = 0;  // a byte count; 0: use `fraction`
  double fraction = 0.9;    // of the memory free when the device is opened
  bool operator==(const MemoryBudget&) const = default;
};

}  // namespace dagminer
