// `dagminer run`: the daemon itself.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "api_server.hpp"
#include "commands.hpp"
#include "dagminer/daemon/build_info.hpp"
#include "dagminer/daemon/config.hpp"
#include "dagminer/daemon/engine.hpp"
#include "dagminer/daemon/health_text.hpp"
#include "dagminer/daemon/summary.hpp"
#include "device_factory.hpp"
#include "logging.hpp"
#include "systemd_notify.hpp"

namespace dagminer::cli {
namespace {

constexpr auto shutdown_grace = std::chrono::seconds(3);
constexpr auto status_period = std::chrono::seconds(1);

std::string status_line(const Engine& engine) {
  std::size_t up = 0;
  const auto pools = engine.pools();
  for (const auto& p : pools) up += p.alive;
  const auto& t = engine.ledger().total();
  std::string line = fmt::format("{}, {}/{} pools up, shares {}, hw errors {}", format_rate(engine.hashrate()), up, pools.size(),
                                 format_shares(t), t.hardware_errors);
  for (const auto& d : engine.devices())
    if (const auto health = device_health_text(d); !health.empty()) line += fmt::format(" | {} {}", d.info.id, health);
  return line;
}

// READY once mining, STATUS every second, WATCHDOG only while the engine is healthy: this runs
// on the event loop, so a stuck loop or a stalled device both starve the watchdog. When the
// engine asks for a new process after a GPU fault, on_fault_exit is called once.
class ServiceMonitor {
 public:
  ServiceMonitor(boost::asio::io_context& io, const Engine& engine, const SystemdNotifier& notifier,
                 std::function<void()> on_fault_exit)
      : engine_(engine), notifier_(notifier), timer_(io), on_fault_exit_(std::move(on_fault_exit)) {}
  void start() { tick(); }
  void cancel() { timer_.cancel(); }
  bool ready() const noexcept { return ready_; }  // READY=1 was sent: the start is over

 private:
  void tick() {
    if (!engine_.fault_exit().empty()) return on_fault_exit_();
    if (!ready_ && engine_.mining()) {
      ready_ = true;
      notifier_.ready();
      spdlog::info("ready: the devices have work");
    }
    notifier_.status(status_line(engine_));
    const auto now = std::chrono::steady_clock::now();
    if (const auto period = notifier_.watchdog_period(); period && now - last_watchdog_ >= *period) {
      if (const auto problem = engine_.health_problem(); problem.empty()) {
        notifier_.watchdog();
        last_watchdog_ = now;
      } else {
        spdlog::error("unhealthy, withholding the watchdog: {}", problem);
      }
    }
    timer_.expires_after(
        std::min<std::chrono::steady_clock::duration>(status_period, notifier_.watchdog_period().value_or(status_period)));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  }
  const Engine& engine_;
  const SystemdNotifier& notifier_;
  boost::asio::steady_timer timer_;
  std::function<void()> on_fault_exit_;
  bool ready_ = false;
  std::chrono::steady_clock::time_point last_watchdog_{};
};

int run_daemon(const std::string& config_file) {
  ConfigLoad load = load_config(config_file);
  if (!load.config) {
    for (const auto& e : load.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 1;
  }
  setup_logging(load.config->log_level);
  if (const auto problem = set_log_file(load.config->log); !problem.empty()) {
    spdlog::critical("cannot open the log file {}: {}", load.config->log.file.string(), problem);
    return 1;
  }
  const BuildInfo& build = build_info();
  spdlog::info("dagminer {} ({}, commit {}, CUDA runtime {}, driver {}, GPU code {}) starting with {}", build.version,
               build.build_type, build.commit, build.cuda_runtime, build.cuda_driver, build.cuda_architectures, config_file);

  auto devices =
      open_devices(load.config->devices, load.config->memory, load.config->launch_shapes, load.config->light_cache_dir);
  if (devices.empty()) {
    spdlog::critical("no device to mine with (devices: in {})", config_file);
    return 1;
  }

  boost::asio::io_context io;
  const SystemdNotifier notifier;
  const ApiConfig api_config = load.config->api;
  Engine engine(io, std::move(*load.config), std::move(devices));
  ApiServer api(io, engine, api_config);
  int exit_status = 0;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  // Settles the shares (up to the grace), closes the pools, then ends the loop.
  std::function<void()> shut_down;
  ServiceMonitor monitor(io, engine, notifier, [&] {
    notifier.status("GPU fault: " + engine.fault_exit() + "; exiting for a restart");
    exit_status = gpu_fault_exit_status;
    shut_down();
  });
  bool shutting_down = false;
  shut_down = [&] {
    if (std::exchange(shutting_down, true)) return;
    notifier.stopping();
    monitor.cancel();
    api.stop();
    engine.stop(shutdown_grace, [&] {
      signals.cancel();
      io.stop();
    });
  };
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      spdlog::info("SIGHUP: reloading {}", config_file);
      // Before the first READY, systemd would take the reload's READY for the end of the start.
      const bool started = monitor.ready();
      if (started) notifier.reloading();
      ConfigLoad next = load_config(config_file);
      if (!next.config) {
        for (const auto& e : next.errors) spdlog::error("reload refused, keeping the running configuration: {}", e.to_string());
      } else {
        if (!set_log_level(next.config->log_level)) spdlog::warn("unknown log level {}", next.config->log_level);
        if (const auto problem = set_log_file(next.config->log); !problem.empty())
          spdlog::error("cannot open the log file {}, keeping the previous one: {}", next.config->log.file.string(), problem);
        api.reconfigure(next.config->api);
        engine.reload(std::move(*next.config));
        spdlog::info("configuration reloaded");
      }
      if (started) notifier.ready();
      signals.async_wait(on_signal);
      return;
    }
    spdlog::info("{}: stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
    shut_down();
  };
  signals.async_wait(on_signal);
  api.start();
  engine.start();
  monitor.start();
  io.run();
  if (exit_status == gpu_fault_exit_status) {
    // The faulted GPU's context is unusable, and a hung launch would block freeing its memory
    // forever: end the process without destructors; the driver frees what it held.
    spdlog::critical("stopped after a GPU fault: exit status {}", exit_status);
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(exit_status);
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace

Runner add_run_command(CLI::App& root) {
  auto file = std::make_shared<std::string>("/etc/dagminer/dagminer.yaml");
  auto* cmd = root.add_subcommand("run", "Run the mining daemon");
  cmd->add_option("-c,--config", *file, "the YAML configuration")->capture_default_str();
  return [file] { return run_daemon(*file); };
}

}  // namespace dagminer::cli
