#!/usr/bin/env bash
# One measuring round on a power-capped GPU (issue 17), everything in one device call: the GPU
# tests, the ceiling probe held 30 s, `dagminer bench` for each variant given, the DAG build,
# Nsight Compute's instruction counts for one search launch of each variant, and the card's
# power, SM clock and clock-event reasons sampled all along (nvidia-smi, every 200 ms). Hashrates
# are printed as ratios to the held probe's sustained_mhs of the same run; energy per hash is the
# median power over the last two thirds of a bench's window divided by its hashrate.
#
# usage, from the repository root of the GPU machine's copy, after `pack --out DIR`:
#   gpu/tools/power_round.sh DIR 'NAME=PROGRAM [bench args]' ...
#   e.g. gpu/tools/power_round.sh .dev 'new=dagminer' 'new_b256=dagminer --block 256' 'old=dagminer-old'
# Environment: BENCH_SECONDS=20 TESTS=1 EXTRA_TESTS='' (more GPU test binaries in DIR) NCU=1 DAG_TUNE=1 TUNE=0 (`dagminer tune`, 1 s trials) E2E_SECONDS=0 (bench/gpu-e2e.sh sustained
# when > 0), PROFILE='NAME ...' (the variants that ncu and the DAG build timing take; default all). Logs under $OUT (default /tmp/power-round); the table last.
set -uo pipefail
dir=$1; shift
. "$dir/env.sh"
out=${OUT:-/tmp/power-round}
mkdir -p "$out"
export XDG_CACHE_HOME=/tmp/dagminer-cache
BENCH_SECONDS=${BENCH_SECONDS:-20} TESTS=${TESTS:-1} NCU=${NCU:-1} DAG_TUNE=${DAG_TUNE:-1} E2E_SECONDS=${E2E_SECONDS:-0} TUNE=${TUNE:-0}
profiled() { [[ -z ${PROFILE:-} || " $PROFILE " == *" $1 "* ]]; }
summary=$out/summary.txt
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }
now() { date +%s.%N; }
marks=$out/marks.txt  # NAME START END, to read power over each window
: > "$marks"

nvidia-smi --query-gpu=name,memory.total,power.limit,driver_version,clocks.max.sm --format=csv > "$out/smi.txt" 2>&1
nvidia-smi --query-gpu=timestamp,power.draw,clocks.sm,clocks.mem,clocks_event_reasons.active --format=csv,noheader -lms 200 \
  > "$out/power.csv" 2> /dev/null &
smi_pid=$!

if ((TESTS)); then
  gpu_memory_policy_tests > "$out/tests.log" 2>&1; policy_rc=$?
  timeout 150 gpu_device_tests >> "$out/tests.log" 2>&1; gpu_rc=$?
  note "tests: policy rc=$policy_rc gpu rc=$gpu_rc ($(grep -c '^\[       OK' "$out/tests.log") OK, $(grep -c '^\[  FAILED' "$out/tests.log") FAILED)"
  for t in ${EXTRA_TESTS:-}; do  # another build's GPU tests (a variant's kernel), e.g. gpu_device_tests-xor
    timeout 150 "$t" > "$out/tests_$t.log" 2>&1; rc=$?
    note "tests $t: rc=$rc ($(grep -c '^\[       OK' "$out/tests_$t.log") OK, $(grep -c '^\[  FAILED' "$out/tests_$t.log") FAILED)"
  done
fi

# The light cache once, so that every bench below loads it.
dagminer bench --algo etchash --epoch 431 --seconds 1 --json > "$out/warm.json" 2> "$out/warm.err"
s=$(now); ceiling 4689231488 30 > "$out/ceiling.log" 2>&1; echo "probe $s $(now)" >> "$marks"
probe=$(sed -n 's/.*sustained_mhs=\([0-9.]*\).*/\1/p' "$out/ceiling.log")
note "probe held 30 s: sustained_mhs=$probe ($(grep -h 'page gather over' "$out/ceiling.log" | sed 's/.*: //'))"

for v in "$@"; do
  name=${v%%=*}; read -r prog args <<< "${v#*=}"
  s=$(now)
  # shellcheck disable=SC2086
  timeout 120 "$prog" bench --algo etchash --epoch 431 --seconds "$BENCH_SECONDS" --json $args > "$out/bench_$name.json" 2> "$out/bench_$name.err"
  echo "$name $s $(now) $?" >> "$marks"
done
if ((TUNE)); then
  s=$(now)
  timeout 200 dagminer tune --algo etchash --epoch 431 --trial-seconds 1 --rounds 2 > "$out/tune.log" 2>&1
  echo "tune $s $(now) $?" >> "$marks"
  note "dagminer tune rc=$(tail -1 "$marks" | cut -d' ' -f4):"; tee -a "$summary" < "$out/tune.log"
fi
if ((E2E_SECONDS)); then
  s=$(now)
  OUT=$out/e2e SUSTAINED_SECONDS=$E2E_SECONDS bench/gpu-e2e.sh sustained > "$out/e2e.log" 2>&1
  echo "e2e $s $(now) $?" >> "$marks"
  note "e2e rc=$(tail -1 "$marks" | cut -d' ' -f4):"; tee -a "$summary" < "$out/e2e/e2e-summary.txt"
fi
if ((DAG_TUNE)); then
  for v in "$@"; do
    name=${v%%=*}; read -r prog _ <<< "${v#*=}"
    profiled "$name" || continue
    tune=${prog/dagminer/dagminer_dag_tune}
    command -v "$tune" > /dev/null && "$tune" etchash 431 3 > "$out/dag_$name.log" 2>&1 &&
      note "dag build $name: $(grep -h '^dag_build' "$out/dag_$name.log" | tr '\n' ';')"
  done
fi
if ((NCU)) && command -v ncu > /dev/null; then  # one search launch each, clocks left as they are
  for v in "$@"; do
    name=${v%%=*}; read -r prog args <<< "${v#*=}"
    profiled "$name" || continue
    # shellcheck disable=SC2086
    timeout 120 ncu --clock-control none --launch-skip 100 --launch-count 1 --kernel-name regex:search_kernel \
      --metrics smsp__inst_executed.sum,launch__registers_per_thread,launch__shared_mem_config_size,sm__warps_active.avg.pct_of_peak_sustained_active,dram__bytes_read.sum,smsp__issue_active.avg.pct_of_peak_sustained_active,launch__grid_size,launch__block_size \
      "$prog" bench --algo etchash --epoch 431 --seconds 2 $args > "$out/ncu_$name.log" 2>&1
    note "ncu $name: $(grep -E '^ +(smsp__inst_executed.sum|launch__registers_per_thread|launch__shared_mem_config_size|sm__warps_active|dram__bytes_read.sum|smsp__issue_active|launch__grid_size|launch__block_size) ' "$out/ncu_$name.log" | awk '{$1=$1; print}' | tr '\n' ';')"
  done
fi
kill "$smi_pid" 2> /dev/null; wait "$smi_pid" 2> /dev/null

python3 - "$out" "$probe" "$@" <<'PY' | tee -a "$summary"
import csv, json, sys, datetime
out, probe = sys.argv[1], float(sys.argv[2] or 0)
samples = []
for row in csv.reader(open(f"{out}/power.csv")):
    try:
        t = datetime.datetime.strptime(row[0].strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp()
        samples.append((t, float(row[1].split()[0]), float(row[2].split()[0]), row[4].strip()))
    except (ValueError, IndexError):
        pass
def window(s, e):  # the last two thirds of a window: past its DAG build and warm-up
    s = s + (e - s) / 3
    w = [x for x in samples if s <= x[0] <= e]
    if not w: return None
    watts = sorted(x[1] for x in w)  # the median: dips between launches pull the mean down
    return (watts[len(watts) // 2], min(x[2] for x in w), max(x[2] for x in w), sorted({x[3] for x in w}))
marks = {l.split()[0]: l.split()[1:] for l in open(f"{out}/marks.txt")}
def power(name):
    m = marks.get(name)
    return window(float(m[0]), float(m[1])) if m else None
p = power("probe")
if p: print(f"probe      {probe:7.1f} MH/s  100.0%  {p[0]:5.0f} W  {p[0] / probe:.3f} uJ/hash  SM {p[1]:.0f}-{p[2]:.0f} MHz  {p[3]}")
for v in sys.argv[3:]:
    name = v.split("=")[0]
    try:
        j = json.load(open(f"{out}/bench_{name}.json"))
    except Exception as e:
        print(f"{name:<10} no JSON ({e})"); continue
    q = power(name)
    ratio = j["mhs"] / probe * 100 if probe else 0
    pw = f"{q[0]:5.0f} W  {q[0] / j['mhs']:.3f} uJ/hash  SM {q[1]:.0f}-{q[2]:.0f} MHz" if q else "no power samples"
    if "uj_per_hash" in j:  # the bench's own reading (NVML through the daemon's sampler), to check against nvidia-smi's
        pw += f"  (bench: {j['power_w']:.0f} W, {j['uj_per_hash']:.3f} uJ/hash)"
    print(f"{name:<10} {j['mhs']:7.1f} MH/s  {ratio:5.1f}%  {pw}  DAG {j.get('dag_build_seconds', 0):.3f} s  "
          f"cand {j['candidates_verified']}/{j['candidates']} bad {j['candidates_bad']} items bad {j.get('dag_items_bad')}"
          f"  block {j.get('block_threads')} launch {j.get('launch_hashes')} streams {j.get('streams')}")
PY
tar -czf "$out/logs.tgz" -C "$out" --exclude logs.tgz --exclude summary.txt . 2> /dev/null
find "$out" -mindepth 1 -not -name logs.tgz -not -name summary.txt -delete
echo "==== summary"; cat "$summary"
