// Optional share journal: one JSON object per line for every share outcome, appended. A record
// that cannot be written (a full disk) is counted and warned about once per episode, and never
// leaves a torn line behind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "dagminer/core/file_descriptor.hpp"
#include "dagminer/core/job.hpp"

namespace dagminer {

class ShareJournal {
 public:
  ShareJournal() = default;
  // Throws std::system_error, naming the file, when it cannot be opened for appending.
  explicit ShareJournal(const std::filesystem::path& file);
  ShareJournal(ShareJournal&&) noexcept = default;
  ShareJournal& operator=(ShareJournal&&) noexcept = default;
  ~ShareJournal();  // says how many records were lost if writing still fails

  bool enabled() const noexcept { return file_.is_open(); }
  void record(const Share& share, const ShareResult& result);
  std::uint64_t errors() const noexcept { return errors_; }  // records not written since the file was opened

 private:
  int append(const std::string& text);  // 0, or the errno of a write that failed
  void end_failure_episode(const char* how);

  FileDescriptor file_;
  std::filesystem::path path_;
  std::uint64_t errors_ = 0;
  std::uint64_t lost_in_episode_ = 0;  // records lost since the last successful write
  bool torn_ = false;                  // a partial record could not be cut off: start the next one on a fresh line
};

}  // namespace dagminer
