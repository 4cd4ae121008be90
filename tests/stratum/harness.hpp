// Test support for the stratum tests: an event loop driven from the test thread, the shared light
// cache, real shares found on the CPU, a recorder for client callbacks and a self-signed
// certificate made at test time.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "dagminer/core/job.hpp"
#include "dagminer/core/pool_config.hpp"
#include "dagminer/stratum/pool_client.hpp"
#include "dagminer/stratum/pool_simulator.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer::test {

// Runs the loop until `done` holds or `limit` passes; returns whether it holds.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = std::chrono::seconds(10));
// Runs the loop for a while (lets messages in flight arrive).
void run_for(boost::asio::io_context& io, std::chrono::milliseconds duration);

// Names suites parameterized by dialect: EthProxy, EthereumStratum1, ...
std::string dialect_test_name(const ::testing::TestParamInfo<PoolProtocol>& info);

// A share for `job` found by the light hashimoto, meeting the job's target or (meets = false)
// missing it; searched from `start` within the job's nonce space.
Share find_share(const LightCache& cache, const Job& job, bool meets, std::uint64_t start = 0);

// Everything a client reported, in order.
struct Recorder {
  std::vector<Job> jobs;
  std::vector<std::pair<stratum::ConnectionState, std::string>> states;
  std::vector<std::pair<std::uint64_t, ShareResult>> results;

  stratum::JobSource::Callbacks callbacks();
  bool has_state(stratum::ConnectionState state) const;
  std::size_t count_state(stratum::ConnectionState state) const;
  const ShareResult* result(std::uint64_t id) const;
};

// Pool settings that make every test quick: 1 s timeouts, 50-200 ms backoff.
PoolConfig fast_pool(const std::string& url);

// The low difficulty the simulator uses: about one light hash in four finds a share.
inline constexpr double easy_difficulty = 1e-9;
stratum::SimulatorConfig simulator_config(PoolProtocol dialect = PoolProtocol::automatic, double difficulty = easy_difficulty);

// A simulator and a client of it on one loop.
struct Rig {
  explicit Rig(stratum::SimulatorConfig sim_config);
  // Connects a client with fast_pool settings; `tweak` adjusts them first.
  void connect(const std::function<void(PoolConfig&)>& tweak = {});
  void connect_to(const std::string& url, const std::function<void(PoolConfig&)>& tweak = {});
  bool wait_jobs(std::size_t count, std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Submits and waits for the outcome (fails the test when none arrives).
  ShareResult submit(const Share& share, std::chrono::milliseconds limit = std::chrono::seconds(10));
  const Job& last_job() const { return recorder.jobs.back(); }
  Share share_for_last_job(bool meets = true, std::uint64_t start = 0) const;

  boost::asio::io_context io;
  std::unique_ptr<stratum::PoolSimulator> sim;
  Recorder recorder;
  std::unique_ptr<stratum::PoolClient> client;
};

struct Certificate {
  std::filesystem::path cert, key;
  std::string fingerprint;  // SHA-256 of the DER certificate, hex
};
// A self-signed certificate for localhost / 127.0.0.1 / ::1, written under `dir`.
Certificate make_self_signed(const std::filesystem::path& dir);

}  // namespace dagminer::test
