#include "dagminer/core/file_replace.hpp"

#include "dagminer/core/file_descriptor.hpp"

#include <cerrno>
#include <random>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace dagminer {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  const int error = errno ? errno : EIO;  // before anything below may set it
  throw std::system_error(error, std::generic_category(), what + " " + path.string());
}

// The temporary's descriptor and name: closed, and the file removed unless renamed into place.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::filesystem::path path)
      : path_(std::move(path)), fd_(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) {
    if (!fd_.is_open()) fail("cannot create", path_);
  }
  ~TemporaryFile() {
    fd_ = {};  // closed before the file is removed
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove(path_, ignored);
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  void write(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("cannot write", path_);
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }
  void sync_and_rename_to(const std::filesystem::path& target) {
    if (::fsync(fd_.get()) != 0) fail("cannot sync", path_);
    if (!fd_.close()) fail("cannot write", path_);
    std::filesystem::rename(path_, target);  // throws filesystem_error naming both
    path_.clear();
  }

 private:
  std::filesystem::path path_;
  FileDescriptor fd_;
};

}  // namespace

void replace_file(const std::filesystem::path& target, std::initializer_list<std::span<const std::byte>> parts) {
  auto tmp_path = target;
  tmp_path += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(std::random_device{}());
  TemporaryFile tmp(std::move(tmp_path));
  for (const auto part : parts) tmp.write(part);
  tmp.sync_and_rename_to(target);
}

}  // namespace dagminer
