// The systemd notify protocol (sd_notify(3)): READY, STATUS, WATCHDOG, RELOADING, STOPPING.
// Every call is a no-op when the daemon was not started by systemd (no NOTIFY_SOCKET).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace dagminer {

class SystemdNotifier {
 public:
  SystemdNotifier();

  bool active() const noexcept { return active_; }
  // How often WATCHDOG=1 must be sent (half of WatchdogSec), or nullopt when not asked for.
  std::optional<std::chrono::microseconds> watchdog_period() const noexcept { return watchdog_; }

  void ready() const;
  void status(const std::string& line) const;
  void watchdog() const;
  void reloading() const;  // follow with ready() once the reload is done
  void stopping() const;

 private:
  void send(const std::string& message) const;
  bool active_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace dagminer
