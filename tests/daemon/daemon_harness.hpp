// Test fixtures for the daemon end to end: simulated pools on their own event-loop thread, and
// `dagminer run` as a real subprocess with its own configuration, log and signals.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "dagminer/stratum/pool_simulator.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer::test {

using namespace std::chrono_literals;

// Polls until cond() holds or the timeout passes; returns the last cond().
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout, std::chrono::milliseconds step = 100ms);

inline constexpr double easy_difficulty = 2e-9;  // about one share per 9 hashes at epoch 0

// A simulated pool for the daemon tests: a clean job every 4 s.
inline stratum::SimulatorConfig simulator(std::string name, double difficulty = easy_difficulty) {
  stratum::SimulatorConfig c;
  c.name = std::move(name);
  c.difficulty = difficulty;
  c.job_interval = std::chrono::milliseconds(4000);
  return c;
}

class SimulatedPools {
 public:
  SimulatedPools();
  ~SimulatedPools();

  // Starts a simulator (cache filled from shared_light_cache) and returns its index.
  std::size_t add(stratum::SimulatorConfig config);
  // Runs f(simulator) on the simulators' event loop and returns its result.
  template <typename F>
  auto with(std::size_t index, F f) {
    std::packaged_task<decltype(f(std::declval<stratum::PoolSimulator&>()))()> task([&] { return f(*pools_.at(index)); });
    auto result = task.get_future();
    boost::asio::post(io_, [&] { task(); });
    return result.get();
  }
  stratum::SessionStats totals(std::size_t index);
  std::string url(std::size_t index);

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{io_.get_executor()};
  std::vector<std::unique_ptr<stratum::PoolSimulator>> pools_;
  std::thread thread_;
};

class DaemonProcess {
 public:
  // Writes the configuration to a fresh temporary directory and starts `dagminer run` there.
  explicit DaemonProcess(const std::string& config_yaml, std::vector<std::string> extra_env = {});
  ~DaemonProcess();  // SIGKILL if still running

  const std::filesystem::path& dir() const noexcept { return dir_; }
  std::filesystem::path config_path() const { return dir_ / "dagminer.yaml"; }
  void rewrite_config(const std::string& config_yaml) const;
  std::string log() const;
  bool wait_for_log(const std::string& fragment, std::chrono::milliseconds timeout) const;
  std::size_t count_in_log(const std::string& fragment) const;
  void signal(int signo) const;
  // Waits for the exit; returns the exit code, or -1 on timeout (then kills it).
  int wait_exit(std::chrono::milliseconds timeout);
  bool running();

 private:
  std::filesystem::path dir_;
  int pid_ = -1;
};

}  // namespace dagminer::test
