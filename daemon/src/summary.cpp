#include "dagminer/daemon/summary.hpp"

#include <spdlog/fmt/fmt.h>

#include "dagminer/daemon/health_text.hpp"

namespace dagminer {

std::string format_rate(double hs) {
  const char* units[] = {"H/s", "kH/s", "MH/s", "GH/s"};
  int u = 0;
  while (hs >= 1000 && u < 3) {
    hs /= 1000;
    ++u;
  }
  return fmt::format("{:.2f} {}", hs, units[u]);
}

std::string format_shares(const ShareCounts& c) {
  auto text = fmt::format("A/R/S {}/{}/{}", c.accepted, c.rejected, c.stale);
  if (c.timed_out) text += fmt::format(" ({} timed out)", c.timed_out);
  return text;
}

std::string summary_line(double total_rate, std::span<const DeviceStatus> devices, std::span<const PoolStatus> pools,
                         std::uint64_t hardware_errors, std::chrono::seconds uptime) {
  std::string device_rates, pool_states;
  for (const auto& d : devices) {
    const std::string health = device_health_text(d);
    device_rates += fmt::format(" {} {}{}{}", d.info.id, format_rate(d.hashrate), health.empty() ? "" : " ", health);
  }
  for (const auto& p : pools) pool_states += fmt::format(" | {} {} {}", p.name, p.alive ? "up" : "down", format_shares(p.shares));
  const auto s = uptime.count();
  return fmt::format("speed {} [{}]{} | hw errors {} | uptime {}h{:02}m{:02}s", format_rate(total_rate),
                     device_rates.empty() ? "" : device_rates.substr(1), pool_states, hardware_errors, s / 3600, s / 60 % 60,
                     s % 60);
}

}  // namespace dagminer
