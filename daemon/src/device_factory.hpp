// Opens the devices a configuration selects: GPUs by index, the CPU backend, or "all" (every
// GPU, or the CPU when there is none).
#pragma once

#include <memory>
#include <vector>

#include "dagminer/core/device.hpp"
#include "dagminer/daemon/config.hpp"
#include "dagminer/gpu/gpu_device.hpp"

namespace dagminer {

// GPU `index`'s options: the configuration's pinned shape, or online tuning stored in
// `tuned_shapes_dir` (empty: the default light cache directory). Throws std::invalid_argument for
// a pinned shape that does not parse.
gpu::GpuDeviceOptions gpu_options(int index, const MemoryBudget& memory, const std::map<int, std::string>& launch_shapes,
                                  const std::filesystem::path& tuned_shapes_dir);

// GPUs of `launch_shapes` (Config::launch_shapes) take that shape; the others tune theirs online
// and keep it in `tuned_shapes_dir` (the light cache directory).
std::vector<std::unique_ptr<SearchDevice>> open_devices(const DeviceSelection& selection, const MemoryBudget& memory,
                                                        const std::map<int, std::string>& launch_shapes = {},
                                                        const std::filesystem::path& tuned_shapes_dir = {});

}  // namespace dagminer
