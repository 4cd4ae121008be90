#!/usr/bin/env bash
# Soak (issue 16): the daemon mining three local `dagminer poolsim` pools at once (split; one pool
# per dialect), each with its own schedule of faults, for SOAK_SECONDS. Every SAMPLE_SECONDS it
# records the daemon's RSS, hashrate and books (API and /proc). After a clean stop it compares the
# daemon's share journal with what each pool counted. One table at the end; the samples, logs and
# journal land in $OUT.
#
#   usage: bench/soak.sh            (on the GPU machine after ../shared/device/pack build/daemon/dagminer)
#   Environment, with defaults: ALGO=etchash EPOCH=431 DEVICES=all DIFFICULTY=0.02 JOB_INTERVAL=3s
#     SOAK_SECONDS=480 SAMPLE_SECONDS=10 WARMUP_SECONDS=30 OUT=/tmp/dagminer-soak
#     XDG_CACHE_HOME=/tmp/dagminer-cache (light caches shared by the pools and the daemon)
#   A check on the CPU: DEVICES=cpu ALGO=ethash EPOCH=0 DIFFICULTY=5e-8 SOAK_SECONDS=90 bench/soak.sh
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v dagminer > /dev/null || { [[ -f $root/.device/env.sh ]] && . "$root/.device/env.sh"; }
command -v dagminer > /dev/null || { echo "soak: dagminer is not on the PATH (pack it into .device/ or add its build folder)" >&2; exit 2; }

ALGO=${ALGO:-etchash} EPOCH=${EPOCH:-431} DEVICES=${DEVICES:-all} DIFFICULTY=${DIFFICULTY:-0.02}
JOB_INTERVAL=${JOB_INTERVAL:-3s} SOAK_SECONDS=${SOAK_SECONDS:-480} SAMPLE_SECONDS=${SAMPLE_SECONDS:-10}
WARMUP_SECONDS=${WARMUP_SECONDS:-30}
for v in EPOCH SOAK_SECONDS SAMPLE_SECONDS WARMUP_SECONDS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "soak: $v must be a whole number, got '${!v}'" >&2; exit 2; }
done
out=${OUT:-/tmp/dagminer-soak}
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-/tmp/dagminer-cache}
mkdir -p "$out" "$XDG_CACHE_HOME/dagminer" || exit 1
run=$(mktemp -d /tmp/dagminer-soak.XXXXXX)
pids=()
stop_all() { for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null; done; wait 2> /dev/null; }
trap stop_all EXIT

# Each pool: a dialect and faults spread over the run at co-prime periods, so they overlap in
# changing combinations: connection drops, a paused listener, garbage lines, slow answers,
# silence (the daemon's job_timeout), refused shares, reused job ids and reconnect requests.
pool_dialects=(es1 ethproxy es2)
pool_faults=("--fault drop@67s --fault malformed@23s --fault delay:4s@89s --fault reuse-ids:6s@131s"
             "--fault pause:8s@113s --fault overlong@41s --fault reconnect@77s"
             "--fault silent:25s@157s --fault reject:10s@149s --fault malformed@37s")
pool_weights=(2 1 1)
pools_yaml=""
for i in 0 1 2; do
  log=$run/poolsim$i.log
  # shellcheck disable=SC2086  # the fault list is split on purpose
  dagminer poolsim --port 0 --dialect "${pool_dialects[$i]}" --algo "$ALGO" --epoch "$EPOCH" --difficulty "$DIFFICULTY" \
    --job-interval "$JOB_INTERVAL" --cache-dir "$XDG_CACHE_HOME/dagminer" --duration 60m ${pool_faults[$i]} > "$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do grep -q 'listening on stratum' "$log" && break; sleep 0.5; done
  url=$(grep -o 'stratum[0-9]*+tcp://[^ ]*' "$log" | head -1)
  [[ -n $url ]] || { echo "soak: pool $i did not start:" >&2; tail -5 "$log" >&2; exit 1; }
  pools_yaml+="  - {name: p$i-${pool_dialects[$i]}, url: \"$url\", user: soak, algorithm: $ALGO, weight: ${pool_weights[$i]}}"$'\n'
done

cat > "$run/config.yaml" << YAML
pools:
$pools_yaml
strategy: split
devices: $DEVICES
job_timeout: 15s
response_timeout: 5s
backoff: {initial: 250ms, max: 5s}
summary_interval: 30s
share_journal: $run/shares.jsonl
api: {listen: "127.0.0.1:0"}
YAML
dagminer run --config "$run/config.yaml" > "$run/daemon.log" 2>&1 &
daemon=$!
pids+=("$daemon")
for _ in $(seq 100); do grep -q 'api: listening on ' "$run/daemon.log" && break; sleep 0.3; done
api=$(grep -m1 -o 'api: listening on [^ ]*' "$run/daemon.log" | sed -E 's/.* (http:\/\/)?/http:\/\//')
[[ -n $api ]] || { echo "soak: no API line from the daemon:" >&2; tail -5 "$run/daemon.log" >&2; exit 1; }
echo "soak: $ALGO epoch $EPOCH, 3 pools (es1, ethproxy, es2; split 2:1:1), $SOAK_SECONDS s, a sample every $SAMPLE_SECONDS s"

python3 - "$api" "$daemon" "$SOAK_SECONDS" "$SAMPLE_SECONDS" "$run/samples.jsonl" << 'PY'
import json, sys, time, urllib.request
api, pid, seconds, every, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def get(p):
    with urllib.request.urlopen(api + p, timeout=5) as r:
        return json.load(r)
def rss_kb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
start = time.monotonic()
with open(path, "w") as out:
    while (t := time.monotonic() - start) < seconds:
        try:
            s = {"t": round(t, 1), "rss_kb": rss_kb(), "summary": get("/api/v1/summary"), "pools": get("/api/v1/pools")["pools"],
                 "hashes": sum(d["hashes"] for d in get("/api/v1/devices")["devices"])}
        except Exception as e:  # a sample missed is recorded, the soak goes on
            s = {"t": round(t, 1), "error": str(e)}
        out.write(json.dumps(s) + "\n"); out.flush()
        time.sleep(max(0.0, every - (time.monotonic() - start - t)))
PY

kill -TERM "$daemon"; wait "$daemon"; daemon_rc=$?
for p in "${pids[@]:0:3}"; do kill -TERM "$p"; done
wait 2> /dev/null
trap - EXIT

python3 - "$run" "$daemon_rc" "$WARMUP_SECONDS" << 'PY' | tee "$run/soak-summary.txt"
import collections, glob, json, re, statistics, sys
run, daemon_rc, warmup = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
samples = [json.loads(l) for l in open(f"{run}/samples.jsonl")]
good = [s for s in samples if "error" not in s]
print(f"samples: {len(good)} of {len(samples)} answered; daemon exit status {daemon_rc}")
def rate(hs):
    for unit, scale in (("GH/s", 1e9), ("MH/s", 1e6), ("kH/s", 1e3)):
        if hs >= scale: return f"{hs / scale:.2f} {unit}"
    return f"{hs:.1f} H/s"
rates = [(b["hashes"] - a["hashes"]) / (b["t"] - a["t"]) for a, b in zip(good, good[1:]) if b["t"] > warmup]
if rates:
    mean = (good[-1]["hashes"] - good[0]["hashes"]) / (good[-1]["t"] - good[0]["t"])
    print(f"hashrate per interval after {warmup:.0f} s: min {rate(min(rates))}, median {rate(statistics.median(rates))}, "
          f"max {rate(max(rates))}; mean over the run {rate(mean)}")
rss = [(s["t"], s["rss_kb"] / 1024) for s in good if s["t"] > warmup]
if rss:
    print(f"RSS MB after warm-up: first {rss[0][1]:.1f} at {rss[0][0]:.0f} s, last {rss[-1][1]:.1f} at {rss[-1][0]:.0f} s, "
          f"max {max(r for _, r in rss):.1f}")
unbalanced = [(s["t"], p["name"]) for s in good for p in s["pools"]
              if p["shares"]["found"] != sum(p["shares"][k] for k in ("accepted", "rejected", "stale", "timed_out", "pending", "hardware_errors"))]
print(f"books balanced in every sample and pool: {'yes' if not unbalanced else 'NO ' + str(unbalanced[:5])}")
journal = collections.defaultdict(collections.Counter)
for line in open(f"{run}/shares.jsonl"):
    r = json.loads(line)
    journal[r["pool"]][r["outcome"]] += 1
log = open(f"{run}/daemon.log").read()
print("pool           connects  journal: accepted rejected stale timed_out   pool counted: accepted stale dup lowdiff unauth invalid   books")
for i, path in enumerate(sorted(glob.glob(f"{run}/poolsim*.log"))):
    text = open(path).read()
    total = re.search(r"total: accepted (\d+), stale (\d+), duplicate (\d+), low difficulty (\d+), unauthorized (\d+), invalid (\d+)", text)
    name = re.search(r"name: (p%d-\S+?)," % i, open(f"{run}/config.yaml").read())[1]
    j = journal[name]
    connects = len(re.findall(rf"pool {re.escape(name)}: connected to", log))
    counted = tuple(int(x) for x in total.groups()) if total else None
    # every share the pool accepted is accepted in the journal, or timed out here (the pool's answer came too late)
    ok = counted is not None and j["accepted"] <= counted[0] <= j["accepted"] + j["timed_out"]
    print(f"{name:<14} {connects:>8}  {j['accepted']:>17} {j['rejected']:>8} {j['stale']:>5} {j['timed_out']:>9}   "
          f"{(' '.join(map(str, counted)) if counted else 'no summary'):>35}   {'ok' if ok else 'MISMATCH'}")
PY
cp "$run/soak-summary.txt" "$out/"
tar -czf "$out/soak-logs.tgz" -C "$run" . && rm -rf "$run"
