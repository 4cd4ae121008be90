// The fuzz target's checks over the seed corpus, built with the project's compiler: every
// build replays the real-world messages even where clang cannot build the fuzzer.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

TEST(StratumFuzzCorpus, EveryMessageDecodesWithoutCrashing) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DAGMINER_FUZZ_CORPUS)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()), 0) << entry.path();
    ++files;
  }
  EXPECT_GE(files, 40u);
}
