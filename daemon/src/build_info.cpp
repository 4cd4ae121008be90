#include "dagminer/daemon/build_info.hpp"

#include <spdlog/fmt/fmt.h>

#include "dagminer/gpu/architectures.hpp"
#include "dagminer/gpu/gpu_device.hpp"
#include "dagminer_build_version.hpp"

namespace dagminer {
namespace {

std::string cuda_version_text(int version, const char* absent) {
  if (version <= 0) return absent;
  return fmt::format("{}.{}", version / 1000, version % 1000 / 10);
}

BuildInfo make_build_info() {
  const gpu::CudaVersions cuda = gpu::cuda_versions();
  const gpu::EmbeddedCode code = gpu::embedded_code();
  return {DAGMINER_VERSION,
          DAGMINER_COMMIT,
          DAGMINER_BUILD_TYPE,
          cuda_version_text(cuda.runtime, "none"),
          cuda_version_text(cuda.driver, code.native.empty() && code.ptx.empty() ? "none (built without CUDA)" : "none found"),
          gpu::to_string(code)};
}

}  // namespace

const BuildInfo& build_info() {
  static const BuildInfo info = make_build_info();
  return info;
}

std::string version_text(const BuildInfo& info) {
  return fmt::format(
      "dagminer {}\n"
      "commit             {}\n"
      "build type         {}\n"
      "CUDA runtime       {}\n"
      "CUDA driver        {}\n"
      "GPU architectures  {}",
      info.version, info.commit, info.build_type, info.cuda_runtime, info.cuda_driver, info.cuda_architectures);
}

}  // namespace dagminer
