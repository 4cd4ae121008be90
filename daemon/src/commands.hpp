// Subcommands of the dagminer executable. Each adds itself to the CLI and returns the function
// that runs it once parsed; that function returns the process exit code.
#pragma once

#include <functional>
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

Runner add_hash_command(CLI::App& root);
Runner add_demo_command(CLI::App& root);
Runner add_devices_command(CLI::App& root);
Runner add_bench_command(CLI::App& root);
Runner add_tune_command(CLI::App& root);
Runner add_check_config_command(CLI::App& root);
Runner add_poolsim_command(CLI::App& root);
Runner add_run_command(CLI::App& root);

}  // namespace dagminer::cli
