// Optional share journal: one JSON object per line for every share outcome, appended.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

#include "dagminer/core/job.hpp"

namespace dagminer {

class ShareJournal {
 public:
  ShareJournal() = default;
  // Throws std::system_error when the file cannot be opened for appending.
  explicit ShareJournal(const std::filesystem::path& file);
  ShareJournal(ShareJournal&& o) noexcept : file_(std::exchange(o.file_, nullptr)) {}
  ShareJournal& operator=(ShareJournal&& o) noexcept;
  ~ShareJournal();

  bool enabled() const noexcept { return file_ != nullptr; }
  void record(const Share& share, const ShareResult& result);

 private:
  std::FILE* file_ = nullptr;
};

}  // namespace dagminer
