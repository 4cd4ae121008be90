#include "fault_injection.hpp"

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace dagminer::gpu {

std::optional<FaultInjection> parse_fault_injection(std::string_view spec, int index) {
  const std::string device = "gpu" + std::to_string(index);
  std::optional<FaultInjection> found;
  while (!spec.empty()) {
    const std::size_t comma = spec.find(',');
    const std::string_view entry = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    const auto bad = [&](const std::string& why) {
      return std::invalid_argument("DAGMINER_INJECT_GPU_FAULT: '" + std::string(entry) + "': " + why +
                                   " (expected gpu<index>=illegal_address|hang[@launches])");
    };
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) throw bad("no '='");
    const std::string_view name = entry.substr(0, eq);
    std::string_view fault = entry.substr(eq + 1);
    FaultInjection f;
    if (const std::size_t at = fault.find('@'); at != std::string_view::npos) {
      const std::string_view count = fault.substr(at + 1);
      const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), f.after_launches);
      if (ec != std::errc{} || end != count.data() + count.size()) throw bad("the launch count is not a number");
      fault = fault.substr(0, at);
    }
    if (fault == "illegal_address") f.fault = InjectedFault::illegal_address;
    else if (fault == "hang") f.fault = InjectedFault::hang;
    else throw bad("unknown fault '" + std::string(fault) + "'");
    if (name.size() < 4 || name.substr(0, 3) != "gpu") throw bad("the device is not gpu<index>");
    if (name == device) found = f;
  }
  return found;
}

std::optional<FaultInjection> injected_fault_for(int index) {
  const char* spec = std::getenv("DAGMINER_INJECT_GPU_FAULT");
  if (!spec) return std::nullopt;
  return parse_fault_injection(spec, index);
}

}  // namespace dagminer::gpu
