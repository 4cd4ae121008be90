#include "dagminer/core/file_descriptor.hpp"

#include <cerrno>

#include <fcntl.h>
#include <gtest/gtest.h>

namespace dagminer {
namespace {

bool is_open_descriptor(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

int open_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

TEST(FileDescriptor, ClosesAtTheEndOfItsScope) {
  int raw = -1;
  {
    const FileDescriptor fd(open_null());
    raw = fd.get();
    ASSERT_TRUE(fd.is_open());
    EXPECT_TRUE(is_open_descriptor(raw));
  }
  EXPECT_FALSE(is_open_descriptor(raw));
}

TEST(FileDescriptor, AMoveHandsItOverOnce) {
  FileDescriptor a(open_null());
  const int raw = a.get();
  FileDescriptor b(std::move(a));
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_EQ(b.get(), raw);
  FileDescriptor c(open_null());
  const int replaced = c.get();
  c = std::move(b);  // c's own descriptor is closed, b's taken
  EXPECT_FALSE(is_open_descriptor(replaced));
  EXPECT_EQ(c.get(), raw);
  EXPECT_TRUE(is_open_descriptor(raw));
}

TEST(FileDescriptor, CloseReportsAndHappensOnce) {
  FileDescriptor fd(open_null());
  const int raw = fd.get();
  EXPECT_TRUE(fd.close());
  EXPECT_FALSE(fd.is_open());
  EXPECT_FALSE(is_open_descriptor(raw));
  EXPECT_TRUE(fd.close());  // nothing left to close
  const FileDescriptor none;
  EXPECT_FALSE(none.is_open());
}

TEST(FileDescriptor, AFailedOpenOwnsNothing) {
  const FileDescriptor fd(::open("/nonexistent/dagminer", O_RDONLY | O_CLOEXEC));
  EXPECT_FALSE(fd.is_open());
  EXPECT_EQ(fd.get(), -1);
}

}  // namespace
}  // namespace dagminer
