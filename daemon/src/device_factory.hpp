// Opens the devices a configuration selects: GPUs by index, the CPU backend, or "all" (every
// GPU, or the CPU when there is none).
#pragma once

#include <memory>
#include <vector>

#include "dagminer/core/device.hpp"
#include "dagminer/daemon/config.hpp"

namespace dagminer {

std::vector<std::unique_ptr<SearchDevice>> open_devices(const DeviceSelection& selection, const MemoryBudget& memory);

}  // namespace dagminer
