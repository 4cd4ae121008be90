// `dagminer poolsim`: the help documents every option and fault; a run serves a real client,
// verifies its share, and prints the per-session summary on SIGTERM.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"

namespace dagminer::stratum {
namespace {

using namespace std::chrono_literals;

// The dagminer binary with its stdout on a pipe.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv{const_cast<char*>(DAGMINER_BINARY)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(DAGMINER_BINARY, argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Child() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      wait();
    }
    if (out_) std::fclose(out_);
  }
  std::string line() {
    char buffer[4096];
    return std::fgets(buffer, sizeof buffer, out_) ? std::string(buffer) : std::string();
  }
  std::string rest() {
    std::string all;
    for (std::string l; !(l = line()).empty();) all += l;
    return all;
  }
  void signal(int sig) { kill(pid_, sig); }
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  bool waited_ = false;
};

TEST(PoolsimCommand, HelpDocumentsEveryOptionAndFault) {
  Child child({"poolsim", "--help"});
  const std::string help = child.rest();
  EXPECT_EQ(child.wait(), 0);
  for (const char* option : {"--listen", "--port", "--dialect", "--tls-cert", "--tls-key", "--algo", "--epoch", "--difficulty",
                             "--job-interval", "--extranonce-bytes", "--extranonce", "--fault", "--cache-dir", "--duration"})
    EXPECT_NE(help.find(option), std::string::npos) << option;
  for (Fault f : {Fault::drop_connections, Fault::pause_listening, Fault::malformed_line, Fault::overlong_line, Fault::delay_replies,
                  Fault::reject_all, Fault::reuse_job_ids, Fault::request_reconnect, Fault::go_silent})
    EXPECT_NE(help.find(std::string("  ") + to_string(f)), std::string::npos) << to_string(f);
}

TEST(PoolsimCommand, ServesAClientAndPrintsTheSummaryOnSigterm) {
  Child child({"poolsim", "--port", "0", "--dialect", "es1", "--difficulty", "1e-9", "--job-interval", "0", "--log-level", "off",
               "--fault", "reconnect@300ms", "--cache-dir", DAGMINER_TEST_CACHE_DIR});
  const std::string first = child.line();
  const std::string prefix = "poolsim: listening on ";
  ASSERT_EQ(first.substr(0, prefix.size()), prefix) << first;
  const std::string url = first.substr(prefix.size(), first.size() - prefix.size() - 1);
  EXPECT_EQ(url.substr(0, 15), "stratum2+tcp://");

  boost::asio::io_context io;
  test::Recorder rec;
  PoolClient client(io, test::fast_pool(url), rec.callbacks());
  client.start();
  ASSERT_TRUE(test::run_until(io, [&] { return !rec.jobs.empty(); }));
  const std::uint64_t id = client.submit(test::find_share(*test::light_cache(Algorithm::ethash, 0), rec.jobs.back(), true));
  ASSERT_TRUE(test::run_until(io, [&] { return rec.result(id) != nullptr; }));
  EXPECT_EQ(rec.result(id)->outcome, ShareOutcome::accepted);
  // The scheduled fault asks the client to reconnect: a second session.
  ASSERT_TRUE(test::run_until(io, [&] { return rec.count_state(PoolState::authorized) >= 2; }));
  client.stop();
  test::run_for(io, 50ms);

  child.signal(SIGTERM);
  const std::string summary = child.rest();
  EXPECT_EQ(child.wait(), 0);
  EXPECT_NE(summary.find("session 1 "), std::string::npos) << summary;
  EXPECT_NE(summary.find("session 2 "), std::string::npos) << summary;
  EXPECT_NE(summary.find("total: accepted 1, stale 0"), std::string::npos) << summary;
}

TEST(PoolsimCommand, BadArgumentsExitWithUsageErrors) {
  for (std::vector<std::string> args : {std::vector<std::string>{"poolsim", "--fault", "bogus@1s"},
                                        {"poolsim", "--fault", "pause@1s"},
                                        {"poolsim", "--dialect", "es9"},
                                        {"poolsim", "--job-interval", "soon"}}) {
    Child child(args);
    (void)child.rest();
    EXPECT_EQ(child.wait(), 2) << args[1] << " " << args[2];
  }
}

}  // namespace
}  // namespace dagminer::stratum
