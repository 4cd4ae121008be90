// TLS: the simulator serves a self-signed certificate made at test time. Verification is on by
// default and refuses it; a ca_file, a pinned fingerprint or an explicit opt-out accept it.
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include "harness.hpp"

namespace dagminer::stratum {
namespace {

using test::Rig;
using namespace std::chrono_literals;

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::off); }

  void SetUp() override { cert_ = test::make_self_signed(dir_.path()); }

  std::unique_ptr<Rig> rig(PoolProtocol dialect = PoolProtocol::ethereum_stratum_1) {
    auto config = test::simulator_config(dialect);
    config.tls_cert = cert_.cert.string();
    config.tls_key = cert_.key.string();
    return std::make_unique<Rig>(config);
  }

  // The client never gets a job, and says why.
  static void expect_refused(Rig& r, const std::string& why) {
    auto explained = [&] {
      for (const auto& [s, text] : r.recorder.states)
        if (s == ConnectionState::disconnected && text.find(why) != std::string::npos) return true;
      return false;
    };
    ASSERT_TRUE(test::run_until(r.io, explained)) << why;
    EXPECT_TRUE(r.recorder.jobs.empty());
    EXPECT_EQ(r.sim->totals().jobs, 0u);
  }

  test::TempDir dir_;
  test::Certificate cert_;
};

TEST_F(Tls, SelfSignedCertificateIsRefusedByDefault) {
  auto r = rig();
  EXPECT_EQ(r->sim->url().substr(0, 15), "stratum2+tls://");
  EXPECT_EQ(r->sim->fingerprint(), cert_.fingerprint);
  r->connect();
  expect_refused(*r, "certificate verification failed");
}

TEST_F(Tls, CaFileTrustsIt) {
  auto r = rig(PoolProtocol::ethereum_stratum_2);
  r->connect([&](PoolConfig& p) { p.tls.ca_file = cert_.cert.string(); });
  ASSERT_TRUE(r->wait_jobs(1));
  EXPECT_EQ(r->submit(r->share_for_last_job(true)).outcome, ShareOutcome::accepted);
}

TEST_F(Tls, CaFileWithTheDnsName) {
  auto r = rig();
  r->connect_to("stratum2+ssl://localhost:" + std::to_string(r->sim->port()),
                [&](PoolConfig& p) { p.tls.ca_file = cert_.cert.string(); });
  ASSERT_TRUE(r->wait_jobs(1));
}

TEST_F(Tls, CertificateForAnotherNameIsRefused) {
  auto r = rig();
  r->connect([&](PoolConfig& p) {
    p.tls.ca_file = cert_.cert.string();
    p.tls.server_name = "pool.example.org";
  });
  expect_refused(*r, "not for 'pool.example.org'");
}

TEST_F(Tls, PinnedFingerprintTrustsIt) {
  auto r = rig(PoolProtocol::ethproxy);
  r->connect([&](PoolConfig& p) {
    std::string colons;
    for (std::size_t i = 0; i < cert_.fingerprint.size(); i += 2) {
      if (i) colons += ':';
      colons += cert_.fingerprint.substr(i, 2);
    }
    p.tls.fingerprint = colons;  // the openssl x509 -fingerprint form, upper case
    for (char& c : p.tls.fingerprint) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  });
  ASSERT_TRUE(r->wait_jobs(1));
  EXPECT_EQ(r->submit(r->share_for_last_job(true)).outcome, ShareOutcome::accepted);
}

TEST_F(Tls, WrongFingerprintIsRefused) {
  auto r = rig();
  r->connect([&](PoolConfig& p) { p.tls.fingerprint = std::string(64, 'a'); });
  expect_refused(*r, "does not match the pinned");
}

TEST_F(Tls, ExplicitOptOutAcceptsIt) {
  auto r = rig();
  r->connect([&](PoolConfig& p) { p.tls.verify = false; });
  ASSERT_TRUE(r->wait_jobs(1));
}

TEST_F(Tls, PlainClientAgainstTlsPoolFails) {
  auto r = rig();
  r->connect_to("stratum2+tcp://127.0.0.1:" + std::to_string(r->sim->port()));
  ASSERT_TRUE(test::run_until(r->io, [&] { return r->client->counters().reconnects >= 1; }));
  EXPECT_TRUE(r->recorder.jobs.empty());
}

TEST(TlsConfig, MalformedFingerprintIsAClearError) {
  boost::asio::io_context io;
  PoolConfig p = test::fast_pool("stratum2+tls://127.0.0.1:1");
  p.tls.fingerprint = "abc";
  try {
    PoolClient client(io, p, {});
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("pool sim: tls.fingerprint"), std::string::npos) << e.what();
  }
  p.tls.fingerprint.clear();
  p.url = "stratum7+tls://h:1";
  EXPECT_THROW(PoolClient(io, p, {}), std::invalid_argument);
}

}  // namespace
}  // namespace dagminer::stratum
