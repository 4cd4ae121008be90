#include "systemd_notify.hpp"

#include <cstdlib>
#include <cstring>
#include <ctime>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace dagminer {

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  active_ = socket && *socket;
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_ = std::chrono::microseconds(usec / 2);
}

void SystemdNotifier::send(const std::string& message) const {
  if (!active_) return;
  if (const int r = sd_notify(0, message.c_str()); r < 0)
    spdlog::warn("systemd notify '{}' failed: {}", message.substr(0, message.find('\n')), std::strerror(-r));
}

void SystemdNotifier::ready() const { send("READY=1"); }
void SystemdNotifier::status(const std::string& line) const { send("STATUS=" + line); }
void SystemdNotifier::watchdog() const { send("WATCHDOG=1"); }
void SystemdNotifier::stopping() const { send("STOPPING=1"); }

void SystemdNotifier::reloading() const {
  // MONOTONIC_USEC lets systemd (253+, Type=notify-reload) match the reload to this message.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ull + static_cast<unsigned long long>(ts.tv_nsec) / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

}  // namespace dagminer
