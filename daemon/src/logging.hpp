// spdlog setup: colour on a terminal; under systemd (stdout not a terminal) plain lines with
// sd-daemon priority prefixes such as <4>, so `journalctl -p warning` filters correctly.
#pragma once

#include <string>

namespace dagminer {

// level: trace, debug, info, warning, error, critical or off. Returns false for an unknown level.
bool setup_logging(const std::string& level);
bool set_log_level(const std::string& level);

}  // namespace dagminer
