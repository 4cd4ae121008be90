// `dagminer poolsim`: the pool simulator on the command line, for trying a rig or a configuration
// locally. Serves until SIGINT/SIGTERM (or --duration), then prints the per-session summary.
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "dagminer/core/light_cache_store.hpp"
#include "dagminer/stratum/error_codes.hpp"
#include "dagminer/stratum/getwork_node.hpp"
#include "dagminer/stratum/pool_simulator.hpp"

namespace dagminer::cli {
namespace {

struct PoolsimOptions {
  std::string listen = "127.0.0.1";
  std::uint16_t port = 4444;
  std::string dialect = "auto";
  std::string tls_cert, tls_key;
  std::string algo = "ethash";
  int epoch = 0;
  std::optional<int> next_epoch;  // default: epoch + 1
  std::string next_epoch_after;   // empty: never
  double difficulty = 1.0;
  std::string job_interval = "30s";
  std::size_t extranonce_bytes = 2;
  std::string extranonce;
  std::vector<std::string> faults;
  std::string cache_dir;
  std::string duration;
  std::string log_level = "info";
  // --dialect getwork: a node instead of a pool.
  std::vector<std::string> notify;
  bool notify_full = false;
  unsigned work_elements = 4;
  std::string basic_auth;
};

// "250ms", "5s", "2m" or a plain number of seconds.
std::chrono::milliseconds parse_duration(const std::string& text, const std::string& option) {
  std::size_t used = 0;
  double value = -1;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  const std::string unit = text.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m") scale = 60000;
  if (value < 0 || scale == 0) throw UsageError(option + ": expected a duration such as 500ms, 5s or 2m, got '" + text + "'");
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * scale));
}

// NAME[:DURATION]@PERIOD, e.g. drop@60s or pause:5s@2m.
stratum::FaultSchedule parse_fault_spec(const std::string& spec) {
  const auto at = spec.find('@');
  if (at == std::string::npos) throw UsageError("--fault: expected NAME[:DURATION]@PERIOD, got '" + spec + "'");
  std::string name = spec.substr(0, at);
  std::string length;
  if (const auto colon = name.find(':'); colon != std::string::npos) {
    length = name.substr(colon + 1);
    name = name.substr(0, colon);
  }
  const auto fault = stratum::parse_fault(name);
  if (!fault) throw UsageError("--fault: unknown fault '" + name + "' in '" + spec + "'");
  stratum::FaultSchedule s{*fault, parse_duration(spec.substr(at + 1), "--fault period"), {}};
  if (stratum::fault_has_duration(*fault)) {
    if (length.empty()) throw UsageError("--fault: '" + name + "' needs a duration, e.g. " + name + ":5s@60s");
    s.duration = parse_duration(length, "--fault duration");
  } else if (!length.empty()) {
    throw UsageError("--fault: '" + name + "' takes no duration");
  }
  if (s.every.count() <= 0) throw UsageError("--fault: the period must be positive in '" + spec + "'");
  return s;
}

PoolProtocol parse_dialect(const std::string& name) {
  if (name == "auto") return PoolProtocol::automatic;
  if (name == "ethproxy") return PoolProtocol::ethproxy;
  if (name == "es1") return PoolProtocol::ethereum_stratum_1;
  if (name == "es2") return PoolProtocol::ethereum_stratum_2;
  if (name == "getwork") return PoolProtocol::getwork;
  throw UsageError("--dialect: expected auto, ethproxy, es1, es2 or getwork, got '" + name + "'");
}

// Serves `node` until SIGINT/SIGTERM or `duration`, a new block every `block_interval`.
int serve_node(boost::asio::io_context& io, stratum::GetworkNode& node, std::chrono::milliseconds block_interval,
               std::chrono::milliseconds duration) {
  std::printf("poolsim: node listening on %s\n", node.url().c_str());
  std::fflush(stdout);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) io.stop();
  });
  boost::asio::steady_timer stop_timer(io);
  if (duration.count() > 0) {
    stop_timer.expires_after(duration);
    stop_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) io.stop();
    });
  }
  boost::asio::steady_timer block_timer(io);
  std::function<void()> next_block = [&] {
    if (block_interval.count() <= 0) return;
    block_timer.expires_after(block_interval);
    block_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      node.new_block();
      spdlog::info("poolsim: block {}", node.block());
      next_block();
    });
  };
  next_block();
  io.run();
  const auto& s = node.stats();
  std::printf("poolsim: blocks accepted %llu, stale %llu, invalid %llu, unauthorized %llu, eth_getWork %llu, pushes %llu\n",
              static_cast<unsigned long long>(s.blocks_accepted), static_cast<unsigned long long>(s.stale),
              static_cast<unsigned long long>(s.invalid), static_cast<unsigned long long>(s.unauthorized),
              static_cast<unsigned long long>(s.get_work), static_cast<unsigned long long>(s.pushes));
  return 0;
}

int run_poolsim(const PoolsimOptions& o) {
  const auto level = spdlog::level::from_str(o.log_level);
  if (level == spdlog::level::off && o.log_level != "off") throw UsageError("--log-level: unknown level '" + o.log_level + "'");
  spdlog::set_level(level);

  stratum::SimulatorConfig config;
  config.address = o.listen;
  config.port = o.port;
  config.dialect = parse_dialect(o.dialect);
  config.tls_cert = o.tls_cert;
  config.tls_key = o.tls_key;
  const auto algo = parse_algorithm(o.algo);
  if (!algo) throw UsageError("--algo: expected ethash or etchash, got '" + o.algo + "'");
  config.algo = *algo;
  config.epoch = o.epoch;
  if (!(o.difficulty >= min_difficulty)) throw UsageError("--difficulty: must be at least " + std::to_string(min_difficulty));
  config.difficulty = o.difficulty;
  config.job_interval = parse_duration(o.job_interval, "--job-interval");
  config.extranonce_bytes = o.extranonce_bytes;
  config.first_extranonce = o.extranonce;
  config.light_cache_dir = o.cache_dir.empty() ? LightCacheStore::default_directory().string() : o.cache_dir;
  const int next_epoch = o.next_epoch.value_or(o.epoch + 1);
  std::chrono::milliseconds move_after{0};  // 0: the pool stays on --epoch
  if (!o.next_epoch_after.empty()) {
    move_after = parse_duration(o.next_epoch_after, "--next-epoch-after");
    if (move_after.count() <= 0) throw UsageError("--next-epoch-after: must be positive, got '" + o.next_epoch_after + "'");
    if (next_epoch > max_epoch)
      throw UsageError("--next-epoch: " + std::string(o.next_epoch ? "" : "the default, --epoch + 1 = ") +
                       std::to_string(next_epoch) + ", is beyond the last epoch, " + std::to_string(max_epoch));
    if (next_epoch == o.epoch) throw UsageError("--next-epoch: must differ from --epoch (both " + std::to_string(o.epoch) + ")");
  }
  std::vector<stratum::FaultSchedule> schedules;
  for (const auto& f : o.faults) schedules.push_back(parse_fault_spec(f));
  const auto duration = o.duration.empty() ? std::chrono::milliseconds(0) : parse_duration(o.duration, "--duration");

  boost::asio::io_context io;
  if (config.dialect == PoolProtocol::getwork) {
    if (!schedules.empty() || move_after.count() > 0)
      throw UsageError("--dialect getwork: --fault and --next-epoch-after are for Stratum pools");
    if (o.work_elements != 3 && o.work_elements != 4) throw UsageError("--work-elements: expected 3 or 4");
    stratum::GetworkNodeConfig node_config;
    node_config.address = o.listen;
    node_config.port = o.port;
    node_config.tls_cert = o.tls_cert;
    node_config.tls_key = o.tls_key;
    node_config.algo = config.algo;
    node_config.epoch = config.epoch;
    node_config.difficulty = config.difficulty;
    node_config.three_element_work = o.work_elements == 3;
    node_config.basic_auth = o.basic_auth;
    node_config.notify_urls = o.notify;
    node_config.notify_full = o.notify_full;
    spdlog::info("poolsim: preparing the {} epoch {} light cache", o.algo, o.epoch);
    node_config.cache = LightCacheStore(config.light_cache_dir).get(config.algo, config.epoch).cache;
    std::unique_ptr<stratum::GetworkNode> node;
    try {
      node = std::make_unique<stratum::GetworkNode>(io, node_config);
    } catch (const std::runtime_error& e) {
      throw UsageError(e.what());
    }
    return serve_node(io, *node, config.job_interval, duration);
  }
  // The next epoch's cache is ready before the pool listens, so the move itself costs nothing.
  std::shared_ptr<const LightCache> next_cache;
  if (move_after.count() > 0) {
    spdlog::info("poolsim: preparing the {} epoch {} light cache for the move", o.algo, next_epoch);
    next_cache = LightCacheStore(config.light_cache_dir).get(config.algo, next_epoch).cache;
  }
  spdlog::info("poolsim: preparing the {} epoch {} light cache", o.algo, o.epoch);
  std::unique_ptr<stratum::PoolSimulator> sim;
  try {
    sim = std::make_unique<stratum::PoolSimulator>(io, config);
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
  for (const auto& s : schedules) sim->schedule(s);
  boost::asio::steady_timer epoch_timer(io);
  if (next_cache) {
    spdlog::info("poolsim: will move to {} epoch {} {} ms after starting", o.algo, next_epoch, move_after.count());
    epoch_timer.expires_after(move_after);
    epoch_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      sim->set_epoch(next_epoch, next_cache);
      spdlog::info("poolsim: moved to {} epoch {} (job {})", o.algo, next_epoch, sim->job_id());
    });
  }
  std::printf("poolsim: listening on %s\n", sim->url().c_str());
  if (!sim->fingerprint().empty()) std::printf("poolsim: certificate SHA-256 %s\n", sim->fingerprint().c_str());
  std::fflush(stdout);

  auto finish = [&] {
    sim->stop();
    io.stop();
  };
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) finish();
  });
  boost::asio::steady_timer deadline(io);
  if (duration.count() > 0) {
    deadline.expires_after(duration);
    deadline.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) finish();
    });
  }
  io.run();
  std::printf("%s", sim->summary().c_str());
  return 0;
}

// The faults, examples and the error codes the simulator answers with (those of StratumError).
std::string help_footer() {
  using stratum::StratumError;
  const auto code = [](StratumError e) { return std::to_string(stratum::code(e)); };
  return "Faults (--fault NAME[:DURATION]@PERIOD, repeatable):\n"
         "  drop              close every session\n"
         "  pause:D           stop listening for D\n"
         "  malformed         send a line that is not JSON\n"
         "  overlong          send a line longer than 64 KiB\n"
         "  delay:D           answer requests D late, for D\n"
         "  reject:D          refuse authorization and every share (code " +
         code(StratumError::unauthorized) +
         ") for D\n"
         "  reuse-ids:D       new jobs keep the previous job id for D\n"
         "  reconnect         ask miners to reconnect (client.reconnect / mining.reconnect)\n"
         "  silent:D          read but neither answer nor send jobs for D\n"
         "Example: dagminer poolsim --port 4444 --difficulty 0.001 --fault drop@10m --fault delay:3s@5m\n"
         "Epoch change: dagminer poolsim --epoch 0 --next-epoch-after 2m moves to epoch 1 after two minutes;\n"
         "the next epoch's light cache is prepared before listening.\n"
         "Shares are answered accepted, stale (" +
         code(StratumError::stale) + "), duplicate (" + code(StratumError::duplicate) + "), low difficulty (" +
         code(StratumError::low_difficulty) + ") or unauthorized (" + code(StratumError::unauthorized) +
         ").\n"
         "On SIGINT/SIGTERM the per-session summary is printed.";
}

}  // namespace

Runner add_poolsim_command(CLI::App& root) {
  auto o = std::make_shared<PoolsimOptions>();
  auto* cmd = root.add_subcommand(
      "poolsim", "Run a local pool simulator (EthProxy, EthereumStratum/1.0.0 and 2.0.0) that verifies every share");
  cmd->footer(help_footer());
  cmd->add_option("--listen", o->listen, "address to listen on, IPv4 or IPv6")->capture_default_str();
  cmd->add_option("--port", o->port, "TCP port (0: any free port)")->capture_default_str();
  cmd->add_option("--dialect", o->dialect,
                  "auto (serve whichever the miner speaks), ethproxy, es1 (EthereumStratum/1.0.0), es2 (EthereumStratum/2.0.0) "
                  "or getwork (a node's HTTP JSON-RPC, as core-geth serves a remote miner)")
      ->capture_default_str();
  auto* cert = cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate chain: serve TLS");
  auto* key = cmd->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
  cert->needs(key);
  key->needs(cert);
  cmd->add_option("--algo", o->algo, "ethash or etchash")->capture_default_str();
  cmd->add_option("--epoch", o->epoch, "DAG epoch of the jobs (of the first ones, with --next-epoch-after)")
      ->check(CLI::Range(0, max_epoch))
      ->capture_default_str();
  auto* move_after = cmd->add_option("--next-epoch-after", o->next_epoch_after,
                                     "move to --next-epoch this long after starting, with a clean job (default: never)");
  cmd->add_option("--next-epoch", o->next_epoch, "epoch to move to after --next-epoch-after (default: --epoch + 1)")
      ->check(CLI::Range(0, max_epoch))
      ->needs(move_after);
  cmd->add_option("--difficulty", o->difficulty, "share difficulty (1 = target 0x00000000ffff...)")->capture_default_str();
  cmd->add_option("--job-interval", o->job_interval, "a new clean job this often (0: never)")->capture_default_str();
  cmd->add_option("--extranonce-bytes", o->extranonce_bytes, "extranonce size per session, 0 to 3")
      ->check(CLI::Range(0, 3))
      ->capture_default_str();
  cmd->add_option("--extranonce", o->extranonce, "first session's extranonce in hex (later sessions count up)");
  cmd->add_option("--fault", o->faults, "scheduled fault, NAME[:DURATION]@PERIOD (see below)");
  cmd->add_option("--cache-dir", o->cache_dir,
                  "light cache directory (default: " + LightCacheStore::default_directory().string() + ")");
  cmd->add_option("--duration", o->duration, "stop after this long (default: until SIGINT/SIGTERM)");
  cmd->add_option("--notify", o->notify, "getwork: POST each new block's work here, like core-geth's --miner.notify URL");
  cmd->add_flag("--notify-full", o->notify_full, "getwork: POST the block header as JSON instead (--miner.notify.full)");
  cmd->add_option("--work-elements", o->work_elements, "getwork: eth_getWork answers 4 elements (with the block number) or 3")
      ->capture_default_str();
  cmd->add_option("--basic-auth", o->basic_auth, "getwork: require HTTP Basic credentials USER:PASSWORD");
  cmd->add_option("--log-level", o->log_level, "trace, debug, info, warning, error or off")->capture_default_str();
  return [o] { return run_poolsim(*o); };
}

}  // namespace dagminer::cli
