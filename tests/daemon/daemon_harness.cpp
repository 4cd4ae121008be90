#include "daemon_harness.hpp"

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include "dagminer/core/light_cache_store.hpp"

namespace dagminer::test {

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout, std::chrono::milliseconds step) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return cond();
    std::this_thread::sleep_for(step);
  }
  return true;
}

SimulatedPools::SimulatedPools() : thread_([this] { io_.run(); }) {}

SimulatedPools::~SimulatedPools() {
  boost::asio::post(io_, [this] {
    for (auto& p : pools_) p->stop();
  });
  guard_.reset();
  io_.stop();
  thread_.join();
  pools_.clear();
}

std::size_t SimulatedPools::add(stratum::SimulatorConfig config) {
  if (!config.cache) config.cache = shared_light_cache(config.algo, config.epoch);
  std::promise<std::size_t> index;
  boost::asio::post(io_, [&] {
    try {
      pools_.push_back(std::make_unique<stratum::PoolSimulator>(io_, std::move(config)));
      index.set_value(pools_.size() - 1);
    } catch (...) {
      index.set_exception(std::current_exception());
    }
  });
  return index.get_future().get();
}

stratum::SessionStats SimulatedPools::totals(std::size_t index) {
  return with(index, [](stratum::PoolSimulator& p) { return p.totals(); });
}

std::string SimulatedPools::url(std::size_t index) {
  return with(index, [](stratum::PoolSimulator& p) { return p.url(); });
}

DaemonProcess::DaemonProcess(const std::string& config_yaml, std::vector<std::string> extra_env) {
  std::random_device rd;
  dir_ = std::filesystem::temp_directory_path() / ("dagminer-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(dir_);
  rewrite_config(config_yaml);
  const std::string log_path = (dir_ / "daemon.log").string();
  const std::string config = config_path().string();
  const std::string dir = dir_.string();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    // The test's own sockets (a simulator's listening socket above all) must not live on in
    // the daemon: the kernel would keep accepting connections for a pool that stopped listening.
    close_range(3, ~0u, 0);
    for (auto& e : extra_env) putenv(e.data());
    if (chdir(dir.c_str()) != 0) _exit(126);  // relative paths in the config resolve here
    execl(DAGMINER_BINARY, DAGMINER_BINARY, "run", "--config", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void DaemonProcess::rewrite_config(const std::string& config_yaml) const {
  const auto tmp = dir_ / "dagminer.yaml.tmp";
  std::ofstream(tmp) << config_yaml;
  std::filesystem::rename(tmp, config_path());
}

std::string DaemonProcess::log() const {
  std::ifstream in(dir_ / "daemon.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool DaemonProcess::wait_for_log(const std::string& fragment, std::chrono::milliseconds timeout) const {
  return eventually([&] { return log().find(fragment) != std::string::npos; }, timeout);
}

std::size_t DaemonProcess::count_in_log(const std::string& fragment) const {
  const std::string text = log();
  std::size_t n = 0;
  for (auto pos = text.find(fragment); pos != std::string::npos; pos = text.find(fragment, pos + 1)) ++n;
  return n;
}

void DaemonProcess::signal(int signo) const {
  if (pid_ > 0) kill(pid_, signo);
}

bool DaemonProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  return -1;
}

}  // namespace dagminer::test
