// Pool URLs and certificate pins: the one parser the configuration loader and the pool clients share.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "dagminer/core/pool_url.hpp"

namespace dagminer {
namespace {

TEST(PoolUrl, ParsesSchemesHostsAndPorts) {
  auto u = parse_pool_url("stratum+tcp://pool.example.org:4444");
  EXPECT_EQ(u.protocol, PoolProtocol::automatic);
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "pool.example.org");
  EXPECT_EQ(u.port, 4444);
  u = parse_pool_url("stratum1+ssl://1.2.3.4:5555");
  EXPECT_EQ(u.protocol, PoolProtocol::ethproxy);
  EXPECT_TRUE(u.tls);
  u = parse_pool_url("STRATUM2+TLS://h:1/");
  EXPECT_EQ(u.protocol, PoolProtocol::ethereum_stratum_1);
  EXPECT_TRUE(u.tls);
  u = parse_pool_url("stratum3+tcp://[::1]:8008");
  EXPECT_EQ(u.protocol, PoolProtocol::ethereum_stratum_2);
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 8008);
  EXPECT_EQ(to_string(u), "[::1]:8008");
}

TEST(PoolUrl, ErrorsSayWhatIsWrong) {
  auto message = [](const char* url) {
    try {
      parse_pool_url(url);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message("stratum9+tcp://h:1").find("unknown scheme 'stratum9+tcp'"), std::string::npos);
  EXPECT_NE(message("stratum+udp://h:1").find("unknown transport"), std::string::npos);
  EXPECT_NE(message("pool.example:4444").find("scheme://host:port"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://h").find("missing :port"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://h:0").find("1 to 65535"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://h:70000").find("1 to 65535"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://h:12x").find("1 to 65535"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://::1:4444").find("brackets"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://[::1:4444").find("unterminated"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://user:pw@h:1").find("credentials"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://:1").find("missing host"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://h:1/path").find("no path"), std::string::npos);
  // What check-config once accepted and the client then refused at connect time.
  EXPECT_NE(message("stratum+tcp://user@127.0.0.1:14444").find("credentials"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://[]:1").find("missing host"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://a:b:1").find("brackets"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://[::1]x:1").find("missing :port after the IPv6"), std::string::npos);
  EXPECT_NE(message("stratum+tcp://ho st:1").find("not a host name"), std::string::npos);
}

TEST(PoolUrl, ProtocolNames) {
  EXPECT_STREQ(to_string(PoolProtocol::ethproxy), "EthProxy");
  EXPECT_STREQ(to_string(PoolProtocol::ethereum_stratum_1), "EthereumStratum/1.0.0");
  EXPECT_STREQ(to_string(PoolProtocol::ethereum_stratum_2), "EthereumStratum/2.0.0");
  EXPECT_STREQ(to_string(PoolProtocol::getwork), "getwork");
}

TEST(GetworkUrl, SchemePathAndCredentials) {
  const PoolUrl u = parse_pool_url("getwork+http://miner:s3cret@127.0.0.1:8545/rpc");
  EXPECT_EQ(u.protocol, PoolProtocol::getwork);
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 8545);
  EXPECT_EQ(u.path, "/rpc");
  EXPECT_EQ(u.basic_auth, "miner:s3cret");
  const PoolUrl s = parse_pool_url("getwork+https://[::1]:8545");
  EXPECT_TRUE(s.tls);
  EXPECT_EQ(s.host, "::1");
  EXPECT_EQ(s.path, "/");
  EXPECT_TRUE(s.basic_auth.empty());

  EXPECT_THROW(parse_pool_url("getwork+tcp://127.0.0.1:8545"), std::invalid_argument);
  EXPECT_THROW(parse_pool_url("stratum2+tcp://127.0.0.1:4444/path"), std::invalid_argument);
  try {
    parse_pool_url("getwork+http://miner:s3cret@127.0.0.1:port");
    FAIL() << "a bad port was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("port"), std::string::npos) << e.what();
  }
  EXPECT_EQ(redact_credentials("getwork+http://miner:s3cret@127.0.0.1:8545/a@b"), "getwork+http://***@127.0.0.1:8545/a@b");
  EXPECT_EQ(redact_credentials("stratum2+tcp://pool:4444"), "stratum2+tcp://pool:4444");
}

TEST(Sha256Fingerprint, NormalisesSeparatorsAndCase) {
  const std::string hex(64, 'a');
  EXPECT_EQ(parse_sha256_fingerprint(hex), hex);
  std::string upper_with_colons;
  for (std::size_t i = 0; i < 64; i += 2) upper_with_colons += (i ? ":" : "") + std::string("AA");
  EXPECT_EQ(parse_sha256_fingerprint(upper_with_colons), hex);
  EXPECT_FALSE(parse_sha256_fingerprint(std::string(63, 'a')));
  EXPECT_FALSE(parse_sha256_fingerprint(std::string(64, 'g')));
  EXPECT_FALSE(parse_sha256_fingerprint(""));
}

}  // namespace
}  // namespace dagminer
