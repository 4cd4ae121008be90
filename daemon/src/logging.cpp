#include "logging.hpp"

#include <cstdlib>
#include <optional>
#include <unistd.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace dagminer {
namespace {

// "<N>" with N the syslog priority of the level (sd-daemon(3)).
class SyslogPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char priority[] = {'7', '7', '6', '4', '3', '2', '6'};  // trace..critical, off
    const char text[] = {'<', priority[static_cast<int>(msg.level)], '>'};
    dest.append(text, text + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SyslogPriorityFlag>(); }
};

std::optional<spdlog::level::level_enum> parse_level(const std::string& level) {
  if (level == "warning") return spdlog::level::warn;
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") return std::nullopt;
  return parsed;
}

}  // namespace

bool set_log_level(const std::string& level) {
  const auto parsed = parse_level(level);
  if (!parsed) return false;
  spdlog::set_level(*parsed);
  return true;
}

bool setup_logging(const std::string& level) {
  std::shared_ptr<spdlog::logger> logger;
  if (isatty(STDOUT_FILENO)) {
    logger = spdlog::stdout_color_mt("dagminer");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  } else if (std::getenv("JOURNAL_STREAM")) {
    // stdout goes to journald, which adds the time; the prefix carries the priority.
    logger = spdlog::stdout_logger_mt("dagminer");
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%v");
    logger->set_formatter(std::move(formatter));
  } else {
    logger = spdlog::stdout_logger_mt("dagminer");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %-5l %v");
  }
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return set_log_level(level);
}

}  // namespace dagminer
