// Which launch shape policy the daemon gives each GPU: a shape pinned in the configuration is
// used as it is, with no tuning; every other GPU tunes online, keeping its shapes in the light
// cache directory.
#include <gtest/gtest.h>

#include "dagminer/core/light_cache_store.hpp"
#include "device_factory.hpp"

namespace dagminer {
namespace {

TEST(GpuOptions, APinnedShapeOverridesTuning) {
  const std::map<int, std::string> pinned{{1, "block=64 registers=72 launch=1048576 streams=2"}};
  const gpu::GpuDeviceOptions o = gpu_options(1, MemoryBudget{}, pinned, "/var/cache/dagminer");
  EXPECT_FALSE(o.tuning.has_value());
  EXPECT_EQ(gpu::to_string(o.shape), "block=64 registers=72 launch=1048576 streams=2");
}

TEST(GpuOptions, OtherGpusTuneIntoTheLightCacheDirectory) {
  const std::map<int, std::string> pinned{{1, "block=64 registers=72 launch=1048576 streams=2"}};
  const gpu::GpuDeviceOptions o = gpu_options(0, MemoryBudget{}, pinned, "/var/cache/dagminer");
  ASSERT_TRUE(o.tuning.has_value());
  EXPECT_EQ(o.tuning->store_directory, "/var/cache/dagminer");
  EXPECT_FALSE(o.tuning->retune);  // a stored shape is taken at once
  EXPECT_EQ(o.tuning->candidates, gpu::default_tuning_candidates());
  EXPECT_EQ(o.shape, gpu::LaunchShape{});
  EXPECT_EQ(gpu_options(0, MemoryBudget{}, {}, "").tuning->store_directory, LightCacheStore::default_directory());
}

TEST(GpuOptions, AnUnparsablePinnedShapeIsAnError) {
  EXPECT_THROW((void)gpu_options(0, MemoryBudget{}, {{0, "block=64"}}, ""), std::invalid_argument);
}

}  // namespace
}  // namespace dagminer
