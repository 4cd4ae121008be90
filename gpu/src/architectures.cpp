#include "dagminer/gpu/architectures.hpp"

#include <algorithm>
#include <charconv>

namespace dagminer::gpu {

EmbeddedCode embedded_code() {
#ifdef DAGMINER_CUDA_NATIVE_ARCHS
  return {{DAGMINER_CUDA_NATIVE_ARCHS}, {DAGMINER_CUDA_PTX_ARCHS}};
#else
  return {};
#endif
}

std::string to_string(const EmbeddedCode& code) {
  std::string out;
  for (int a : code.native) out += " sm_" + std::to_string(a);
  for (int a : code.ptx) out += " compute_" + std::to_string(a);
  return out.empty() ? "none" : out.substr(1);
}

CodePath code_path(int compute_capability, const EmbeddedCode& code) {
  const int major = compute_capability / 10;
  CodePath best;
  for (int a : code.native)
    if (a / 10 == major && a <= compute_capability) best = {CodePath::Kind::native, a};
  if (best.kind == CodePath::Kind::native) return best;
  for (int a : code.ptx)
    if (a <= compute_capability) best = {CodePath::Kind::ptx_jit, a};
  return best;
}

std::string to_string(const CodePath& path) {
  switch (path.kind) {
    case CodePath::Kind::native: return "native sm_" + std::to_string(path.arch);
    case CodePath::Kind::ptx_jit: return "PTX compute_" + std::to_string(path.arch) + ", JIT-compiled";
    case CodePath::Kind::unsupported: break;
  }
  return "unsupported";
}

std::optional<int> parse_compute_capability(const std::string& text) {
  const auto dot = text.find('.');
  if (dot == std::string::npos || dot + 2 != text.size() || text[0] < '0' || text[0] > '9') return std::nullopt;
  int major = 0;
  const char* end = text.data() + dot;
  if (auto [p, ec] = std::from_chars(text.data(), end, major); ec != std::errc{} || p != end) return std::nullopt;
  const char minor = text[dot + 1];
  if (minor < '0' || minor > '9') return std::nullopt;
  return major * 10 + (minor - '0');
}

std::string compute_capability_text(int compute_capability) {
  return std::to_string(compute_capability / 10) + "." + std::to_string(compute_capability % 10);
}

std::optional<int> minimum_compute_capability(const EmbeddedCode& code) {
  std::optional<int> lowest;
  for (const auto* list : {&code.native, &code.ptx})
    if (!list->empty()) lowest = std::min(lowest.value_or(list->front()), list->front());
  return lowest;
}

DeviceCode device_code(const std::string& compute_capability, const EmbeddedCode& code) {
  const auto cc = parse_compute_capability(compute_capability);
  if (!cc) return {{}, "unsupported: compute capability \"" + compute_capability + "\" is not MAJOR.MINOR"};
  const CodePath path = code_path(*cc, code);
  if (path.kind != CodePath::Kind::unsupported) return {path, to_string(path)};
  const auto minimum = minimum_compute_capability(code);
  if (!minimum) return {path, "unsupported: this build has no GPU code"};
  if (*cc < *minimum)
    return {path, "unsupported: compute capability " + compute_capability + " is below this build's minimum " +
                      compute_capability_text(*minimum) + " (" + to_string(code) + ")"};
  return {path, "unsupported: no code for compute capability " + compute_capability + " in this build (" + to_string(code) +
                    "); build with -DCMAKE_CUDA_ARCHITECTURES=" + std::to_string(*cc)};
}

}  // namespace dagminer::gpu
