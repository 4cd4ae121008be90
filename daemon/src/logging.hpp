// spdlog setup: colour on a terminal; under systemd (stdout not a terminal) plain lines with
// sd-daemon priority prefixes such as <4>, so `journalctl -p warning` filters correctly;
// optionally a rotating file as well.
#pragma once

#include <string>

#include "dagminer/daemon/config.hpp"

namespace dagminer {

// level: trace, debug, info, warning, error, critical or off. Returns false for an unknown level.
bool setup_logging(const std::string& level);
bool set_log_level(const std::string& level);
// Adds, replaces or removes the rotating log file (with time and level on each line), besides
// stdout. Returns why the file cannot be opened, or an empty string; on failure the previous
// file, if any, stays.
std::string set_log_file(const LogFileConfig& log);

}  // namespace dagminer
