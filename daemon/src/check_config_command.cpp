// `dagminer check-config FILE`: validate a configuration without running it.
#include <cstdio>

#include "commands.hpp"
#include "dagminer/daemon/config.hpp"

namespace dagminer::cli {

Runner add_check_config_command(CLI::App& root) {
  auto file = std::make_shared<std::string>();
  auto* cmd = root.add_subcommand("check-config", "Validate a configuration file: exit 0, or list every problem and exit 1");
  cmd->add_option("file", *file, "the YAML configuration")->required();
  return [file] {
    const ConfigLoad load = load_config(*file);
    for (const auto& e : load.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    if (!load.config) return 1;
    const Config& c = *load.config;
    std::printf("%s: OK (%zu pool%s, strategy %s)\n", file->c_str(), c.pools.size(), c.pools.size() == 1 ? "" : "s",
                std::string(to_string(c.strategy)).c_str());
    return 0;
  };
}

}  // namespace dagminer::cli
