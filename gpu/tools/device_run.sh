#!/usr/bin/env bash
# One full run on the GPU machine (see ../shared/device/README.md): GPU tests, compute-sanitizer
# memcheck + leak check on the short-search tests, the ceiling probe, benchmarks of the default
# kernel shape and of variants, DAG build times; full logs under $OUT, a short table last.
# usage, from the repository root after `pack`:  gpu/tools/device_run.sh [full|quick|sweep]
set -uo pipefail
. .device/env.sh
out=${OUT:-/tmp/dagminer-out}
mkdir -p "$out"
export XDG_CACHE_HOME=/tmp/dagminer-cache
summary=$out/summary.txt
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }

nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem,power.draw --format=csv > "$out/smi.txt" 2>&1

mode=${1:-full}
if [[ $mode != sweep ]]; then
gpu_memory_policy_tests > "$out/tests.log" 2>&1; policy_rc=$?
timeout 240 gpu_device_tests >> "$out/tests.log" 2>&1; gpu_rc=$?
note "tests: policy rc=$policy_rc gpu rc=$gpu_rc ($(grep -c '^\[       OK' "$out/tests.log") OK, $(grep -c '^\[  FAILED' "$out/tests.log") FAILED lines, $(grep -c '^\[  SKIPPED' "$out/tests.log") SKIPPED lines)"

sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
if [[ -n $sanitizer ]]; then
  timeout 240 "$sanitizer" --tool memcheck --leak-check full --error-exitcode 9 \
    gpu_device_tests --gtest_filter='-*Epoch0*' > "$out/memcheck.log" 2>&1
  note "memcheck+leak-check rc=$? : $(grep -E 'ERROR SUMMARY|LEAK SUMMARY' "$out/memcheck.log" | tr '\n' ' ')"
else
  note "memcheck: compute-sanitizer not found"
fi
fi

ceiling > "$out/ceiling431.log" 2>&1
c431=$(sed -n 's/^ceiling_mhs=\([0-9.]*\).*/\1/p' "$out/ceiling431.log")
ceiling 1073739904 > "$out/ceiling0.log" 2>&1
c0=$(sed -n 's/^ceiling_mhs=\([0-9.]*\).*/\1/p' "$out/ceiling0.log")

bench() {  # name, then dagminer bench arguments
  local name=$1; shift
  timeout 90 dagminer bench --json "$@" > "$out/bench_$name.json" 2> "$out/bench_$name.err"
  local rc=$?
  python3 - "$out/bench_$name.json" "$name" "$rc" "$c431" "$c0" <<'PY' | tee -a "$summary"
import json, sys
path, name, rc, c431, c0 = sys.argv[1:]
try:
    j = json.load(open(path))
except Exception as e:
    print(f"{name:<14} rc={rc} no JSON ({e})"); sys.exit()
ceil = float(c431 or 0) if j["epoch"] == 431 else float(c0 or 0)
ratio = j["mhs"] / ceil * 100 if ceil else 0
print(f"{name:<14} rc={rc} {j['algo']} {j['epoch']}: {j['mhs']:.1f} MH/s = {ratio:.1f}% of {ceil:.1f}; "
      f"DAG {j.get('dag_build_seconds', 0):.3f} s; cand {j['candidates_verified']}/{j['candidates']} ok, "
      f"bad {j['candidates_bad']}, items bad {j.get('dag_items_bad')}; launch {j.get('launch_ms', 0):.2f} ms, "
      f"replaced {j.get('replaced_fraction', 0)*100:.3f}%, switch p50/p99 {j.get('switch_ms_p50', 0):.3f}/{j.get('switch_ms_p99', 0):.3f} ms")
PY
}

if [[ $mode == sweep ]]; then  # launch size x streams, alternating, then the cost of job changes
  for v in "1048576 3" "1048576 2" "524288 3" "524288 2" "262144 3" "1048576 3" "1048576 2" "524288 2"; do
    set -- $v
    bench "l$1_s$2" --algo etchash --epoch 431 --seconds 15 --launch-hashes $1 --streams $2
  done
  for v in "1048576 2" "524288 2" "524288 3"; do
    set -- $v
    bench "jobs_l$1_s$2" --algo etchash --epoch 431 --seconds 6 --launch-hashes $1 --streams $2 --job-interval-ms 100
  done
  bench e0_l1048576_s2 --algo ethash --epoch 0 --seconds 10 --launch-hashes 1048576 --streams 2
fi
[[ $mode == sweep ]] || bench e431 --algo etchash --epoch 431 --seconds 20
[[ $mode == sweep ]] || bench e0 --algo ethash --epoch 0 --seconds 10
dagminer devices > "$out/devices.txt" 2>&1; note "devices: $(head -1 "$out/devices.txt")"
if [[ $mode == full ]]; then
  dagminer_dag_tune etchash 431 2 > "$out/dag_tune.log" 2>&1
  dagminer_dag_tune ethash 0 2 >> "$out/dag_tune.log" 2>&1
  sed 's/^dag_build //' "$out/dag_tune.log" | tee -a "$summary"
  if [[ -n ${NCU:-} ]] && command -v ncu > /dev/null; then  # one launch of each kernel, clocks left as they are
    sections="--section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats"
    timeout 120 ncu --clock-control none --launch-count 1 --kernel-name regex:dag_kernel $sections \
      dagminer_dag_tune etchash 431 1 > "$out/ncu_dag.log" 2>&1
    timeout 120 ncu --clock-control none --launch-skip 200 --launch-count 1 --kernel-name regex:search_kernel $sections \
      dagminer bench --algo etchash --epoch 431 --seconds 2 > "$out/ncu_search.log" 2>&1
    for k in dag search; do
      note "ncu $k: $(grep -E '^ +(DRAM Throughput|L2 Hit Rate|Memory Throughput|L1/TEX Hit Rate|Achieved Occupancy|Registers Per Thread|Compute \(SM\) Throughput|Duration) ' "$out/ncu_$k.log" | awk '{$1=$1; print}' | tr '\n' ';')"
    done
  fi
  for v in "128 128" "96 128" "80 128" "128 64" "128 256"; do  # register build, block size
    set -- $v
    bench "s_r$1_b$2" --algo etchash --epoch 431 --seconds 10 --registers $1 --block $2
  done
  bench jobs_l1048576 --algo etchash --epoch 431 --seconds 6 --job-interval-ms 100
  bench jobs_l262144 --algo etchash --epoch 431 --seconds 6 --job-interval-ms 100 --launch-hashes 262144
  bench jobs10ms_l1048576 --algo etchash --epoch 431 --seconds 6 --job-interval-ms 10
  bench e431_again --algo etchash --epoch 431 --seconds 20
fi
ceiling > "$out/ceiling431_end.log" 2>&1
note "ceiling_mhs 431 at the end: $(sed -n 's/^ceiling_mhs=\([0-9.]*\).*/\1/p' "$out/ceiling431_end.log")"
grep -h 'page gather' "$out"/ceiling*.log | tee -a "$summary"
note "ceiling_mhs 431: $c431   epoch 0 (1 GB): $c0"
tar -czf "$out/logs.tgz" -C "$out" --exclude logs.tgz --exclude summary.txt . 2>/dev/null
find "$out" -mindepth 1 -not -name logs.tgz -not -name summary.txt -delete
echo "==== summary"; cat "$summary"
