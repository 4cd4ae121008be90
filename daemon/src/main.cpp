#include <cstdio>
#include <exception>
#include <vector>

#include "commands.hpp"
#include "dagminer/daemon/build_info.hpp"

int main(int argc, char** argv) {
  using namespace dagminer::cli;
  CLI::App app{"dagminer: a multi-pool GPU mining daemon for Ethash and Etchash", "dagminer"};
  app.require_subcommand(1);
  app.set_version_flag(
      "--version", [] { return dagminer::version_text(dagminer::build_info()); },
      "Print the version, commit, build type, CUDA runtime and driver, GPU architectures");

  std::vector<std::pair<CLI::App*, Runner>> commands;
  auto add = [&](Runner (*adder)(CLI::App&)) {
    const auto before = app.get_subcommands({}).size();
    Runner run = adder(app);
    commands.emplace_back(app.get_subcommands({}).at(before), std::move(run));
  };
  add(add_run_command);
  add(add_hash_command);
  add(add_demo_command);
  add(add_devices_command);
  add(add_bench_command);
  add(add_tune_command);
  add(add_check_config_command);
  add(add_poolsim_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; every real error exits 2.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "dagminer: error: %s\n", e.what());
    return exit_usage;
  }
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "dagminer: error: %s\n", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dagminer: fatal: %s\n", e.what());
    return 1;
  }
  return 0;
}
