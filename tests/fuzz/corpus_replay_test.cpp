// A fuzz target's checks over its seed corpus (DAGMINER_FUZZ_CORPUS, at least
// DAGMINER_FUZZ_CORPUS_MIN files; the suite is named DAGMINER_FUZZ_SUITE), built with the
// project's compiler: every build replays the real-world inputs even where clang cannot build
// the fuzzer.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

TEST(DAGMINER_FUZZ_SUITE, EveryInputRunsWithoutCrashing) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DAGMINER_FUZZ_CORPUS)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()), 0) << entry.path();
    ++files;
  }
  EXPECT_GE(files, static_cast<std::size_t>(DAGMINER_FUZZ_CORPUS_MIN));
}
