#include "dagminer/daemon/share_journal.hpp"

#include <cerrno>
#include <system_error>
#include <utility>

#include <boost/json.hpp>

#include "dagminer/core/hex.hpp"

namespace dagminer {

ShareJournal::ShareJournal(const std::filesystem::path& file) : file_(std::fopen(file.c_str(), "a")) {
  if (!file_) throw std::system_error(errno, std::generic_category(), "share journal " + file.string());
}

ShareJournal& ShareJournal::operator=(ShareJournal&& o) noexcept {
  if (this != &o) {
    if (file_) std::fclose(file_);
    file_ = std::exchange(o.file_, nullptr);
  }
  return *this;
}

ShareJournal::~ShareJournal() {
  if (file_) std::fclose(file_);
}

void ShareJournal::record(const Share& share, const ShareResult& result) {
  if (!file_) return;
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
  const std::string text = boost::json::serialize(line) + "\n";
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

}  // namespace dagminer
