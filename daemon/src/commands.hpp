// Subcommands of the dagminer executable. Each adds itself to the CLI and returns the function
// that runs it once parsed; that function returns the process exit code.
#pragma once

#include <cstdlib>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace dagminer::cli {

using Runner = std::function<int()>;

// A bad argument found after parsing: main prints "dagminer: error: <what>" and exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr int exit_usage = 2;

// CLI::Range for a decimal option, refusing NaN too (it compares false with both ends, so
// CLI::Range lets it through, and a duration of NaN seconds is undefined behaviour).
inline CLI::Validator decimal_range(double min, double max) {
  std::ostringstream range;
  range << "[" << min << " - " << max << "]";
  return CLI::Validator(
      [min, max, range = range.str()](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !(value >= min && value <= max))
          return "Value " + text + " not in range " + range;
        return {};
      },
      "FLOAT in " + range.str());
}

Runner add_hash_command(CLI::App& root);
Runner add_demo_command(CLI::App& root);
Runner add_devices_command(CLI::App& root);
Runner add_bench_command(CLI::App& root);
Runner add_tune_command(CLI::App& root);
Runner add_check_config_command(CLI::App& root);
Runner add_poolsim_command(CLI::App& root);
Runner add_run_command(CLI::App& root);

}  // namespace dagminer::cli
