#include "logging.hpp"

#include <cstdlib>
#include <optional>
#include <string_view>
#include <unistd.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace dagminer {
namespace {

// "<N>message" with N the syslog priority of the level (sd-daemon(3)). journald makes each line
// its own entry, so every line of a message carries the prefix, and trailing newlines go.
class JournalMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char priority[] = {'7', '7', '6', '4', '3', '2', '6'};  // trace..critical, off
    const char prefix[] = {'<', priority[static_cast<int>(msg.level)], '>'};
    std::string_view text(msg.payload.data(), msg.payload.size());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    dest.append(prefix, prefix + 3);
    for (const char c : text) {
      dest.push_back(c);
      if (c == '\n') dest.append(prefix, prefix + 3);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JournalMessageFlag>(); }
};

std::optional<spdlog::level::level_enum> parse_level(const std::string& level) {
  if (level == "warning") return spdlog::level::warn;
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") return std::nullopt;
  return parsed;
}

constexpr const char* plain_pattern = "%Y-%m-%d %H:%M:%S.%e %-5l %v";

const std::shared_ptr<spdlog::sinks::dist_sink_mt>& sinks() {
  static const auto all = std::make_shared<spdlog::sinks::dist_sink_mt>();
  return all;
}

}  // namespace

bool set_log_level(const std::string& level) {
  const auto parsed = parse_level(level);
  if (!parsed) return false;
  spdlog::set_level(*parsed);
  return true;
}

bool setup_logging(const std::string& level) {
  // Each sink keeps its own format; the distributing sink lets the file come and go at a
  // reload while other threads log.
  std::shared_ptr<spdlog::sinks::sink> out;
  if (isatty(STDOUT_FILENO)) {
    out = std::make_shared<spdlog::sinks::stdout_color_sink_mt>();
    out->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  } else if (std::getenv("JOURNAL_STREAM")) {
    // stdout goes to journald, which adds the time; the prefix carries the priority.
    out = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JournalMessageFlag>('*').set_pattern("%*");
    out->set_formatter(std::move(formatter));
  } else {
    out = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    out->set_pattern(plain_pattern);
  }
  sinks()->set_sinks({out});
  auto logger = std::make_shared<spdlog::logger>("dagminer", sinks());
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return set_log_level(level);
}

std::string set_log_file(const LogFileConfig& log) {
  static LogFileConfig current;
  static std::shared_ptr<spdlog::sinks::sink> file;
  if (log == current) return {};
  std::shared_ptr<spdlog::sinks::sink> next;
  if (!log.file.empty()) {
    try {
      next = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(log.file.string(), log.max_size, log.max_files);
    } catch (const std::exception& e) {
      return e.what();
    }
    next->set_pattern(plain_pattern);
  }
  if (file) sinks()->remove_sink(file);
  if (next) sinks()->add_sink(next);
  file = std::move(next);
  current = log;
  return {};
}

}  // namespace dagminer
