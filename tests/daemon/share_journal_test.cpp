// The share journal on a failing disk: every write error counted and warned once per episode,
// and never a torn record (a short write is cut off again, or the next record starts afresh).
#include <csignal>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "captured_log.hpp"
#include "dagminer/daemon/share_journal.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer {
namespace {

using test::CapturedLog;

Share share(std::string job) {
  Share s;
  s.pool = "main";
  s.job_id = std::move(job);
  s.device = "cpu0";
  return s;
}

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Files may grow to `bytes` at most while it lives; past that a write fails (EFBIG), as on a full disk.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) : previous_signal_(std::signal(SIGXFSZ, SIG_IGN)) {
    getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit limit = previous_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_signal_);
  }

 private:
  rlimit previous_{};
  void (*previous_signal_)(int);
};

TEST(ShareJournal, WriteErrorsAreCountedAndWarnedOncePerEpisode) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  CapturedLog log;
  {
    ShareJournal journal("/dev/full");
    for (int i = 0; i < 5; ++i) journal.record(share("j" + std::to_string(i)), {});
    EXPECT_EQ(journal.errors(), 5u);
    EXPECT_EQ(log.count("share journal /dev/full: cannot write"), 1u) << log.text();
  }
  EXPECT_EQ(log.count("5 records lost"), 1u) << log.text();  // the episode's count, when it ends
}

TEST(ShareJournal, AShortWriteLeavesNoTornRecord) {
  const test::TempDir dir;
  const auto file = dir.path() / "shares.jsonl";
  CapturedLog log;
  ShareJournal journal(file);
  journal.record(share("first"), {});
  {
    const FileSizeLimit limit(std::filesystem::file_size(file) + 20);  // the next record fits only in part
    journal.record(share("second"), {});
    journal.record(share("third"), {});
  }
  EXPECT_EQ(journal.errors(), 2u);
  journal.record(share("fourth"), {});
  EXPECT_EQ(journal.errors(), 2u);
  EXPECT_EQ(log.count("2 records lost"), 1u) << log.text();  // said when writing works again
  const auto lines = lines_of(file);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(boost::json::parse(lines[0]).at("job"), "first");
  EXPECT_EQ(boost::json::parse(lines[1]).at("job"), "fourth");
}

TEST(ShareJournal, AnUnusableFileIsRefusedWithItsPath) {
  try {
    ShareJournal journal("/nonexistent/d/j.jsonl");
    FAIL() << "opened";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/d/j.jsonl"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dagminer
