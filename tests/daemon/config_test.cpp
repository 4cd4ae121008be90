// The YAML configuration: every documented key, defaults, and every kind of error with its line.
#include <fstream>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "dagminer/daemon/config.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer {
namespace {

using namespace std::chrono_literals;

Config parse_ok(const std::string& text) {
  auto load = parse_config(text, "test.yaml");
  for (const auto& e : load.errors) ADD_FAILURE() << e.to_string();
  EXPECT_TRUE(load.config.has_value());
  return load.config.value_or(Config{});
}

std::vector<ConfigError> parse_errors(const std::string& text) {
  auto load = parse_config(text, "test.yaml");
  EXPECT_FALSE(load.config.has_value());
  return load.errors;
}

TEST(Config, ExampleFileIsValidAndSetsEveryKey) {
  auto load = load_config(std::string(DAGMINER_SOURCE_DIR) + "/etc/dagminer.yaml");
  for (const auto& e : load.errors) ADD_FAILURE() << e.to_string();
  ASSERT_TRUE(load.config);
  const Config& c = *load.config;
  ASSERT_EQ(c.pools.size(), 3u);
  EXPECT_EQ(c.pools[2].getwork_poll, 500ms);
  EXPECT_EQ(c.pools[2].notify_listen, (ListenAddress{"127.0.0.1", 8546}));
  EXPECT_EQ(c.pools[0].name, "main");
  EXPECT_EQ(c.pools[0].algo, Algorithm::etchash);
  EXPECT_EQ(c.pools[0].weight, 3u);
  EXPECT_EQ(c.pools[1].priority, 1);
  EXPECT_EQ(c.strategy, Strategy::failover);
}

TEST(Config, EveryKeyParsed) {
  const test::TempDir dir;
  const auto ca = (dir.path() / "ca.pem").string();
  std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n";  // read at load: it must be there
  std::string text = R"(
pools:
  - name: a
    url: stratum2+ssl://pool.example:4444
    user: wallet
    password: secret
    worker: rig
    algorithm: etchash
    priority: 5
    weight: 7
    enabled: false
    tls: {verify: false, ca_file: CA_FILE, fingerprint: "AA:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99", server_name: pool.internal}
    job_timeout: 45s
    response_timeout: 1500ms
    hashrate_interval: 0
    max_protocol_errors: 3
    backoff: {initial: 250ms, max: 2m, multiplier: 1.5, jitter: 0.1}
  - url: "stratum1+tcp://[::1]:8008"
    user: w2
strategy: split
fallback_after: 2m
devices: [0, gpu2, cpu]
cpu_threads: 3
memory_budget: 6GiB
prepare_next_epoch: false
light_cache_dir: /tmp/lc
share_journal: /tmp/shares.jsonl
log_level: debug
summary_interval: 10s
job_timeout: 90s
response_timeout: 20s
hashrate_interval: 30s
max_protocol_errors: 9
backoff: {initial: 2s, max: 30s}
)";
  text.replace(text.find("CA_FILE"), 7, ca);
  const Config c = parse_ok(text);
  ASSERT_EQ(c.pools.size(), 2u);
  const PoolConfig& a = c.pools[0];
  EXPECT_EQ(a.url, "stratum2+ssl://pool.example:4444");
  EXPECT_EQ(a.password, "secret");
  EXPECT_EQ(a.worker, "rig");
  EXPECT_EQ(a.priority, 5);
  EXPECT_EQ(a.weight, 7u);
  EXPECT_FALSE(a.enabled);
  EXPECT_FALSE(a.tls.verify);
  EXPECT_EQ(a.tls.ca_file, ca);
  EXPECT_EQ(a.tls.server_name, "pool.internal");
  EXPECT_EQ(a.job_timeout, 45s);
  EXPECT_EQ(a.response_timeout, 1s);  // whole seconds
  EXPECT_EQ(a.hashrate_interval, 0s);
  EXPECT_EQ(a.max_protocol_errors, 3u);
  EXPECT_EQ(a.backoff.initial, 250ms);
  EXPECT_EQ(a.backoff.max, 120000ms);
  EXPECT_DOUBLE_EQ(a.backoff.multiplier, 1.5);
  EXPECT_DOUBLE_EQ(a.backoff.jitter, 0.1);
  // The second pool inherits the top-level defaults and gets a default name and priority.
  const PoolConfig& b = c.pools[1];
  EXPECT_EQ(b.name, "pool1");
  EXPECT_EQ(b.priority, 1);
  EXPECT_EQ(b.password, "x");
  EXPECT_EQ(b.algo, Algorithm::ethash);
  EXPECT_EQ(b.job_timeout, 90s);
  EXPECT_EQ(b.response_timeout, 20s);
  EXPECT_EQ(b.hashrate_interval, 30s);
  EXPECT_EQ(b.max_protocol_errors, 9u);
  EXPECT_EQ(b.backoff.initial, 2000ms);
  EXPECT_EQ(b.backoff.max, 30000ms);
  EXPECT_EQ(c.strategy, Strategy::split);
  EXPECT_EQ(c.fallback_after, 120s);
  EXPECT_FALSE(c.devices.all_gpus);
  EXPECT_EQ(c.devices.gpus, (std::vector<int>{0, 2}));
  EXPECT_EQ(c.devices.cpu, 1u);
  EXPECT_EQ(c.devices.cpu_threads, 3u);
  EXPECT_EQ(c.memory.bytes, 6ull << 30);
  EXPECT_FALSE(c.prepare_next_epoch);
  EXPECT_EQ(c.light_cache_dir, "/tmp/lc");
  EXPECT_EQ(c.share_journal, "/tmp/shares.jsonl");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.summary_interval, 10s);
}

TEST(Config, GetworkPools) {
  const Config c = parse_ok(R"(
pools:
  - url: getwork+https://miner:pw@[::1]:8545/rpc
    getwork_poll: 250ms
    notify_listen: "[::1]:8546"
  - url: getwork+http://127.0.0.1:8545
)");
  ASSERT_EQ(c.pools.size(), 2u);
  EXPECT_EQ(c.pools[0].getwork_poll, 250ms);
  EXPECT_EQ(c.pools[0].notify_listen, (ListenAddress{"::1", 8546}));
  EXPECT_TRUE(c.pools[0].user.empty());
  EXPECT_EQ(c.pools[1].getwork_poll, 500ms);
  EXPECT_FALSE(c.pools[1].notify_listen.has_value());

  const auto messages = [](const std::vector<ConfigError>& errors) {
    std::string all;
    for (const auto& e : errors) all += e.to_string() + "\n";
    return all;
  };
  std::string errors =
      messages(parse_errors("pools:\n  - url: getwork+http://127.0.0.1:8545\n    notify_listen: 0.0.0.0:8546\n"));
  EXPECT_NE(errors.find("not a loopback address"), std::string::npos) << errors;
  errors = messages(parse_errors("pools:\n  - url: getwork+http://127.0.0.1:8545\n    notify_listen: 127.0.0.1:0\n"));
  EXPECT_NE(errors.find("give a port"), std::string::npos) << errors;
  errors = messages(parse_errors("pools:\n  - url: stratum2+tcp://pool:4444\n    user: w\n    getwork_poll: 1s\n"));
  EXPECT_NE(errors.find("are for getwork"), std::string::npos) << errors;
  errors =
      messages(parse_errors("pools:\n  - url: getwork+http://127.0.0.1:8545\n    notify_listen: 127.0.0.1:8546\n"
                            "  - name: two\n    url: getwork+http://127.0.0.1:8547\n    notify_listen: 127.0.0.1:8546\n"));
  EXPECT_NE(errors.find("another pool listens there already"), std::string::npos) << errors;
  errors = messages(parse_errors("pools:\n  - url: getwork+http://u:secret@127.0.0.1:port\n"));
  EXPECT_EQ(errors.find("secret"), std::string::npos) << errors;
  EXPECT_NE(errors.find("***@"), std::string::npos) << errors;
}

TEST(Config, CpuListedTwiceIsTwoDevices) {
  EXPECT_EQ(parse_ok("pools: [{url: 'stratum+tcp://h:1', user: u}]\ndevices: [cpu, cpu]\n").devices.cpu, 2u);
  EXPECT_EQ(parse_ok("pools: [{url: 'stratum+tcp://h:1', user: u}]\ndevices: cpu\n").devices.cpu, 1u);
  EXPECT_EQ(parse_ok("pools: [{url: 'stratum+tcp://h:1', user: u}]\n").devices.cpu, 0u);
}

TEST(Config, Defaults) {
  const Config c = parse_ok("pools: [{url: 'stratum+tcp://h:1', user: u}]\n");
  EXPECT_EQ(c.strategy, Strategy::failover);
  EXPECT_EQ(c.fallback_after, 120s);
  EXPECT_TRUE(c.devices.all_gpus);
  EXPECT_FALSE(c.memory.bytes);
  EXPECT_DOUBLE_EQ(c.memory.fraction, 0.9);
  EXPECT_TRUE(c.prepare_next_epoch);
  EXPECT_EQ(c.pools[0].name, "pool0");
  EXPECT_TRUE(c.pools[0].tls.verify);
  EXPECT_EQ(c.pools[0].job_timeout, 120s);
}

TEST(Config, EveryErrorHasItsLineAndColumn) {
  const auto errors = parse_errors(
      "pools:\n"                       // 1
      "  - name: a\n"                  // 2
      "    url: stratum9+tcp://h:1\n"  // 3
      "    user: u\n"                  // 4
      "    wieght: 3\n"                // 5
      "  - name: a\n"                  // 6
      "    url: stratum+tcp://h\n"     // 7
      "strategy: best\n"               // 8
      "fallback_after: soon\n"         // 9
      "devices: [gpuX]\n"              // 10
      "memory_budget: 150%\n"          // 11
      "cpu_threads: -1\n"              // 12
      "log_level: loud\n"              // 13
      "prepare_next_epoch: maybe\n");  // 14
  std::vector<std::pair<int, std::string>> got;
  for (const auto& e : errors) got.emplace_back(e.line, e.message);
  auto has = [&](int line, const std::string& fragment) {
    return std::any_of(got.begin(), got.end(),
                       [&](auto& g) { return g.first == line && g.second.find(fragment) != std::string::npos; });
  };
  EXPECT_TRUE(has(3, "unknown scheme 'stratum9+tcp'"));
  EXPECT_TRUE(has(5, "unknown key 'wieght'"));
  EXPECT_TRUE(has(6, "user is required"));
  EXPECT_TRUE(has(6, "used twice"));
  EXPECT_TRUE(has(7, "missing :port"));
  EXPECT_TRUE(has(8, "strategy"));
  EXPECT_TRUE(has(9, "fallback_after"));
  EXPECT_TRUE(has(10, "gpuX"));
  EXPECT_TRUE(has(11, "memory_budget"));
  EXPECT_TRUE(has(12, "cpu_threads"));
  EXPECT_TRUE(has(13, "log_level"));
  EXPECT_TRUE(has(14, "prepare_next_epoch"));
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end(), [](auto& a, auto& b) { return a.first < b.first; }));
  for (const auto& e : errors) EXPECT_EQ(e.file, "test.yaml");
}

// NaN compares false with both ends of a range: it must not pass for a number within it.
TEST(Config, NotANumberIsOutOfEveryRange) {
  for (const char* key : {"max_share_rate: nan", "backoff: {jitter: nan}", "backoff: {multiplier: .NaN}", "weight: nan",
                          "backoff: {jitter: inf}"}) {
    const auto errors = parse_errors(std::string("pools:\n  - url: 'stratum+tcp://h:1'\n    user: u\n    ") + key + "\n");
    EXPECT_EQ(errors.size(), 1u) << key;
    for (const auto& e : errors) EXPECT_NE(e.message.find("expected a number from"), std::string::npos) << e.message;
  }
}

TEST(Config, SyntaxErrorHasItsPosition) {
  const auto errors = parse_errors("pools:\n  - url: [unclosed\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_GE(errors[0].line, 2);
}

TEST(Config, StructuralErrors) {
  EXPECT_FALSE(parse_errors("").empty());
  EXPECT_FALSE(parse_errors("- a\n- b\n").empty());         // not a mapping
  EXPECT_FALSE(parse_errors("strategy: split\n").empty());  // no pools
  EXPECT_FALSE(parse_errors("pools: []\n").empty());
  EXPECT_FALSE(parse_errors("pools: [{url: 'stratum+tcp://h:1', user: u, tls: {verify: maybe}}]\n").empty());
  EXPECT_FALSE(parse_errors("pools: [{url: 'stratum+tcp://h:1', user: u, tls: {fingerprint: abc}}]\n").empty());
  EXPECT_FALSE(parse_errors("pools: [{url: 'stratum+tcp://h:1', user: u, backoff: {initial: 10s, max: 1s}}]\n").empty());
  EXPECT_FALSE(parse_errors("pools: [{url: 'stratum+tcp://h:1', user: u, weight: 0}]\n").empty());
  EXPECT_FALSE(parse_errors("pools: [{url: 'stratum+tcp://h:70000', user: u}]\n").empty());
}

TEST(Config, MissingFileIsAnError) {
  const auto load = load_config("/nonexistent/dagminer.yaml");
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_NE(load.errors[0].to_string().find("/nonexistent/dagminer.yaml"), std::string::npos);
}

// The one error whose message holds `fragment`, with its position; fails when there is none.
ConfigError error_about(const std::vector<ConfigError>& errors, const std::string& fragment) {
  for (const auto& e : errors)
    if (e.message.find(fragment) != std::string::npos) return e;
  std::string all;
  for (const auto& e : errors) all += e.to_string() + "\n";
  ADD_FAILURE() << "no error about '" << fragment << "' in:\n" << all;
  return {};
}

const std::string one_pool = "pools: [{url: 'stratum+tcp://h:1', user: u}]\n";

TEST(Config, DurationsOutsideTheirRangeAreRefused) {
  // Past a day, a timeout added to the clock overflows it; zero makes a reconnect loop.
  for (const std::string key : {"job_timeout", "response_timeout"}) {
    for (const std::string value : {"9.3e9", "0", "500ms", "2d", "25h"}) {
      const auto errors = parse_errors(one_pool + key + ": " + value + "\n");
      const auto e = error_about(errors, key + ":");
      EXPECT_EQ(e.line, 2) << key << ": " << value;
      EXPECT_EQ(e.column, static_cast<int>(key.size()) + 3) << key << ": " << value;
    }
  }
  EXPECT_EQ(error_about(parse_errors(one_pool + "hashrate_interval: 9.3e9\n"), "hashrate_interval:").line, 2);
  EXPECT_EQ(error_about(parse_errors(one_pool + "fallback_after: 9.3e9\n"), "fallback_after:").line, 2);
  EXPECT_EQ(error_about(parse_errors(one_pool + "summary_interval: 0\n"), "summary_interval:").line, 2);
  EXPECT_EQ(error_about(parse_errors(one_pool + "backoff: {initial: 0}\n"), "backoff.initial:").line, 2);
  EXPECT_EQ(error_about(parse_errors(one_pool + "backoff: {max: 9.3e9}\n"), "backoff.max:").line, 2);
  EXPECT_FALSE(parse_errors("pools: [{url: 'stratum+tcp://h:1', user: u, job_timeout: 0}]\n").empty());
  // The message names the range.
  EXPECT_NE(error_about(parse_errors(one_pool + "job_timeout: 0\n"), "job_timeout:").message.find("1s to 24h"),
            std::string::npos);
}

TEST(Config, DurationsAtTheEdgesOfTheirRangeAreAccepted) {
  const Config c = parse_ok(one_pool +
                            "job_timeout: 1s\nresponse_timeout: 24h\nhashrate_interval: 0\nfallback_after: 0\n"
                            "summary_interval: 1s\nbackoff: {initial: 1ms, max: 24h}\n");
  EXPECT_EQ(c.pools[0].job_timeout, 1s);
  EXPECT_EQ(c.pools[0].response_timeout, 24h);
  EXPECT_EQ(c.pools[0].hashrate_interval, 0s);
  EXPECT_EQ(c.fallback_after, 0s);
  EXPECT_EQ(c.pools[0].backoff.initial, 1ms);
}

TEST(Config, SubSecondValuesThatWouldRoundToZeroAreRefused) {
  // "500ms" used to round down to 0 s, which turns hashrate reports off without a word.
  EXPECT_NE(error_about(parse_errors(one_pool + "hashrate_interval: 500ms\n"), "whole seconds").message.find("500ms"),
            std::string::npos);
  EXPECT_EQ(parse_ok(one_pool + "hashrate_interval: 0\n").pools[0].hashrate_interval, 0s);
}

TEST(Config, DuplicateKeysAreErrorsWithBothPositions) {
  const auto errors = parse_errors(one_pool + "log_level: debug\nlog_level: nonsense\n");
  const auto e = error_about(errors, "duplicate key 'log_level'");
  EXPECT_EQ(e.line, 3);
  EXPECT_NE(e.message.find("2:1"), std::string::npos) << e.message;  // the first one's position
  // In nested mappings too.
  EXPECT_EQ(
      error_about(parse_errors("pools:\n  - url: 'stratum+tcp://h:1'\n    user: u\n    user: v\n"), "duplicate key 'user'").line,
      4);
  EXPECT_EQ(error_about(parse_errors(one_pool + "backoff: {initial: 1s, initial: 2s}\n"), "duplicate key 'initial'").line, 2);
}

TEST(Config, ASecondDocumentIsAnError) {
  EXPECT_EQ(error_about(parse_errors(one_pool + "---\nlog_level: debug\n"), "document").line, 2);  // its ---
  error_about(parse_errors(one_pool + "---\n"), "document");                                       // even an empty one
}

TEST(Config, OversizedFileIsRefused) {
  const test::TempDir dir;
  const auto file = dir.path() / "big.yaml";
  {
    std::ofstream out(file);
    out << one_pool;
    out << "# " << std::string(2u << 20, 'x') << "\n";
  }
  const auto load = load_config(file);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_NE(load.errors[0].message.find("MiB"), std::string::npos) << load.errors[0].to_string();
}

TEST(Config, NonRegularFilesAreRefusedWithoutBlocking) {
  // A FIFO with no writer would block the read forever; /dev/zero never ends.
  const test::TempDir dir;
  const auto fifo = dir.path() / "fifo.yaml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::filesystem::path& file : {fifo, std::filesystem::path("/dev/zero")}) {
    const auto load = load_config(file);
    ASSERT_EQ(load.errors.size(), 1u) << file;
    EXPECT_NE(load.errors[0].message.find("not a regular file"), std::string::npos) << load.errors[0].to_string();
  }
}

TEST(Config, AnUnreadableCaFileIsAnErrorAtItsLine) {
  // Said once, at the start or the reload, rather than at every connection attempt.
  const test::TempDir dir;
  for (const auto& path : {(dir.path() / "missing.pem").string(), dir.path().string()}) {
    const auto errors = parse_errors("pools:\n  - url: 'stratum+ssl://h:1'\n    user: u\n    tls: {ca_file: " + path + "}\n");
    const auto e = error_about(errors, "tls.ca_file: cannot read '" + path + "'");
    EXPECT_EQ(e.line, 4) << e.to_string();
  }
}

TEST(Config, Durations) {
  EXPECT_EQ(parse_duration("1500ms"), 1500ms);
  EXPECT_EQ(parse_duration("30s"), 30000ms);
  EXPECT_EQ(parse_duration("30"), 30000ms);
  EXPECT_EQ(parse_duration("2m"), 120000ms);
  EXPECT_EQ(parse_duration("1h"), 3600000ms);
  EXPECT_EQ(parse_duration("0.5s"), 500ms);
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("1 s"));
  EXPECT_FALSE(parse_duration("1d"));
  EXPECT_FALSE(parse_duration(""));
}

TEST(Config, MemoryBudgets) {
  EXPECT_EQ(parse_memory_budget("8GiB")->bytes, 8ull << 30);
  EXPECT_EQ(parse_memory_budget("5G")->bytes, 5000000000ull);
  EXPECT_EQ(parse_memory_budget("4096")->bytes, 4096ull);
  EXPECT_DOUBLE_EQ(parse_memory_budget("75%")->fraction, 0.75);
  EXPECT_FALSE(parse_memory_budget("75%")->bytes);
  EXPECT_FALSE(parse_memory_budget("0"));
  EXPECT_FALSE(parse_memory_budget("0.5"));  // 0 bytes
  EXPECT_FALSE(parse_memory_budget("101%"));
  EXPECT_FALSE(parse_memory_budget("8 GiB"));
  EXPECT_FALSE(parse_memory_budget("4.8e112TiB"));  // more than 2^64 bytes
  EXPECT_FALSE(parse_memory_budget("18446744073709551616"));
}

// A size that holds no DAG (a unit left out: bytes) is an error, not a daemon that never mines.
TEST(Config, AMemoryBudgetBelowTheSmallestDagIsAnError) {
  for (const char* value : {"8", "0.5", "1000MiB"}) {
    const auto errors = parse_errors(one_pool + "memory_budget: " + value + "\n");
    ASSERT_EQ(errors.size(), 1u) << value;
    EXPECT_NE(errors[0].message.find("at least 1GiB"), std::string::npos) << errors[0].message;
  }
  EXPECT_EQ(parse_config(one_pool + "memory_budget: 1GiB\n", "t.yaml").config->memory.bytes, 1ull << 30);
  EXPECT_DOUBLE_EQ(parse_config(one_pool + "memory_budget: 5%\n", "t.yaml").config->memory.fraction, 0.05);
}

TEST(Config, RejectionCooldownForAllPoolsOrOneWithinItsRange) {
  const Config c = parse_ok(
      "rejection_cooldown: 10m\npools:\n  - {url: 'stratum+tcp://h:1', user: u}\n"
      "  - {url: 'stratum+tcp://h:2', user: u, rejection_cooldown: 5s}\n");
  EXPECT_EQ(c.pools[0].rejection_cooldown, std::chrono::seconds(600));
  EXPECT_EQ(c.pools[1].rejection_cooldown, std::chrono::seconds(5));
  EXPECT_EQ(PoolConfig{}.rejection_cooldown, std::chrono::seconds(300));
  for (const std::string value : {"0", "500ms", "25h"})
    EXPECT_EQ(error_about(parse_errors(one_pool + "rejection_cooldown: " + value + "\n"), "rejection_cooldown:").line, 2)
        << value;
}

TEST(Config, LaunchShapesPinAGpusShape) {
  const Config c = parse_ok(
      "pools: [{url: 'stratum+tcp://h:1', user: u}]\n"
      "launch_shapes:\n  0: block=128 registers=80 launch=2097152 streams=3\n  gpu2: block=64 registers=96 launch=1048576 "
      "streams=2\n");
  ASSERT_EQ(c.launch_shapes.size(), 2u);
  EXPECT_EQ(c.launch_shapes.at(0), "block=128 registers=80 launch=2097152 streams=3");
  EXPECT_EQ(c.launch_shapes.at(2), "block=64 registers=96 launch=1048576 streams=2");
  EXPECT_TRUE(parse_ok("pools: [{url: 'stratum+tcp://h:1', user: u}]\n").launch_shapes.empty());
}

TEST(Config, BadLaunchShapesAreErrorsNamingTheGpu) {
  const std::string pools = "pools: [{url: 'stratum+tcp://h:1', user: u}]\n";
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {"launch_shapes: block=128\n", "launch_shapes must map GPU indices"},
           {"launch_shapes:\n  x: block=128 registers=80 launch=1 streams=3\n", "expected a GPU index"},
           {"launch_shapes:\n  1: block=100 registers=80 launch=1 streams=3\n", "launch_shapes.1: expected block="},
           {"launch_shapes:\n  1: block=128 registers=81 launch=1 streams=3\n", "launch_shapes.1: expected block="},
           {"launch_shapes:\n  1: block=128 registers=80 launch=67108865 streams=3\n", "launch=1..67108864"},
           {"launch_shapes:\n  1: [1, 2]\n", "launch_shapes.1 must be a single value"},
           {"launch_shapes:\n  1: block=128 registers=80 launch=1 streams=3\n  gpu1: block=64 registers=80 launch=1 streams=3\n",
            "GPU 1 is given twice"}}) {
    const auto errors = parse_errors(pools + text);
    ASSERT_EQ(errors.size(), 1u) << text;
    EXPECT_NE(errors[0].to_string().find(says), std::string::npos) << errors[0].to_string();
    EXPECT_GT(errors[0].line, 1) << text;
  }
}

}  // namespace
}  // namespace dagminer
