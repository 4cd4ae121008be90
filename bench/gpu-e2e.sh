#!/usr/bin/env bash
# The daemon end to end as a user runs it: `dagminer poolsim` at Ethereum Classic settings and
# `dagminer run` mining it on every GPU; prints the daemon's own rate, the rate the pool's
# accepted shares imply, and the share outcomes. Run on a GPU machine from the repository root
# (binaries from ../shared/device/pack in .device/, or dagminer on the PATH).
#   usage: bench/gpu-e2e.sh [SECONDS=180] [ALGO=etchash] [EPOCH=431] [DIFFICULTY=0.02] [JOB_INTERVAL=5s]
# Logs, the generated configuration and the share journal go to $OUT (default /tmp/dagminer-e2e).
set -uo pipefail
[[ -f .device/env.sh ]] && . .device/env.sh
seconds=${1:-180} algo=${2:-etchash} epoch=${3:-431} difficulty=${4:-0.02} jobs=${5:-5s}
out=${OUT:-/tmp/dagminer-e2e}
cache=${DAGMINER_CACHE:-/tmp/dagminer-cache}
mkdir -p "$out" "$cache"

dagminer poolsim --port 0 --algo "$algo" --epoch "$epoch" --difficulty "$difficulty" --job-interval "$jobs" \
  --cache-dir "$cache" --duration "$((seconds + 300))s" > "$out/poolsim.log" 2>&1 &
pool=$!
trap 'kill "$pool" 2>/dev/null' EXIT
url=
for _ in $(seq 600); do  # the pool builds the light cache first (seconds at recent epochs)
  url=$(grep -o 'stratum+tcp://[^ ]*' "$out/poolsim.log" | head -n 1) && [[ -n $url ]] && break
  sleep 0.2
done
[[ -n $url ]] || { cat "$out/poolsim.log"; echo "gpu-e2e: the pool simulator did not start" >&2; exit 1; }

cat > "$out/e2e.yaml" <<YAML
pools:
  - {name: sim, url: "$url", user: e2e, algorithm: $algo}
devices: all
light_cache_dir: $cache
summary_interval: 10s
share_journal: $out/shares.jsonl
YAML
timeout --preserve-status -s INT "$seconds" dagminer run --config "$out/e2e.yaml" > "$out/daemon.log" 2>&1
rc=$?
kill -INT "$pool"; wait "$pool"

python3 - "$out" "$difficulty" "$rc" <<'PY'
import json, re, sys, datetime
out, difficulty, rc = sys.argv[1], float(sys.argv[2]), sys.argv[3]
log = open(f"{out}/daemon.log").read().splitlines()
def t(line): return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").timestamp()
ready = next((t(l) for l in log if "ready: the devices have work" in l), None)
stop = next((t(l) for l in log if "stopping" in l), None)
rates = [float(m.group(1)) for l in log for m in [re.search(r"speed ([\d.]+) MH/s", l)] if m]
outcomes = {}
for line in open(f"{out}/shares.jsonl"):
    j = json.loads(line); outcomes[j["outcome"]] = outcomes.get(j["outcome"], 0) + 1
accepted = outcomes.get("accepted", 0)
mining = (stop - ready) if ready and stop else float("nan")
# A share at pool difficulty d stands for 2^32 * d * (2^224 / (0xffff * 2^208)) hashes on average.
per_share = 2**32 * difficulty * (2**224 / (0xffff * 2**208))
print(f"daemon rc={rc}; mining {mining:.1f} s after ready")
print(f"device counters: {sum(rates[1:]) / max(1, len(rates) - 1):.1f} MH/s mean of {max(0, len(rates) - 1)} summaries (first skipped)")
print(f"accepted shares: {accepted} x difficulty {difficulty} -> {accepted * per_share / mining / 1e6:.1f} MH/s "
      f"(+/- {100 / max(1, accepted) ** 0.5:.1f}% statistical)")
print(f"share outcomes: {outcomes}; hardware errors in log: {sum('hardware error' in l for l in log)}")
PY
sed -n '/: [0-9]* sessions\?, /,$p' "$out/poolsim.log"
