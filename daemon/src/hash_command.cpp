// `dagminer hash`: one Ethash/Etchash evaluation, for checking a share by hand.
#include <cstdio>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "commands.hpp"
#include "dagminer/core/ethash.hpp"
#include "dagminer/core/hex.hpp"
#include "dagminer/core/light_cache_store.hpp"

namespace dagminer::cli {
namespace {

struct HashOptions {
  std::string algo;
  std::optional<std::uint64_t> block;
  std::optional<int> epoch;
  std::string header;
  std::string nonce;
  std::string cache_dir;
};

int run_hash(const HashOptions& o) {
  const auto algo = parse_algorithm(o.algo);
  if (!algo) throw UsageError("--algo: expected ethash or etchash, got '" + o.algo + "'");
  const auto header = parse_hex_array<32>(o.header);
  if (!header) throw UsageError("--header: expected 32 bytes as 64 hex digits (0x optional), got '" + o.header + "'");
  const auto nonce = parse_hex_u64(o.nonce);
  if (!nonce) throw UsageError("--nonce: expected up to 16 hex digits (0x optional), got '" + o.nonce + "'");

  int epoch = 0;
  if (o.block) {
    if (*algo == Algorithm::etchash && *o.block < etchash_activation_block)
      throw UsageError("--block: Etchash starts at block " + std::to_string(etchash_activation_block) +
                       "; earlier Ethereum Classic blocks are --algo ethash");
    epoch = epoch_of_block(*algo, *o.block);
  } else {
    epoch = *o.epoch;
  }

  LightCacheStore store(o.cache_dir.empty() ? LightCacheStore::default_directory() : std::filesystem::path(o.cache_dir));
  const auto cache = store.get(*algo, epoch);
  if (!cache.save_error.empty())
    std::fprintf(stderr, "dagminer: warning: light cache not stored: %s\n", cache.save_error.c_str());
  const HashResult r = hashimoto_light(*cache.cache, *header, *nonce);

  boost::json::object out;
  out["algo"] = to_string(*algo);
  out["epoch"] = epoch;
  out["seed"] = to_hex(cache.cache->seed);
  out["mix_hash"] = to_hex(r.mix_hash);
  out["final_hash"] = to_hex(r.final_hash);
  std::printf("%s\n", boost::json::serialize(out).c_str());
  return 0;
}

}  // namespace

Runner add_hash_command(CLI::App& root) {
  auto o = std::make_shared<HashOptions>();
  auto* cmd = root.add_subcommand("hash", "Compute one Ethash/Etchash hash and print it as JSON");
  cmd->add_option("--algo", o->algo, "ethash or etchash")->required();
  auto* block = cmd->add_option("--block", o->block, "block number (its epoch is used)");
  auto* epoch = cmd->add_option("--epoch", o->epoch, "DAG epoch")->check(CLI::Range(0, max_epoch));
  block->excludes(epoch);
  cmd->add_option("--header", o->header, "header hash, 32 bytes of hex")->required();
  cmd->add_option("--nonce", o->nonce, "nonce, up to 16 hex digits")->required();
  cmd->add_option("--cache-dir", o->cache_dir,
                  "light cache directory (default: " + LightCacheStore::default_directory().string() + ")");
  return [o, cmd] {
    if (!o->block && !o->epoch) throw UsageError("hash: one of --block or --epoch is required");
    (void)cmd;
    return run_hash(*o);
  };
}

}  // namespace dagminer::cli
