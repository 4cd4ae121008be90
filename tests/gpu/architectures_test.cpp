// Which embedded code a GPU runs, by compute capability: pure functions, no GPU needed.
#include "dagminer/gpu/architectures.hpp"

#include <gtest/gtest.h>

namespace dagminer::gpu {
namespace {

// The release list of CMakeLists.txt.
const EmbeddedCode release{{75, 80, 86, 89, 90, 100, 120}, {120}};

TEST(CodePath, NativeCodeOfTheDevicesOwnArchitecture) {
  for (int cc : release.native) {
    const CodePath p = code_path(cc, release);
    EXPECT_EQ(p.kind, CodePath::Kind::native) << cc;
    EXPECT_EQ(p.arch, cc);
  }
  EXPECT_EQ(to_string(code_path(90, release)), "native sm_90");
}

TEST(CodePath, ACubinRunsOnLaterMinorVersionsOfItsMajorOnly) {
  EXPECT_EQ(to_string(code_path(87, release)), "native sm_86");    // Jetson Orin
  EXPECT_EQ(to_string(code_path(103, release)), "native sm_100");  // B300
  EXPECT_EQ(to_string(code_path(121, release)), "native sm_120");  // DGX Spark
  // 9.0 code does not run on 10.0: a narrowed build leaves a B200 to the PTX, or to nothing.
  EXPECT_EQ(to_string(code_path(100, EmbeddedCode{{90}, {90}})), "PTX compute_90, JIT-compiled");
  EXPECT_EQ(code_path(100, EmbeddedCode{{90}, {}}).kind, CodePath::Kind::unsupported);
}

TEST(CodePath, NewerCardsJitCompileTheNewestPtx) {
  const CodePath p = code_path(130, release);
  EXPECT_EQ(p.kind, CodePath::Kind::ptx_jit);
  EXPECT_EQ(p.arch, 120);
  EXPECT_EQ(to_string(p), "PTX compute_120, JIT-compiled");
}

TEST(CodePath, OlderCardsAndOtherMajorsWithoutCodeAreUnsupported) {
  EXPECT_EQ(to_string(code_path(70, release)), "unsupported");   // Volta: below the minimum
  EXPECT_EQ(to_string(code_path(61, release)), "unsupported");   // Pascal
  EXPECT_EQ(to_string(code_path(110, release)), "unsupported");  // Thor: 12.0 PTX needs 12.0
  EXPECT_EQ(minimum_compute_capability(release), 75);
  EXPECT_EQ(minimum_compute_capability(EmbeddedCode{}), std::nullopt);
}

TEST(CodePath, NamesTheEmbeddedCode) {
  EXPECT_EQ(to_string(release), "sm_75 sm_80 sm_86 sm_89 sm_90 sm_100 sm_120 compute_120");
  EXPECT_EQ(to_string(EmbeddedCode{}), "none");
}

TEST(ComputeCapability, ParsesAndPrints) {
  EXPECT_EQ(parse_compute_capability("9.0"), 90);
  EXPECT_EQ(parse_compute_capability("12.1"), 121);
  EXPECT_EQ(compute_capability_text(121), "12.1");
  for (const char* bad : {"", "9", "9.", ".0", "9.00", "x.0", "9.x", "-1.0"})
    EXPECT_EQ(parse_compute_capability(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace dagminer::gpu
