#include "dagminer/daemon/share_journal.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

#include <boost/json.hpp>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dagminer/core/hex.hpp"

namespace dagminer {

ShareJournal::ShareJournal(const std::filesystem::path& file)
    : file_(::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)), path_(file) {
  if (!file_.is_open()) throw std::system_error(errno, std::generic_category(), "share journal " + file.string());
}

ShareJournal::~ShareJournal() {
  if (enabled()) end_failure_episode("at close");
}

// One record is written whole or not at all: a short write (a disk filling up) is cut off again.
int ShareJournal::append(const std::string& text) {
  struct stat before {};
  const bool sized = ::fstat(file_.get(), &before) == 0 && S_ISREG(before.st_mode);
  std::size_t written = 0;
  int error = 0;
  while (written < text.size() && error == 0) {
    const ssize_t n = ::write(file_.get(), text.data() + written, text.size() - written);
    if (n > 0) written += static_cast<std::size_t>(n);
    else if (n == 0) error = EIO;
    else if (errno != EINTR) error = errno;
  }
  if (error != 0 && written > 0 && !(sized && ::ftruncate(file_.get(), before.st_size) == 0)) torn_ = true;
  return error;
}

void ShareJournal::end_failure_episode(const char* how) {
  if (lost_in_episode_ == 0) return;
  spdlog::warn("share journal {}: {} records lost {}", path_.string(), lost_in_episode_, how);
  lost_in_episode_ = 0;
}

void ShareJournal::record(const Share& share, const ShareResult& result) {
  if (!enabled()) return;
  const auto now = std::chrono::system_clock::now();
  boost::json::object line;
  line["time"] = std::chrono::duration<double>(now.time_since_epoch()).count();
  line["pool"] = share.pool;
  line["job"] = share.job_id;
  line["nonce"] = to_hex_u64(share.nonce);
  line["device"] = share.device;
  line["difficulty"] = share.difficulty;
  line["job_difficulty"] = share.job_difficulty;
  line["outcome"] = to_string(result.outcome);
  if (!result.reason.empty()) line["reason"] = result.reason;
  line["latency_ms"] = result.round_trip.count();
  std::string text(torn_ ? "\n" : "");
  text += boost::json::serialize(line);
  text += '\n';
  if (const int error = append(text); error != 0) {
    ++errors_;
    if (lost_in_episode_++ == 0)
      spdlog::error("share journal {}: cannot write ({}); share records are lost until it can (the count follows then)",
                    path_.string(), std::strerror(error));
    return;
  }
  torn_ = false;
  end_failure_episode("before writing worked again");
}

}  // namespace dagminer
