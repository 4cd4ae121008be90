#include "harness.hpp"

#include <cstdio>
#include <map>
#include <random>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"
#include "dagminer/core/light_cache_store.hpp"

namespace dagminer::test {

// Warnings and errors only: the tests provoke many on purpose.
const bool quiet_logs = [] {
  spdlog::set_level(spdlog::level::warn);
  return true;
}();

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return true;
}

void run_for(boost::asio::io_context& io, std::chrono::milliseconds duration) {
  const auto deadline = Clock::now() + duration;
  run_until(
      io, [&] { return Clock::now() >= deadline; }, duration + std::chrono::seconds(1));
}

std::string dialect_test_name(const ::testing::TestParamInfo<PoolProtocol>& info) {
  switch (info.param) {
    case PoolProtocol::ethproxy: return "EthProxy";
    case PoolProtocol::ethereum_stratum_1: return "EthereumStratum1";
    case PoolProtocol::ethereum_stratum_2: return "EthereumStratum2";
    default: return "Automatic";
  }
}

Share find_share(const LightCache& cache, const Job& job, bool meets, std::uint64_t start) {
  for (std::uint64_t i = start; i < start + 100000; ++i) {
    const std::uint64_t nonce = job.nonces.compose(i);
    const HashResult h = hashimoto_light(cache, job.header, nonce);
    if (meets_target(h.final_hash, job.target) != meets) continue;
    Share s;
    s.pool = job.pool;
    s.job_id = job.id;
    s.header = job.header;
    s.nonce = nonce;
    s.mix_hash = h.mix_hash;
    s.final_hash = h.final_hash;
    s.difficulty = difficulty_of(h.final_hash);
    s.device = "test";
    s.found = Clock::now();
    return s;
  }
  throw std::runtime_error("no share found in 100000 nonces: is the difficulty too high?");
}

stratum::JobSource::Callbacks Recorder::callbacks() {
  stratum::JobSource::Callbacks c;
  c.on_job = [this](Job j) { jobs.push_back(std::move(j)); };
  c.on_state = [this](stratum::ConnectionState s, const std::string& why) { states.emplace_back(s, why); };
  c.on_share_result = [this](std::uint64_t id, const ShareResult& r) { results.emplace_back(id, r); };
  return c;
}

bool Recorder::has_state(stratum::ConnectionState state) const { return count_state(state) > 0; }

std::size_t Recorder::count_state(stratum::ConnectionState state) const {
  std::size_t n = 0;
  for (const auto& [s, why] : states) n += s == state;
  return n;
}

const ShareResult* Recorder::result(std::uint64_t id) const {
  for (const auto& [i, r] : results)
    if (i == id) return &r;
  return nullptr;
}

PoolConfig fast_pool(const std::string& url) {
  PoolConfig p;
  p.name = "sim";
  p.url = url;
  p.user = "0xwallet";
  p.worker = "rig1";
  p.password = "secret-password";
  p.job_timeout = std::chrono::seconds(30);  // tests of dead pools set their own
  p.response_timeout = std::chrono::seconds(1);
  p.hashrate_interval = std::chrono::seconds(0);
  p.backoff.initial = std::chrono::milliseconds(50);
  p.backoff.max = std::chrono::milliseconds(200);
  p.backoff.jitter = 0.1;
  p.max_protocol_errors = 3;
  return p;
}

stratum::SimulatorConfig simulator_config(PoolProtocol dialect, double difficulty) {
  stratum::SimulatorConfig c;
  c.dialect = dialect;
  c.difficulty = difficulty;
  c.cache = test::shared_light_cache(Algorithm::ethash, 0);
  return c;
}

Rig::Rig(stratum::SimulatorConfig sim_config) : sim(std::make_unique<stratum::PoolSimulator>(io, std::move(sim_config))) {}

void Rig::connect(const std::function<void(PoolConfig&)>& tweak) { connect_to(sim->url(), tweak); }

void Rig::connect_to(const std::string& url, const std::function<void(PoolConfig&)>& tweak) {
  PoolConfig config = fast_pool(url);
  if (tweak) tweak(config);
  client = std::make_unique<stratum::PoolClient>(io, config, recorder.callbacks());
  client->start();
}

bool Rig::wait_jobs(std::size_t count, std::chrono::milliseconds limit) {
  return run_until(
      io, [&] { return recorder.jobs.size() >= count; }, limit);
}

ShareResult Rig::submit(const Share& share, std::chrono::milliseconds limit) {
  const std::uint64_t id = client->submit(share);
  if (!run_until(
          io, [&] { return recorder.result(id) != nullptr; }, limit))
    throw std::runtime_error("no outcome for share " + std::to_string(id));
  return *recorder.result(id);
}

Share Rig::share_for_last_job(bool meets, std::uint64_t start) const {
  return find_share(*sim->light_cache(), last_job(), meets, start);
}

Certificate make_self_signed(const std::filesystem::path& dir) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("cannot generate a key");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x, key, EVP_sha256());

  Certificate out{dir / "cert.pem", dir / "key.pem", {}};
  FILE* f = std::fopen(out.cert.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(out.key.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(x, EVP_sha256(), md, &len);
  out.fingerprint = to_hex(std::span<const std::uint8_t>(md, len));
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace dagminer::test
