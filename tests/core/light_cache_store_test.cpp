// The on-disk light-cache store: round trip, damage of every kind detected and repaired,
// concurrent writers (threads and processes), and a directory that cannot be written.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "dagminer/core/light_cache_store.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer {
namespace {

namespace fs = std::filesystem;

bool same_cache(const LightCache& a, const LightCache& b) {
  return a.algo == b.algo && a.epoch == b.epoch && a.seed == b.seed && a.dataset_bytes == b.dataset_bytes &&
         a.items.size() == b.items.size() && std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin());
}

// The epoch-0 cache every test compares against (built once per test build, then loaded).
const LightCache& reference() {
  static const auto cache = test::shared_light_cache(Algorithm::ethash, 0);
  return *cache;
}

// A store holding a good epoch-0 file, copied rather than rebuilt to keep the tests fast.
fs::path install_good_file(const LightCacheStore& store) {
  reference();
  const fs::path source = LightCacheStore(test::shared_cache_directory()).path_for(Algorithm::ethash, 0);
  const fs::path target = store.path_for(Algorithm::ethash, 0);
  fs::copy_file(source, target, fs::copy_options::overwrite_existing);
  return target;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) out.push_back(entry.path().filename());
  return out;
}

// After a damaged file: load() refuses it, get() rebuilds the right cache and repairs the file.
void expect_rebuilt(const LightCacheStore& store) {
  EXPECT_FALSE(store.load(Algorithm::ethash, 0).has_value());
  const auto r = store.get(Algorithm::ethash, 0);
  EXPECT_EQ(r.source, LightCacheStore::Source::rebuilt);
  EXPECT_TRUE(r.save_error.empty()) << r.save_error;
  EXPECT_TRUE(same_cache(*r.cache, reference()));
  const auto again = store.load(Algorithm::ethash, 0);
  ASSERT_TRUE(again);
  EXPECT_TRUE(same_cache(*again, reference()));
}

TEST(LightCacheStore, BuildsStoresAndLoads) {
  test::TempDir dir;
  const LightCacheStore store(dir.path() / "nested" / "cache");  // created on first save
  EXPECT_FALSE(store.load(Algorithm::ethash, 0).has_value());

  const auto built = store.get(Algorithm::ethash, 0);
  EXPECT_EQ(built.source, LightCacheStore::Source::built);
  EXPECT_TRUE(built.save_error.empty()) << built.save_error;
  EXPECT_TRUE(same_cache(*built.cache, reference()));
  EXPECT_TRUE(fs::exists(store.path_for(Algorithm::ethash, 0)));

  const auto loaded = store.get(Algorithm::ethash, 0);
  EXPECT_EQ(loaded.source, LightCacheStore::Source::loaded);
  EXPECT_TRUE(same_cache(*loaded.cache, reference()));
  EXPECT_EQ(files_in(store.directory()).size(), 1u);
}

TEST(LightCacheStore, FileNamesSeparateAlgorithmsAndEpochs) {
  const LightCacheStore store("/some/dir");
  EXPECT_EQ(store.path_for(Algorithm::ethash, 0), fs::path("/some/dir/ethash-0.lightcache"));
  EXPECT_NE(store.path_for(Algorithm::etchash, 431), store.path_for(Algorithm::ethash, 431));
  EXPECT_NE(store.path_for(Algorithm::ethash, 1), store.path_for(Algorithm::ethash, 10));
}

TEST(LightCacheStore, TruncatedFileIsRebuilt) {
  test::TempDir dir;
  const LightCacheStore store(dir.path());
  const auto path = install_good_file(store);
  fs::resize_file(path, fs::file_size(path) - 64);
  expect_rebuilt(store);
}

TEST(LightCacheStore, FileCutInsideItsHeaderIsRebuilt) {
  test::TempDir dir;
  const LightCacheStore store(dir.path());
  const auto path = install_good_file(store);
  fs::resize_file(path, 20);
  EXPECT_FALSE(store.load(Algorithm::ethash, 0).has_value());
  fs::resize_file(path, 0);
  expect_rebuilt(store);
}

TEST(LightCacheStore, FlippedByteIsRebuilt) {
  test::TempDir dir;
  const LightCacheStore store(dir.path());
  const auto path = install_good_file(store);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(path) / 2));
    char byte = 0;
    f.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x10);
    f.seekp(static_cast<std::streamoff>(fs::file_size(path) / 2));
    f.write(&byte, 1);
  }
  expect_rebuilt(store);
}

TEST(LightCacheStore, TrailingGarbageIsRebuilt) {
  test::TempDir dir;
  const LightCacheStore store(dir.path());
  const auto path = install_good_file(store);
  std::ofstream(path, std::ios::binary | std::ios::app) << "garbage";
  expect_rebuilt(store);
}

TEST(LightCacheStore, FileOfAnotherEpochOrAlgorithmIsRefused) {
  test::TempDir dir;
  const LightCacheStore store(dir.path());
  const auto good = install_good_file(store);
  fs::copy_file(good, store.path_for(Algorithm::etchash, 0));
  EXPECT_FALSE(store.load(Algorithm::etchash, 0).has_value());  // same seed and sizes, other algorithm

  fs::copy_file(good, store.path_for(Algorithm::ethash, 1));
  EXPECT_FALSE(store.load(Algorithm::ethash, 1).has_value());
  const auto r = store.get(Algorithm::ethash, 1);
  EXPECT_EQ(r.source, LightCacheStore::Source::rebuilt);
  EXPECT_EQ(r.cache->epoch, 1);
  EXPECT_EQ(r.cache->seed, ethash_seed(1));
  EXPECT_EQ(r.cache->bytes().size(), light_cache_bytes(1));
  EXPECT_EQ(store.get(Algorithm::ethash, 1).source, LightCacheStore::Source::loaded);
}

TEST(LightCacheStore, ConcurrentThreadsAgree) {
  test::TempDir dir;
  const LightCacheStore store(dir.path());
  constexpr int writers = 3;
  std::vector<LightCacheStore::Result> results(writers);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < writers; ++i) threads.emplace_back([&, i] { results[i] = store.get(Algorithm::ethash, 0); });
  }
  for (const auto& r : results) {
    EXPECT_TRUE(r.save_error.empty()) << r.save_error;
    EXPECT_TRUE(same_cache(*r.cache, reference()));
  }
  EXPECT_EQ(files_in(dir.path()), std::vector<fs::path>{"ethash-0.lightcache"}) << "no temporary file may be left";
  const auto loaded = store.load(Algorithm::ethash, 0);
  ASSERT_TRUE(loaded);
  EXPECT_TRUE(same_cache(*loaded, reference()));
}

TEST(LightCacheStore, ConcurrentProcessesAgree) {
  reference();  // before forking: the children compare against it
  test::TempDir dir;
  const LightCacheStore store(dir.path());
  constexpr int writers = 3;
  std::vector<pid_t> children;
  for (int i = 0; i < writers; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) {
      // Child: no gtest assertions here; the exit status carries the verdict.
      const auto r = store.get(Algorithm::ethash, 0);
      _exit(r.save_error.empty() && same_cache(*r.cache, reference()) ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer process " << pid << " status " << status;
  }
  EXPECT_EQ(files_in(dir.path()), std::vector<fs::path>{"ethash-0.lightcache"}) << "no temporary file may be left";
  const auto loaded = store.load(Algorithm::ethash, 0);
  ASSERT_TRUE(loaded);
  EXPECT_TRUE(same_cache(*loaded, reference()));
}

TEST(LightCacheStore, FifoAtTheCachePathIsRebuiltWithoutBlocking) {
  using namespace std::chrono_literals;
  test::TempDir dir;
  const LightCacheStore store(dir.path());
  const auto path = store.path_for(Algorithm::ethash, 0);
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  auto loaded = std::async(std::launch::async, [&] { return store.load(Algorithm::ethash, 0).has_value(); });
  if (loaded.wait_for(10s) == std::future_status::timeout) {
    ::close(::open(path.c_str(), O_WRONLY | O_NONBLOCK));  // a writer that leaves at once: the read ends
    FAIL() << "load() blocked on a FIFO";
  }
  EXPECT_FALSE(loaded.get());
  expect_rebuilt(store);  // the FIFO is replaced by a good file
}

TEST(LightCacheStore, FailedRenameLeavesNoTemporaryFile) {
  test::TempDir dir;
  const LightCacheStore store(dir.path());
  fs::create_directories(store.path_for(Algorithm::ethash, 0) / "inside");  // a directory where the file goes
  EXPECT_THROW(store.save(reference()), std::exception);
  const auto r = store.get(Algorithm::ethash, 0);
  EXPECT_FALSE(r.save_error.empty());
  EXPECT_TRUE(same_cache(*r.cache, reference()));
  EXPECT_EQ(files_in(dir.path()), std::vector<fs::path>{"ethash-0.lightcache"}) << "no temporary file may be left";
}

TEST(LightCacheStore, UnwritableDirectoryStillGivesTheCache) {
  test::TempDir dir;
  // A regular file where a directory should be: unwritable even for root.
  std::ofstream(dir.path() / "not-a-directory") << "x";
  const LightCacheStore store(dir.path() / "not-a-directory" / "cache");
  const auto r = store.get(Algorithm::ethash, 0);
  EXPECT_EQ(r.source, LightCacheStore::Source::built);
  EXPECT_FALSE(r.save_error.empty());
  EXPECT_TRUE(same_cache(*r.cache, reference()));
  EXPECT_THROW(store.save(*r.cache), std::exception);
}

TEST(LightCacheStore, DefaultDirectoryFollowsTheEnvironment) {
  const auto restore = [](const char* name, const char* old) {
    if (old) setenv(name, old, 1);
    else unsetenv(name);
  };
  const char* names[] = {"CACHE_DIRECTORY", "XDG_CACHE_HOME", "HOME"};
  std::vector<std::optional<std::string>> saved;
  for (const char* n : names) saved.push_back(std::getenv(n) ? std::optional<std::string>(std::getenv(n)) : std::nullopt);

  setenv("CACHE_DIRECTORY", "/run/a:/run/b", 1);  // systemd lists several; the first is ours
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(LightCacheStore::default_directory(), fs::path("/run/a"));
  unsetenv("CACHE_DIRECTORY");
  EXPECT_EQ(LightCacheStore::default_directory(), fs::path("/xdg/dagminer"));
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", "/home/miner", 1);
  EXPECT_EQ(LightCacheStore::default_directory(),
            getuid() == 0 ? fs::path("/var/cache/dagminer") : fs::path("/home/miner/.cache/dagminer"));
  unsetenv("HOME");
  EXPECT_EQ(LightCacheStore::default_directory(), fs::path("/var/cache/dagminer"));

  for (std::size_t i = 0; i < saved.size(); ++i) restore(names[i], saved[i] ? saved[i]->c_str() : nullptr);
}

}  // namespace
}  // namespace dagminer
