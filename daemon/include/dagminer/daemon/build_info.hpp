// What this dagminer is: `dagminer --version`, the API's summary and dagminer_build_info.
#pragma once

#include <string>

namespace dagminer {

struct BuildInfo {
  std::string version;             // `git describe` at build time: 0.2.0, 0.2.0-5-g0123456789, 0.1.0+g0123456789-dirty
  std::string commit;              // the full commit hash, "unknown" outside a git checkout
  std::string build_type;          // CMAKE_BUILD_TYPE: Release, Debug, ...
  std::string cuda_runtime;        // "13.0"; "none" in a build without CUDA
  std::string cuda_driver;         // the CUDA version the installed driver supports; "none found"
  std::string cuda_architectures;  // the GPU code embedded: "sm_75 ... sm_120 compute_120"; "none"
};

// The driver is asked once, on the first call.
const BuildInfo& build_info();

// The lines `dagminer --version` prints.
std::string version_text(const BuildInfo& info);

}  // namespace dagminer
