// The GPU code a build embeds, and how a device of a given compute capability runs it: native
// code (a cubin) or PTX that the driver JIT-compiles, or not at all. Architectures are compute
// capabilities as numbers: 90 is 9.0, 120 is 12.0.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dagminer::gpu {

struct EmbeddedCode {
  std::vector<int> native;  // cubins, ascending
  std::vector<int> ptx;     // PTX, ascending
};

// What this build embeds (from CMAKE_CUDA_ARCHITECTURES); empty in a build without CUDA.
EmbeddedCode embedded_code();
// "sm_75 sm_80 compute_120"; "none" when empty.
std::string to_string(const EmbeddedCode& code);

struct CodePath {
  enum class Kind { native, ptx_jit, unsupported };
  Kind kind = Kind::unsupported;
  int arch = 0;  // the cubin's or the PTX's architecture; 0 when unsupported
};

// A cubin runs on its own architecture and the later minor versions of its major (sm_86 on
// 8.9); the driver prefers it. Otherwise the newest PTX not above the device is JIT-compiled.
CodePath code_path(int compute_capability, const EmbeddedCode& code);
// "native sm_90", "PTX compute_120, JIT-compiled", or "unsupported".
std::string to_string(const CodePath& path);

// "9.0" -> 90; nullopt for anything else.
std::optional<int> parse_compute_capability(const std::string& text);
// "9.0" from 90.
std::string compute_capability_text(int compute_capability);

// The lowest compute capability this build's code runs on; nullopt without any code.
std::optional<int> minimum_compute_capability(const EmbeddedCode& code);

// How a GPU of that compute capability ("9.0") runs this build's code (native sm_90, PTX ...),
// or, when it cannot, why not: the message names the device and this build's minimum.
struct DeviceCode {
  CodePath path;
  std::string text;  // "native sm_90"; "unsupported: compute capability 6.1 is below ..."
  bool runs() const { return path.kind != CodePath::Kind::unsupported; }
};
DeviceCode device_code(const std::string& compute_capability, const EmbeddedCode& code);

}  // namespace dagminer::gpu
