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

// The dagminer binary with its stdout (and stderr, when asked) on a pipe.
class Child {
 public:
  explicit Child(std::vector<std::string> args, bool with_stderr = false) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      if (with_stderr) dup2(fds[1], STDERR_FILENO);
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
  for (const char* option :
       {"--listen",        "--port",       "--dialect",      "--tls-cert",         "--tls-key",    "--algo",
        "--epoch",         "--difficulty", "--job-interval", "--extranonce-bytes", "--extranonce", "--fault",
        "--cache-dir",     "--duration",   "--next-epoch",   "--next-epoch-after", "--notify",     "--notify-full",
        "--work-elements", "--basic-auth"})
    EXPECT_NE(help.find(option), std::string::npos) << option;
  for (Fault f : {Fault::drop_connections, Fault::pause_listening, Fault::malformed_line, Fault::overlong_line,
                  Fault::delay_replies, Fault::reject_all, Fault::reuse_job_ids, Fault::request_reconnect, Fault::go_silent})
    EXPECT_NE(help.find(std::string("  ") + to_string(f)), std::string::npos) << to_string(f);
  EXPECT_NE(help.find("Shares are answered accepted, stale (21), duplicate (22), low difficulty (23) or unauthorized (24)."),
            std::string::npos);
  EXPECT_NE(help.find("refuse authorization and every share (code 24) for D"), std::string::npos);
}

TEST(PoolsimCommand, ServesAClientAndPrintsTheSummaryOnSigterm) {
  Child child({"poolsim", "--port", "0", "--dialect", "es1", "--difficulty", "1e-9", "--job-interval", "0", "--log-level", "off",
               "--fault", "reconnect@3s", "--cache-dir", test::shared_cache_directory().string()});
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
  const std::uint64_t id =
      client.submit(test::find_share(*test::shared_light_cache(Algorithm::ethash, 0), rec.jobs.back(), true));
  ASSERT_TRUE(test::run_until(io, [&] { return rec.result(id) != nullptr; }));
  EXPECT_EQ(rec.result(id)->outcome, ShareOutcome::accepted);
  // The scheduled fault asks the client to reconnect: a second session.
  ASSERT_TRUE(test::run_until(io, [&] { return rec.count_state(ConnectionState::authorized) >= 2; }));
  client.stop();
  test::run_for(io, 50ms);

  child.signal(SIGTERM);
  const std::string summary = child.rest();
  EXPECT_EQ(child.wait(), 0);
  EXPECT_NE(summary.find("session 1 "), std::string::npos) << summary;
  EXPECT_NE(summary.find("session 2 "), std::string::npos) << summary;
  EXPECT_NE(summary.find("total: accepted 1, stale 0"), std::string::npos) << summary;
}

TEST(PoolsimCommand, ServesASoloMinerAsANode) {
  Child child({"poolsim", "--port", "0", "--dialect", "getwork", "--difficulty", "1e-9", "--job-interval", "0", "--log-level",
               "off", "--basic-auth", "miner:pw", "--cache-dir", test::shared_cache_directory().string()});
  const std::string first = child.line();
  const std::string prefix = "poolsim: node listening on getwork+http://";
  ASSERT_EQ(first.substr(0, prefix.size()), prefix) << first;
  const std::string address = first.substr(prefix.size(), first.size() - prefix.size() - 1);

  boost::asio::io_context io;
  test::Recorder rec;
  auto source = make_job_source(io.get_executor(), test::fast_pool("getwork+http://miner:pw@" + address), rec.callbacks());
  source->start();
  ASSERT_TRUE(test::run_until(io, [&] { return !rec.jobs.empty(); }));
  const std::uint64_t id =
      source->submit(test::find_share(*test::shared_light_cache(Algorithm::ethash, 0), rec.jobs.back(), true));
  ASSERT_TRUE(test::run_until(io, [&] { return rec.result(id) != nullptr; }));
  EXPECT_EQ(rec.result(id)->outcome, ShareOutcome::accepted);
  source->stop();
  test::run_for(io, 50ms);

  child.signal(SIGTERM);
  const std::string summary = child.rest();
  EXPECT_EQ(child.wait(), 0);
  EXPECT_NE(summary.find("blocks accepted 1, stale 0, invalid 0, unauthorized 0"), std::string::npos) << summary;
}

TEST(PoolsimCommand, BadArgumentsExitWithUsageErrors) {
  for (std::vector<std::string> args : {std::vector<std::string>{"poolsim", "--fault", "bogus@1s"},
                                        {"poolsim", "--fault", "pause@1s"},
                                        {"poolsim", "--dialect", "es9"},
                                        {"poolsim", "--dialect", "getwork", "--fault", "drop@1s"},
                                        {"poolsim", "--dialect", "getwork", "--work-elements", "5"},
                                        {"poolsim", "--job-interval", "soon"}}) {
    Child child(args);
    (void)child.rest();
    EXPECT_EQ(child.wait(), 2) << args[1] << " " << args[2];
  }
}

TEST(PoolsimCommand, EpochOptionsAreCheckedAndNamedInUsageErrors) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"poolsim", "--next-epoch-after", "soon"}, "--next-epoch-after"},
      {{"poolsim", "--next-epoch-after", "0"}, "--next-epoch-after"},
      {{"poolsim", "--next-epoch", "0", "--next-epoch-after", "1s"}, "--next-epoch"},  // the same as --epoch
      {{"poolsim", "--next-epoch", "-1", "--next-epoch-after", "1s"}, "--next-epoch"},
      {{"poolsim", "--next-epoch", "32768", "--next-epoch-after", "1s"}, "--next-epoch"},
      {{"poolsim", "--epoch", "32767", "--next-epoch-after", "1s"}, "--next-epoch"},  // the default, --epoch + 1
      {{"poolsim", "--next-epoch", "3"}, "--next-epoch-after"},                       // a target without a time
  };
  for (const auto& [args, option] : cases) {
    Child child(args, true);
    const std::string out = child.rest();
    EXPECT_EQ(child.wait(), 2) << out;
    EXPECT_NE(out.find(option), std::string::npos) << out;
  }
}

TEST(PoolsimCommand, MovesToTheNextEpochOnSchedule) {
  Child child({"poolsim", "--port", "0", "--dialect", "es2", "--difficulty", "1e-9", "--job-interval", "0", "--log-level", "info",
               "--next-epoch-after", "1s", "--cache-dir", test::shared_cache_directory().string()});
  const std::string prefix = "poolsim: listening on ";
  std::string startup, line;
  while (!(line = child.line()).empty() && line.rfind(prefix, 0) != 0) startup += line;
  ASSERT_EQ(line.substr(0, prefix.size()), prefix) << startup;
  EXPECT_NE(startup.find("will move to ethash epoch 1 1000 ms after starting"), std::string::npos) << startup;
  const std::string url = line.substr(prefix.size(), line.size() - prefix.size() - 1);

  boost::asio::io_context io;
  test::Recorder rec;
  PoolClient client(io, test::fast_pool(url), rec.callbacks());
  client.start();
  ASSERT_TRUE(test::run_until(io, [&] { return !rec.jobs.empty() && rec.jobs.back().epoch == 1; }));
  for (const Job& j : rec.jobs) EXPECT_EQ(j.epoch, &j == &rec.jobs.back() ? 1 : 0);
  const Job moved = rec.jobs.back();
  EXPECT_EQ(moved.seed, seed_of_epoch(Algorithm::ethash, 1));
  const std::uint64_t id = client.submit(test::find_share(*test::shared_light_cache(Algorithm::ethash, 1), moved, true));
  ASSERT_TRUE(test::run_until(io, [&] { return rec.result(id) != nullptr; }));
  EXPECT_EQ(rec.result(id)->outcome, ShareOutcome::accepted) << rec.result(id)->reason;
  client.stop();
  test::run_for(io, 50ms);

  child.signal(SIGTERM);
  const std::string rest = child.rest();
  EXPECT_EQ(child.wait(), 0);
  EXPECT_NE(rest.find("poolsim: moved to ethash epoch 1 (job " + moved.id + ")"), std::string::npos) << rest;
  EXPECT_NE(rest.find("ethash epoch 1\n"), std::string::npos) << rest;  // the summary's heading
  EXPECT_NE(rest.find("total: accepted 1, stale 0"), std::string::npos) << rest;
}

}  // namespace
}  // namespace dagminer::stratum
