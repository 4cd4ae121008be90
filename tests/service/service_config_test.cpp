// The service's configuration keys: `api` (the HTTP API and /metrics) and `log` (the rotating
// file), their defaults, and every kind of mistake reported with its line and column.
#include <gtest/gtest.h>

#include "dagminer/daemon/config.hpp"

namespace dagminer {
namespace {

const std::string pools = "pools:\n  - {url: 'stratum2+tcp://pool.example:4444', user: wallet}\n";
const std::string token = "0123456789abcdef0123456789abcdef";

Config parse_ok(const std::string& rest) {
  auto load = parse_config(pools + rest, "test.yaml");
  for (const auto& e : load.errors) ADD_FAILURE() << e.to_string();
  EXPECT_TRUE(load.config.has_value());
  return load.config.value_or(Config{});
}

// The single error of a configuration; its text must mention `fragment`.
ConfigError one_error(const std::string& rest, const std::string& fragment) {
  auto load = parse_config(pools + rest, "test.yaml");
  EXPECT_FALSE(load.config.has_value());
  EXPECT_EQ(load.errors.size(), 1u);
  if (load.errors.empty()) return {};
  EXPECT_NE(load.errors[0].message.find(fragment), std::string::npos) << load.errors[0].to_string();
  return load.errors[0];
}

TEST(ServiceConfig, DefaultsListenOnLoopbackWithoutAFile) {
  const Config c = parse_ok("");
  EXPECT_TRUE(c.api.enabled);
  EXPECT_EQ(c.api.host, "127.0.0.1");
  EXPECT_EQ(c.api.port, 4067);
  EXPECT_EQ(c.api.token, "");
  EXPECT_TRUE(c.log.file.empty());
  EXPECT_EQ(c.log.max_size, 10u * 1024 * 1024);
  EXPECT_EQ(c.log.max_files, 5u);
}

TEST(ServiceConfig, ExampleFileDocumentsTheDefaults) {
  auto load = load_config(std::string(DAGMINER_SOURCE_DIR) + "/etc/dagminer.yaml");
  for (const auto& e : load.errors) ADD_FAILURE() << e.to_string();
  ASSERT_TRUE(load.config);
  const Config defaults = parse_ok("");
  EXPECT_EQ(load.config->api, defaults.api);
  EXPECT_EQ(load.config->log, defaults.log);
}

TEST(ServiceConfig, EveryKeyParsed) {
  const Config c = parse_ok("api: {listen: '[::1]:9100', token: " + token + "}\n" +
                            "log: {file: /var/log/dagminer/dagminer.log, max_size: 500KiB, max_files: 3}\n");
  EXPECT_TRUE(c.api.enabled);
  EXPECT_EQ(c.api.host, "::1");
  EXPECT_EQ(c.api.port, 9100);
  EXPECT_EQ(c.api.token, token);
  EXPECT_EQ(c.log.file, "/var/log/dagminer/dagminer.log");
  EXPECT_EQ(c.log.max_size, 500u * 1024);
  EXPECT_EQ(c.log.max_files, 3u);
}

TEST(ServiceConfig, EmptyListenTurnsTheApiOff) { EXPECT_FALSE(parse_ok("api: {listen: ''}\n").api.enabled); }

TEST(ServiceConfig, PortZeroAndAnyLoopbackAddressNeedNoToken) {
  const Config c = parse_ok("api: {listen: '127.5.6.7:0'}\n");
  EXPECT_EQ(c.api.host, "127.5.6.7");
  EXPECT_EQ(c.api.port, 0);
}

TEST(ServiceConfig, NonLoopbackAddressNeedsAToken) {
  const auto e = one_error("api:\n  listen: 0.0.0.0:4067\n", "set api.token first");
  EXPECT_EQ(e.file, "test.yaml");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.column, 11);
  one_error("api: {listen: '[::]:4067'}\n", "not a loopback address");
  one_error("api: {listen: '192.168.1.10:4067'}\n", "set api.token first");
  // With a token it may listen anywhere; the key order does not matter.
  const Config c = parse_ok("api: {listen: 0.0.0.0:4067, token: " + token + "}\n");
  EXPECT_EQ(c.api.host, "0.0.0.0");
}

TEST(ServiceConfig, BadListenAddresses) {
  const auto e = one_error("api:\n  listen: localhost:4067\n", "not an IP address");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.column, 11);
  one_error("api: {listen: 127.0.0.1}\n", "expected address:port");
  one_error("api: {listen: '127.0.0.1:70000'}\n", "bad port '70000'");
  one_error("api: {listen: '127.0.0.1:'}\n", "bad port ''");
  one_error("api: {listen: '127.0.0.1:80x'}\n", "bad port '80x'");
  one_error("api: {listen: '::1:4067'}\n", "not an IP address");  // IPv6 needs brackets
  one_error("api: {listen: '[127.0.0.1]:4067'}\n", "not an IP address");
}

TEST(ServiceConfig, WeakOrUnusableTokens) {
  const auto e = one_error("api:\n  token: short\n", "at least 16 characters");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.column, 10);
  one_error("api: {token: '0123456789abcdef 0123'}\n", "at least 16 characters");  // a space cannot go in a header unchanged
  one_error("api: {token: '0123456789abcdef\"x'}\n", "letters, digits");
  EXPECT_EQ(parse_ok("api: {token: 'AZaz09-._~+/=AZaz09'}\n").api.token, "AZaz09-._~+/=AZaz09");
}

TEST(ServiceConfig, UnknownOrMisshapenKeys) {
  auto e = one_error("api: {listen: '127.0.0.1:1', tokn: x}\n", "unknown key 'tokn' in api");
  EXPECT_EQ(e.line, 3);
  one_error("api: 4067\n", "api must be a mapping");
  one_error("log: {file: x.log, max_file: 2}\n", "unknown key 'max_file' in log");
  one_error("log: [x.log]\n", "log must be a mapping");
}

TEST(ServiceConfig, BadLogSizes) {
  const auto e = one_error("log:\n  max_size: 100\n", "at least 1KiB");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.column, 13);
  one_error("log: {max_size: 50%}\n", "log.max_size");
  one_error("log: {max_size: ten}\n", "log.max_size");
  one_error("log: {max_files: 0}\n", "log.max_files");
  one_error("log: {max_files: 1001}\n", "log.max_files");
  EXPECT_EQ(parse_ok("log: {max_size: 1KiB}\n").log.max_size, 1024u);
}

}  // namespace
}  // namespace dagminer
