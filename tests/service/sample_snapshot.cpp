#include "sample_snapshot.hpp"

namespace dagminer::test {

ServiceSnapshot snapshot_with_gpu() {
  ServiceSnapshot s;
  s.build = {"1.2.3", "0123456789abcdef0123456789abcdef01234567", "Release", "13.0", "13.1", "sm_90 compute_90"};
  s.uptime_seconds = 125.5;
  s.paused = false;
  s.mining = true;
  s.hashrate = 3.5e8;
  s.shares.found = 12;
  s.shares.accepted = 10;

  PoolStatus main{"main", "stratum2+tcp://pool.example:4444", true, true, true, "0x1a", 431, {}, std::chrono::milliseconds(42)};
  main.shares.accepted = 7;
  main.shares.rejected = 1;
  main.shares.stale = 2;
  main.shares.timed_out = 3;
  main.shares.hardware_errors = 4;
  main.shares.pending = 1;
  main.shares.accepted_difficulty = 1.5e9;
  main.blocks_found = 2;
  PoolStatus odd{hostile_pool, "stratum1+tcp://odd.example:8008", false, false, false, "", -1, {}, std::nullopt};
  s.pools = {main, odd};

  DeviceStatus cpu;
  cpu.info = {"cpu", "cpu", "CPU backend", 0, ""};
  cpu.counters = {1000, 5, 0};
  cpu.hashrate = 250;
  DeviceStatus gpu;
  gpu.info = {"gpu0", "cuda", "NVIDIA H100", 80'000'000'000ull, "9.0"};
  gpu.counters = {10'000'000'000ull, 12, 1, 2'500'000};
  for (double seconds : {80e-6, 150e-6, 0.9e-3, 3.0}) gpu.job_switch.record(seconds);
  gpu.hashrate = 3.5e8;
  MemoryStats m;
  m.bytes = {4'690'000'000ull, 75'000'000ull, 4096, 8192};
  m.budget_bytes = 70'000'000'000ull;
  m.dag_builds = 3;
  m.last_dag_build_seconds = 0.25;
  m.total_dag_build_seconds = 0.75;
  m.evictions = 1;
  m.resident = {{Algorithm::etchash, 431}, {Algorithm::etchash, 432}};
  gpu.memory = m;
  gpu.fault = "device lost";
  s.devices = {cpu, gpu};
  s.device_shares["gpu0"].hardware_errors = 4;
  s.pool_shares["main"] = main.shares;
  s.pool_shares["(expired)"].stale = 5;
  s.pool_shares["removed"].accepted = 6;
  return s;
}

}  // namespace dagminer::test
