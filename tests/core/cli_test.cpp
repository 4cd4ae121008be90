// The user-facing commands of the core: `dagminer hash` reproduces every known answer and
// rejects bad arguments with exit code 2; `dagminer demo` mines and verifies shares.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include "dagminer/test/support.hpp"

namespace dagminer {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

// Runs the dagminer binary with arguments (already shell-quoted where needed).
Outcome dagminer(const std::string& args) {
  test::TempDir dir;
  const auto err_path = dir.path() / "stderr";
  const std::string command = std::string("'") + DAGMINER_BINARY + "' " + args + " 2>'" + err_path.string() + "'";
  Outcome r;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) r.out.append(buffer, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  std::stringstream text;
  text << err.rdbuf();
  r.err = text.str();
  return r;
}

std::string cache_dir_arg() { return " --cache-dir '" + test::shared_cache_directory().string() + "'"; }

TEST(HashCommand, ReproducesEveryMainnetBlock) {
  const auto doc = test::load_vectors("ethash_vectors.json");
  bool prefixed = false;
  for (const auto& entry : doc.at("hashimoto").as_array()) {
    const auto& v = entry.as_object();
    // Alternate plain and 0x-prefixed header and nonce: both are accepted.
    const std::string prefix = prefixed ? "0x" : "";
    prefixed = !prefixed;
    const Outcome r =
        dagminer("hash --algo ethash --block " + std::to_string(v.at("block").as_int64()) + " --header " + prefix +
                 test::str(v.at("header_hash")) + " --nonce " + prefix + test::str(v.at("nonce")) + cache_dir_arg());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line of JSON: " << r.out;
    const auto out = boost::json::parse(r.out).as_object();
    EXPECT_EQ(test::str(out.at("algo")), "ethash");
    EXPECT_EQ(out.at("epoch").as_int64(), v.at("block").as_int64() / 30000);
    EXPECT_EQ(test::str(out.at("mix_hash")), test::str(v.at("mix_hash")));
    EXPECT_EQ(test::str(out.at("final_hash")), test::str(v.at("final_hash")));
    EXPECT_EQ(out.at("seed").as_string().size(), 64u);
  }
}

TEST(HashCommand, ReproducesTheStratumWorkedExampleByEpoch) {
  const auto doc = test::load_vectors("extra_vectors.json");
  const auto& v = doc.at("ethereum_stratum_1_worked_example").as_object();
  const Outcome r = dagminer("hash --algo ethash --epoch " + std::to_string(v.at("epoch").as_int64()) + " --header " +
                             test::str(v.at("header_hash")) + " --nonce " + test::str(v.at("nonce")) + cache_dir_arg());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = boost::json::parse(r.out).as_object();
  EXPECT_EQ(test::str(out.at("seed")), test::str(v.at("seed")));
  EXPECT_EQ(test::str(out.at("final_hash")), test::str(v.at("final_hash")));
}

TEST(HashCommand, BadArgumentsExitTwoNamingTheArgument) {
  const std::string header = " --header " + std::string(64, 'a');
  const struct {
    std::string args, names;
  } cases[] = {
      {"hash --algo sha256 --epoch 0" + header + " --nonce 1", "--algo"},
      {"hash --algo ethash --epoch 0 --header abcd --nonce 1", "--header"},
      {"hash --algo ethash --epoch 0" + header + " --nonce 12345678901234567", "--nonce"},
      {"hash --algo ethash --epoch 0" + header + " --nonce xyz", "--nonce"},
      {"hash --algo ethash" + header + " --nonce 1", "--block"},
      {"hash --algo etchash --block 100" + header + " --nonce 1", "--block"},
      {"hash --algo ethash --epoch -1" + header + " --nonce 1", "--epoch"},
      {"hash --algo ethash --block 1 --epoch 0" + header + " --nonce 1", "--block"},
  };
  for (const auto& c : cases) {
    const Outcome r = dagminer(c.args + cache_dir_arg());
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.names), std::string::npos) << c.args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST(DemoCommand, MinesAndVerifiesShares) {
  const Outcome r = dagminer("demo --seconds 3 --difficulty 1e-9" + cache_dir_arg());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("light cache: ethash epoch 0, 16776896 bytes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("share  nonce "), std::string::npos)
      << "no share in 3 s at difficulty 1e-9 (one hash in four is a share):\n"
      << r.out;
  EXPECT_NE(r.out.find("all verified"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("INVALID"), std::string::npos) << r.out;
}

// NaN too: CLI::Range lets it through.
TEST(DemoCommand, RejectsBadOptions) {
  for (const std::string args : {"demo --seconds 0", "demo --seconds abc", "demo --seconds nan", "demo --difficulty -1",
                                 "demo --difficulty nan", "demo --threads -2"}) {
    const Outcome r = dagminer(args + cache_dir_arg());
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << args;
  }
}

// A NaN or infinite --seconds ran a bench of 0 s that exited 0.
TEST(BenchCommand, RejectsNonFiniteAndOutOfRangeOptions) {
  for (const std::string args : {"--seconds inf", "--seconds nan", "--seconds 0", "--job-interval-ms nan",
                                 "--dag-samples 4294967295", "--threads 100000"}) {
    const Outcome r = dagminer("bench --algo ethash --epoch 0 --device cpu " + args + cache_dir_arg());
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(args.substr(0, args.find(' '))), std::string::npos) << args << "\n" << r.err;
  }
}

}  // namespace
}  // namespace dagminer
