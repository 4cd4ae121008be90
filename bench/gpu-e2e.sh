#!/usr/bin/env bash
# The daemon end to end as a user runs it (issue 7): local `dagminer poolsim` pools at Ethereum
# Classic settings, `dagminer run` mining them, figures read from the daemon's API, its log,
# the share journal and /proc; one table at the end, with the target of each figure.
#
#   usage: bench/gpu-e2e.sh [SCENARIO...]     (default: ceiling sustained latency)
#   ceiling    the ceiling probe (when on the PATH) and `dagminer bench`
#   sustained  one pool, a job every 2 s: counter and share hashrate, shares, CPU, memory, job switches
#   latency    one pool, a job every 200 ms: job-switch latency and time on replaced jobs
#   split      three pools weighted 50/30/20 (strategy: split): total rate and each pool's part
#   epoch      the pool moves to the next epoch: the hashing gap with the next DAG prepared and without
#   cold       exec of `dagminer run` to its first launch, with the light cache on disk and without
#
# Run from anywhere on the GPU machine: dagminer (and ceiling) from the PATH, else the binaries
# that ../shared/device/pack put in .device/. Environment overrides, with their defaults:
#   ALGO=etchash EPOCH=431 DEVICES=all DIFFICULTY=0.02 SPLIT_DIFFICULTY=DIFFICULTY/5
#   JOB_INTERVAL=2s LATENCY_JOB_INTERVAL=200ms WARMUP_SECONDS=20 BENCH_SECONDS=20
#   SUSTAINED_SECONDS=180 LATENCY_SECONDS=60 SPLIT_SECONDS=180 (mining time, warm-up included; the warm-up
#   also lasts until a GPU tuning its launch shape online on its first start has kept one)
#   EPOCH_MOVE_AFTER=60 EPOCH_TAIL_SECONDS=15 READY_TIMEOUT=300
#   OUT=/tmp/dagminer-e2e: e2e-summary.txt (the table) and e2e-logs.tgz (every log) land there
#   XDG_CACHE_HOME=/tmp/dagminer-cache: light caches shared by the pools and the daemon, in ./dagminer
# A check of the script on the CPU (epoch 0's light cache builds in seconds):
#   DEVICES=cpu ALGO=ethash EPOCH=0 DIFFICULTY=5e-8 WARMUP_SECONDS=5 SUSTAINED_SECONDS=30 \
#     LATENCY_SECONDS=20 SPLIT_SECONDS=40 EPOCH_MOVE_AFTER=20 bench/gpu-e2e.sh sustained latency split epoch cold
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# the packed binaries, unless dagminer is on the PATH already (a build folder, for a check on the CPU)
command -v dagminer > /dev/null || { [[ -f $root/.device/env.sh ]] && . "$root/.device/env.sh"; }
command -v dagminer > /dev/null || { echo "gpu-e2e: dagminer is not on the PATH (pack it into .device/ or add its build folder)" >&2; exit 2; }

ALGO=${ALGO:-etchash} EPOCH=${EPOCH:-431} DEVICES=${DEVICES:-all} DIFFICULTY=${DIFFICULTY:-0.02}
SPLIT_DIFFICULTY=${SPLIT_DIFFICULTY:-$(python3 -c "print(float('$DIFFICULTY') / 5)")}
JOB_INTERVAL=${JOB_INTERVAL:-2s} LATENCY_JOB_INTERVAL=${LATENCY_JOB_INTERVAL:-200ms}
WARMUP_SECONDS=${WARMUP_SECONDS:-20} BENCH_SECONDS=${BENCH_SECONDS:-20}
SUSTAINED_SECONDS=${SUSTAINED_SECONDS:-180} LATENCY_SECONDS=${LATENCY_SECONDS:-60} SPLIT_SECONDS=${SPLIT_SECONDS:-180}
EPOCH_MOVE_AFTER=${EPOCH_MOVE_AFTER:-60} EPOCH_TAIL_SECONDS=${EPOCH_TAIL_SECONDS:-15} READY_TIMEOUT=${READY_TIMEOUT:-300}
for v in EPOCH WARMUP_SECONDS BENCH_SECONDS SUSTAINED_SECONDS LATENCY_SECONDS SPLIT_SECONDS EPOCH_MOVE_AFTER \
         EPOCH_TAIL_SECONDS READY_TIMEOUT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "gpu-e2e: $v must be a whole number, got '${!v}'" >&2; exit 2; }
done
(($#)) || set -- ceiling sustained latency
for s in "$@"; do
  [[ $s =~ ^(ceiling|sustained|latency|split|epoch|cold)$ ]] ||
    { echo "gpu-e2e: unknown scenario '$s' (ceiling sustained latency split epoch cold)" >&2; exit 2; }
done

out=${OUT:-/tmp/dagminer-e2e}
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-/tmp/dagminer-cache}  # `dagminer bench` uses it too
cache=$XDG_CACHE_HOME/dagminer
logs=$out/e2e-logs  # one folder per run, packed into e2e-logs.tgz at the end
scratch=$(mktemp -d /tmp/dagminer-e2e.XXXXXX)  # empty light cache folders: 70 MB files stay out of $OUT
rm -rf "$logs" "$out/e2e-logs.tgz"
mkdir -p "$out" "$cache" "$logs" || exit 1
export E2E_ROWS=$scratch/rows.tsv E2E_STATE=$scratch/state.json
py=$scratch/e2e.py
scen=run

cat > "$py" <<'PY'
"""Figures for bench/gpu-e2e.sh: API and /proc snapshots, the logs, the arithmetic and the table."""
import collections, datetime, glob, json, math, os, re, signal, sys, time, urllib.request

# A share of difficulty d stands for 2^32 * d * 2^224 / (0xffff * 2^208) hashes on average
# (difficulty 1 is the target 0xffff * 2^208).
HASHES_PER_DIFFICULTY = 2**48 / 0xFFFF
FIRST_LAUNCH = re.compile(r"device (\S+): mining \S+ epoch (\d+) \(pool .*, job (\S+)\): first launch ([\d.]+) ms after the (?:job arrived|pool's first job at this epoch)")
POOL_MOVE = re.compile(r"^\[([\d-]+ [\d:.]+)\] .*moved to \S+ epoch (\d+) \(job (\S+)\)")  # poolsim's own log format
LIGHT_CACHE = re.compile(r"light cache \S+ epoch (\d+): (.*?) in (\d+) ms")


def row(scenario, figure, value, target="", verdict=""):
    with open(os.environ["E2E_ROWS"], "a") as f:
        f.write("\t".join([scenario, figure, value, target, verdict]) + "\n")


def state():
    try:
        with open(os.environ["E2E_STATE"]) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def remember(**values):
    s = state()
    s.update(values)
    with open(os.environ["E2E_STATE"], "w") as f:
        json.dump(s, f)


def rate_text(hps):
    for unit, scale in (("GH/s", 1e9), ("MH/s", 1e6), ("kH/s", 1e3)):
        if hps >= scale:
            return f"{hps / scale:.2f} {unit}"
    return f"{hps:.1f} H/s"


def relative(hps):
    """' = x% of ceiling, y% of bench' for whichever of the two this invocation measured."""
    s = state()
    parts = [f"{100 * hps / s[k]:.1f}% of {name}" for k, name in (("ceiling_hps", "ceiling"), ("bench_hps", "bench")) if s.get(k)]
    return " = " + ", ".join(parts) if parts else ""


def verdict(ok):
    return "ok" if ok else "MISS"


def api(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.load(r)


def log_time(line):
    """Daemon log lines start with local time, %Y-%m-%d %H:%M:%S.%e (daemon/src/logging.cpp)."""
    return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").timestamp()


def lines(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def snap(base, pid, path):
    """The API's devices and pools with the daemon's CPU time and memory, at one instant."""
    t0 = time.monotonic()
    devices = api(base, "/api/v1/devices")["devices"]
    pools = api(base, "/api/v1/pools")["pools"]
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        metrics = r.read().decode()
    t1 = time.monotonic()
    buckets = {}  # device -> {le: switches at or under it, since the start}
    for m in re.finditer(r'^dagminer_job_switch_seconds_bucket\{device="([^"]+)",le="([^"]+)"\} (\S+)$', metrics, re.M):
        buckets.setdefault(m[1], {})[m[2]] = float(m[3])
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()  # fields 3... of proc(5); the name may hold spaces
    status = dict(l.split(":", 1) for l in lines(f"/proc/{pid}/status") if ":" in l)
    kib = lambda key: int(status[key].split()[0])
    threads = collections.Counter()  # CPU seconds by thread name
    for task in glob.glob(f"/proc/{pid}/task/*/stat"):
        try:
            with open(task) as f:
                t = f.read()
        except OSError:
            continue  # the thread ended meanwhile
        name, rest = t[t.index("(") + 1:t.rindex(")")], t[t.rindex(")") + 2:].split()
        threads[name] += (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
    with open(path, "w") as f:
        json.dump({"t": (t0 + t1) / 2, "devices": devices, "pools": pools, "switch_buckets": buckets,
                   "cpu_seconds": (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"),
                   "rss_bytes": kib("VmRSS") * 1024, "thread_cpu_seconds": dict(threads), "hwm_bytes": kib("VmHWM") * 1024}, f)


def sample(base, path):
    """Wall time and the devices' total hashes, twice a second, until SIGINT/SIGTERM."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda *_: sys.exit(0))
    with open(path, "a") as f:
        while True:
            t0 = time.time()
            try:
                hashes = sum(d["hashes"] for d in api(base, "/api/v1/devices")["devices"])
                f.write(f"{(t0 + time.time()) / 2:.3f} {hashes}\n")
                f.flush()
            except OSError as e:
                print(f"sample: {e}", file=sys.stderr)
            time.sleep(0.5)


def load(path):
    with open(path) as f:
        return json.load(f)


def total(snapshot, key):
    return sum(d.get(key) or 0 for d in snapshot["devices"])


def outcome_rows(scenario, run_dir, label=""):
    """Share outcomes over the whole run, as the daemon saw them (journal) and as the pools did."""
    counts = collections.Counter(json.loads(l)["outcome"] for l in lines(f"{run_dir}/shares.jsonl") if l.strip())
    row(scenario, f"share outcomes{label}",
        ", ".join(f"{k} {counts.get(k, 0)}" for k in ("accepted", "rejected", "stale", "timed_out")),
        "rejected 0", verdict(counts.get("rejected", 0) == 0))
    bad = collections.Counter()
    summaries = 0
    for log in sorted(glob.glob(f"{run_dir}/poolsim*.log")):
        for l in lines(log):
            if m := re.match(r"\s*total: accepted \d+, stale \d+, duplicate (\d+), low difficulty (\d+), unauthorized \d+, invalid (\d+)", l):
                summaries += 1
                bad.update(duplicate=int(m[1]), low_difficulty=int(m[2]), invalid=int(m[3]))
    if not summaries:
        row(scenario, f"pool-side rejections{label}", "no poolsim summary", "0", "n/a")
        return
    row(scenario, f"pool-side rejections{label}",
        f"invalid {bad['invalid']}, low difficulty {bad['low_difficulty']}, duplicate {bad['duplicate']}",
        "0", verdict(sum(bad.values()) == 0))


def job_switch_rows(scenario, snapshot, judged=True):
    """judged=False (split): a job of a lightly weighted pool waits for its turn, not for the switch."""
    judged = False  # the window's own figures below are judged; these include the warm-up
    target = "(info: whole run)"
    for d in snapshot["devices"]:
        name = "job switch, whole run" + (f" {d['id']}" if len(snapshot["devices"]) > 1 else "")
        if "job_switch" not in d:
            row(scenario, name, "n/a (the API has no job_switch)", target, "n/a")
        elif not d["job_switch"]:
            row(scenario, name, "no job switch yet", target, "n/a")
        else:
            j = d["job_switch"]
            row(scenario, name, f"p50 {j['p50_seconds'] * 1e3:.3f} ms, p99 {j['p99_seconds'] * 1e3:.3f} ms, "
                f"max {j['max_seconds'] * 1e3:.3f} ms ({j['samples']} switches)", target, verdict(j["p99_seconds"] < 1e-3) if judged else "")


def window_switch_rows(scenario, a, b, judged=True):
    """Job switches inside the measured window only (the API's quantiles also hold the warm-up,
    when the next epoch's DAG is built): from the /metrics histogram at both ends, to its bucket
    bounds."""
    target = "p99 < 1 ms" if judged else "(info)"
    for device, end in b.get("switch_buckets", {}).items():
        start = a.get("switch_buckets", {}).get(device, {})
        delta = sorted(((float(le), n - start.get(le, 0)) for le, n in end.items()), key=lambda x: x[0])
        total_n = delta[-1][1] if delta else 0
        name = "job switch in the window" + (f" {device}" if len(b["devices"]) > 1 else "")
        if total_n <= 0:
            row(scenario, name, "no job switch in the window", target, "n/a")
            continue
        at_most = lambda bound: next((n for le, n in delta if le >= bound), total_n)
        quantile = lambda q: next((le for le, n in delta if n >= q * total_n), math.inf)
        p99 = quantile(0.99)
        row(scenario, name, f"{total_n:.0f} switches: p50 <= {quantile(0.5) * 1e3:g} ms, p99 <= {p99 * 1e3:g} ms; "
            f"{100 * at_most(1e-3) / total_n:.2f}% within 1 ms, {100 * at_most(0.5e-3) / total_n:.2f}% within 0.5 ms",
            target, verdict(p99 <= 1e-3) if judged else "")


def replaced_row(scenario, a, b):
    if any("replaced_job_hashes" not in d for d in b["devices"]):
        row(scenario, "hashes on replaced jobs", "n/a (the API has no replaced_job_hashes)", "< 0.1%", "n/a")
        return
    hashes = total(b, "hashes") - total(a, "hashes")
    fraction = (total(b, "replaced_job_hashes") - total(a, "replaced_job_hashes")) / hashes if hashes else 0
    row(scenario, "hashes on replaced jobs", f"{100 * fraction:.4f}% of the window's", "< 0.1%", verdict(fraction < 1e-3))


def share_rate(scenario, a, b, dt, counter_hps):
    """The hashrate the window's accepted shares imply, with its statistical error."""
    before = {p["name"]: p["shares"] for p in a["pools"]}
    n = sum(p["shares"]["accepted"] - before.get(p["name"], {}).get("accepted", 0) for p in b["pools"])
    difficulty = sum(p["shares"]["accepted_difficulty"] - before.get(p["name"], {}).get("accepted_difficulty", 0) for p in b["pools"])
    if n <= 0:
        row(scenario, "hashrate from accepted shares", "no share accepted in the window", "counter +/- 3 sigma", "MISS")
        return
    hps = difficulty * HASHES_PER_DIFFICULTY / dt
    row(scenario, "hashrate from accepted shares", f"{rate_text(hps)} +/- {100 / math.sqrt(n):.1f}% ({n} shares){relative(hps)}",
        "counter +/- 3 sigma", verdict(abs(hps - counter_hps) <= 3 * hps / math.sqrt(n)))


def daemon_rc_row(scenario, rc, label=""):
    if rc != "0":
        row(scenario, f"daemon exit status{label}", rc, "0", "MISS")


def mining(scenario, run_dir, rc, weights=""):
    a, b = load(f"{run_dir}/snap_a.json"), load(f"{run_dir}/snap_b.json")
    dt = b["t"] - a["t"]
    hps = (total(b, "hashes") - total(a, "hashes")) / dt
    s = state()
    if not s.get("devices_shown"):
        row(scenario, "devices", "; ".join(f"{d['id']}: {d['name']}" for d in b["devices"]))
        remember(devices_shown=True)
    if scenario == "sustained":
        remember(sustained_hps=hps)
        target = ">= 99% of ceiling"
        row(scenario, f"counter hashrate over {dt:.0f} s", rate_text(hps) + relative(hps), target,
            verdict(hps >= 0.99 * s["ceiling_hps"]) if s.get("ceiling_hps") else "n/a (no ceiling)")
    elif scenario == "split":
        base = s.get("sustained_hps")
        row(scenario, f"total counter hashrate over {dt:.0f} s",
            rate_text(hps) + (f" = {100 * hps / base:.2f}% of sustained" if base else " (sustained not run)") + relative(hps).replace(" = ", ", "),
            ">= 99.5% of sustained", verdict(hps >= 0.995 * base) if base else "n/a")
    else:
        base = s.get("sustained_hps")
        row(scenario, f"counter hashrate over {dt:.0f} s",
            rate_text(hps) + (f" = {100 * hps / base:.1f}% of sustained" if base else "") + relative(hps).replace(" = ", ", "))
    if scenario != "latency":
        share_rate(scenario, a, b, dt, hps)
    if weights:  # name:percent,...: each pool's part of the window's accepted difficulty
        before = {p["name"]: p["shares"] for p in a["pools"]}
        got = {p["name"]: (p["shares"]["accepted"] - before.get(p["name"], {}).get("accepted", 0),
                           p["shares"]["accepted_difficulty"] - before.get(p["name"], {}).get("accepted_difficulty", 0))
               for p in b["pools"]}
        n_all = sum(n for n, _ in got.values())
        d_all = sum(d for _, d in got.values())
        for name, weight in (w.split(":") for w in weights.split(",")):
            n, d = got.get(name, (0, 0))
            if not d_all:
                row(scenario, f"pool {name} part", "no share accepted in the window", f"{weight}% +/- 2", "MISS")
                continue
            part = d / d_all
            sigma = 100 * math.sqrt(part * (1 - part) / n_all)
            off = abs(100 * part - float(weight))
            row(scenario, f"pool {name} part of accepted difficulty", f"{100 * part:.1f}% +/- {sigma:.1f} ({n} of {n_all} shares)",
                f"{weight}% +/- 2", "ok" if off <= 2 else "MISS" if off > 2 + 3 * sigma else "inconclusive (noise)")
    job_switch_rows(scenario, b, judged=scenario != "split")
    window_switch_rows(scenario, a, b, judged=scenario != "split")
    replaced_row(scenario, a, b)
    outcome_rows(scenario, run_dir)
    errors = sum(d["shares"]["hardware_errors"] for d in b["devices"])
    row(scenario, "hardware errors (CPU verification)", str(errors), "0", verdict(errors == 0))
    if scenario == "sustained":
        cpu = 100 * (b["cpu_seconds"] - a["cpu_seconds"]) / dt
        mining_cpu = any(d["kind"] == "cpu" for d in b["devices"])
        row(scenario, "daemon CPU", f"{cpu:.2f}% of one core" + (" (the CPU backend mines)" if mining_cpu else ""), "< 5%",
            "n/a" if mining_cpu else verdict(cpu < 5))
        before = a.get("thread_cpu_seconds", {})
        by_thread = sorted(((100 * (v - before.get(k, 0)) / dt, k) for k, v in b.get("thread_cpu_seconds", {}).items()), reverse=True)
        if by_thread:
            row(scenario, "daemon CPU by thread name", ", ".join(f"{name} {share:.2f}%" for share, name in by_thread[:6]))
        row(scenario, "daemon memory", f"RSS {b['rss_bytes'] / 1e6:.0f} MB, peak {b['hwm_bytes'] / 1e6:.0f} MB", "< 300 MB",
            verdict(b["hwm_bytes"] < 300e6))
    daemon_rc_row(scenario, rc)


def hashes_at(samples, t):
    """Linear interpolation of the sampled hash counter; None outside the samples."""
    for (t0, h0), (t1, h1) in zip(samples, samples[1:]):
        if t0 <= t <= t1:
            return h0 + (h1 - h0) * (t - t0) / (t1 - t0) if t1 > t0 else h0
    return None


def dag_text(snapshot):
    memories = [d["gpu_memory"] for d in snapshot["devices"] if d.get("gpu_memory")]
    return "; ".join(f"DAG builds {m['dag_builds']}, last {m['last_dag_build_seconds']:.3f} s" for m in memories)


def light_cache_text(log, epoch):
    found = [m for l in log if (m := LIGHT_CACHE.search(l)) and int(m[1]) == epoch]
    return f"light cache {epoch} {found[0][2]} in {found[0][3]} ms" if found else f"no light cache {epoch} line"


def epoch(label, run_dir, next_epoch, rc):
    """The gap from the pool's move (its own log line) to each device's first launch at the new epoch,
    and the hash counter's rate in the 10 s after the move against the 10 s before."""
    next_epoch, prepared, scenario = int(next_epoch), label == "prepared", "epoch"
    log = lines(f"{run_dir}/daemon.log")
    move = next((m for l in lines(f"{run_dir}/poolsim.log") if (m := POOL_MOVE.search(l)) and int(m[2]) == next_epoch), None)
    launches = [(m, l) for l in log if (m := FIRST_LAUNCH.search(l)) and int(m[2]) == next_epoch]
    target = "< 1 ms (as a job switch)" if prepared else ""
    if not move or not launches:
        row(scenario, f"hashing gap ({label})", f"no first launch at epoch {next_epoch} in daemon.log" if move else
            f"no move to epoch {next_epoch} in poolsim.log", target, "MISS")
    details = [light_cache_text(log, next_epoch)]
    if os.path.exists(f"{run_dir}/snap_end.json"):
        details.append(dag_text(load(f"{run_dir}/snap_end.json")))
    details = "; ".join(d for d in details if d)
    moved = datetime.datetime.strptime(move[1], "%Y-%m-%d %H:%M:%S.%f").timestamp() if move else None
    for m, l in launches if move else []:
        # The daemon's own figure runs from the pool's first job at the new epoch (the move's job,
        # here) to the first launch, whichever job the pool sent meanwhile.
        gap, text = float(m[4]), f"{float(m[4]):.3f} ms (move job {move[3]}, launched job {m[3]}; {details})"
        row(scenario, f"hashing gap ({label})" + (f" {m[1]}" if len(launches) > 1 else ""), text, target,
            verdict(gap < 1) if prepared else "")
    if moved and launches:
        # Until its first launch at the new epoch a device hashes the old epoch's job: the counter
        # goes on, the hashes are worthless. Only what follows the (last) device's first launch counts.
        switched = min(max(moved, max(log_time(l) for _, l in launches)), moved + 10)
        samples = [tuple(map(float, l.split())) for l in lines(f"{run_dir}/samples.txt")]
        h = [hashes_at(samples, t) for t in (moved - 10, moved, switched, moved + 10)]
        figure = f"rate on new work, 10 s after the move ({label})"
        if None in h or h[1] <= h[0]:
            row(scenario, figure, "n/a (too few counter samples around the move)", "", "n/a")
        else:
            before, after = (h[1] - h[0]) / 10, (h[3] - h[2]) / 10
            row(scenario, figure, f"{rate_text(after)} = {100 * after / before:.1f}% of the 10 s before "
                f"(all hashes: {100 * (h[3] - h[1]) / (h[1] - h[0]):.1f}%)", ">= 99%" if prepared else "",
                verdict(after >= 0.99 * before) if prepared else "")
    outcome_rows(scenario, run_dir, f" ({label})")
    daemon_rc_row(scenario, rc, f" ({label})")


def cold(label, run_dir, exec_time, rc):
    log = lines(f"{run_dir}/daemon.log")
    first = next(((m, l) for l in log if (m := FIRST_LAUNCH.search(l))), None)
    if not first:
        row("cold", f"exec to first launch ({label})", "no first-launch line in the log", "", "MISS")
        return
    start = next((l for l in log if " starting with " in l), None)
    exec_time = float(exec_time)
    parts = [f"process logging after {1e3 * (log_time(start) - exec_time):.0f} ms" if start else "no starting line",
             light_cache_text(log, int(first[0][2]))]
    if os.path.exists(f"{run_dir}/snap_end.json"):
        parts.append(dag_text(load(f"{run_dir}/snap_end.json")))
    parts.append(f"first launch {float(first[0][4]):.1f} ms after the pool's first job")
    row("cold", f"exec to first launch ({label})", f"{log_time(first[1]) - exec_time:.3f} s ({'; '.join(p for p in parts if p)})")
    daemon_rc_row("cold", rc, f" ({label})")


def ceiling(run_dir, bench_rc):
    probe = [l for l in lines(f"{run_dir}/ceiling.log") if l.startswith("ceiling_mhs=")]
    if probe:
        mhs = float(re.match(r"ceiling_mhs=([\d.]+)", probe[-1])[1])
        remember(ceiling_hps=mhs * 1e6)
        row("ceiling", "page-gather ceiling (ceiling probe)", rate_text(mhs * 1e6))
    elif os.path.exists(f"{run_dir}/ceiling.log"):
        row("ceiling", "page-gather ceiling (ceiling probe)", "no ceiling_mhs line in ceiling.log", "", "FAIL")
    else:
        row("ceiling", "page-gather ceiling (ceiling probe)", "skipped: CPU mode or no ceiling binary on the PATH", "", "n/a")
    try:
        bench = load(f"{run_dir}/bench.json")
    except (OSError, ValueError) as e:
        row("ceiling", "dagminer bench", f"rc={bench_rc}, no JSON ({e})", "", "FAIL")
        return
    hps, top = bench["mhs"] * 1e6, state().get("ceiling_hps")
    row("ceiling", f"dagminer bench ({bench['algo']} {bench['epoch']})",
        rate_text(hps) + (f" = {100 * hps / top:.1f}% of ceiling" if top else ""), ">= 99% of ceiling",
        verdict(hps >= 0.99 * top) if top else "n/a")
    remember(bench_hps=hps)


def table(path):
    rows = [l.rstrip("\n").split("\t") for l in lines(os.environ["E2E_ROWS"])]
    rows = [["scenario", "figure", "value", "target", ""]] + rows
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    text = "".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n" for r in rows)
    with open(path, "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    try:
        globals()[sys.argv[1]](*sys.argv[2:])
    except Exception as e:  # the table says so; the traceback goes to stderr
        if sys.argv[1] in ("snap", "sample", "table"):
            sys.exit(f"gpu-e2e: {sys.argv[1]}: {e}")
        row(os.environ["E2E_SCENARIO"], "FAILED", f"figures: {type(e).__name__}: {e}", "", "FAIL")
        raise
PY

note() { printf '%s\t%s\t%s\t\t%s\n' "$scen" "$1" "$2" "${3:-}" >> "$E2E_ROWS"; }
fail() { echo "gpu-e2e: $scen: $*" >&2; note FAILED "$*" FAIL; }

bg_pids=() pause_pid=
start_bg() {  # LOG COMMAND...: runs COMMAND in the background, output to LOG; its pid in $bg_pid
  local log=$1; shift
  "$@" > "$log" 2>&1 &
  bg_pid=$!
  bg_pids+=("$bg_pid")
}
stop_pid() {  # PID [SECONDS=30]: SIGINT (the daemon settles pending shares), SIGKILL after SECONDS; its status
  local pid=$1 limit=${2:-30} i
  if kill -INT "$pid" 2> /dev/null; then
    for ((i = 0; i < limit * 10; i++)); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2> /dev/null && { echo "gpu-e2e: pid $pid still runs ${limit} s after SIGINT: killed" >&2; kill -KILL "$pid"; }
  fi
  wait "$pid" 2> /dev/null
}
stop_all() {  # the last started first: the daemon before its pools
  local i
  for ((i = ${#bg_pids[@]} - 1; i >= 0; i--)); do stop_pid "${bg_pids[i]}"; done
  bg_pids=()
}
pause() { sleep "$1" & pause_pid=$!; wait "$pause_pid"; }  # a trapped signal ends wait at once, not sleep
finish() {
  trap - EXIT INT TERM
  [[ -n $pause_pid ]] && kill "$pause_pid" 2> /dev/null
  stop_all
  echo "==== gpu-e2e $(date -u '+%Y-%m-%d %H:%M UTC'): $ALGO epoch $EPOCH, devices $DEVICES, difficulty $DIFFICULTY," \
    "jobs every $JOB_INTERVAL ($LATENCY_JOB_INTERVAL in latency), warm-up $WARMUP_SECONDS s" | tee "$out/e2e-summary.txt"
  python3 "$py" table "$scratch/table.txt" && cat "$scratch/table.txt" >> "$out/e2e-summary.txt"
  tar -czf "$out/e2e-logs.tgz" -C "$out" e2e-logs && rm -rf "$logs"
  rm -rf "$scratch"
}
trap finish EXIT
trap 'fail interrupted; exit 130' INT TERM

wait_line() {  # FILE REGEX SECONDS PID: waits for a line of FILE matching REGEX (ERE) into $line; fails early if PID ends
  local file=$1 re=$2 deadline=$((SECONDS + $3)) pid=$4
  while ((SECONDS < deadline)); do
    line=$(grep -m 1 -E -- "$re" "$file" 2> /dev/null) && return 0
    kill -0 "$pid" 2> /dev/null || { line=$(grep -m 1 -E -- "$re" "$file" 2> /dev/null); return; }
    sleep 0.1
  done
  return 1
}
tell() { echo "gpu-e2e: $scen: $1 (last lines of $(basename "$2")):" >&2; tail -n 5 "$2" >&2; fail "$1"; }

start_pool() {  # LOG DIFFICULTY JOB_INTERVAL [POOLSIM OPTIONS...]: sets $pool_url and $pool_pid
  local log=$1 difficulty=$2 jobs=$3
  shift 3
  # --duration: a pool outliving a killed script stops on its own
  start_bg "$log" dagminer poolsim --port 0 --algo "$ALGO" --epoch "$EPOCH" --difficulty "$difficulty" \
    --job-interval "$jobs" --cache-dir "$cache" --duration 60m "$@"
  pool_pid=$bg_pid
  wait_line "$log" 'listening on stratum' "$READY_TIMEOUT" "$pool_pid" || { tell "the pool simulator did not start" "$log"; return 1; }
  pool_url=$(grep -o 'stratum+tcp://[^ ]*' <<< "$line")
}
pool_entry() { echo "  - {name: $1, url: \"$2\", user: e2e, algorithm: $ALGO${3:+, weight: $3}}"; }

start_daemon() {  # DIR LIGHT_CACHE_DIR POOLS_YAML [EXTRA_YAML]: writes DIR/config.yaml, starts the daemon, waits
  # for its first launch; sets $daemon_pid, $api (http://host:port) and $exec_time
  local dir=$1
  cat > "$dir/config.yaml" <<YAML
pools:
$3
devices: $DEVICES
light_cache_dir: $2
summary_interval: 10s
share_journal: $dir/shares.jsonl
api: {listen: "127.0.0.1:0"}
${4:-}
YAML
  exec_time=$(date +%s.%N)
  start_bg "$dir/daemon.log" dagminer run --config "$dir/config.yaml"
  daemon_pid=$bg_pid
  wait_line "$dir/daemon.log" 'api: listening on ' 30 "$daemon_pid" || { tell "no API line from the daemon" "$dir/daemon.log"; return 1; }
  api=$(sed -E 's/.*api: listening on (http:\/\/)?([^ ]+).*/http:\/\/\2/' <<< "$line")
  wait_line "$dir/daemon.log" 'first launch .* after the|ready: the devices have work' "$READY_TIMEOUT" "$daemon_pid" ||
    { tell "the daemon did not start mining within $READY_TIMEOUT s" "$dir/daemon.log"; return 1; }
}
stop_daemon() { stop_pid "$daemon_pid" 60; daemon_rc=$?; }

measure() {  # DIR SECONDS: the warm-up, then API and /proc snapshots at both ends of the rest
  local dir=$1 seconds=$2
  ((seconds > WARMUP_SECONDS)) || { fail "$seconds s leaves no window after the $WARMUP_SECONDS s warm-up"; return 1; }
  pause "$WARMUP_SECONDS"
  wait_tuned "$dir/daemon.log" || return 1
  snapshot "$dir/snap_a.json" || return 1
  pause $((seconds - WARMUP_SECONDS))
  snapshot "$dir/snap_b.json"
}
wait_tuned() {  # LOG: the warm-up lasts until every GPU tuning its launch shape online has kept one (the
  # candidate shapes take turns for about a minute on a card's first start): the window measures the shape kept
  local deadline=$((SECONDS + 300))
  while (($(grep -c 'tuning its launch shape' "$1") > $(grep -c 'launch shape tuned, kept' "$1"))); do
    ((SECONDS < deadline)) || { tell "online tuning did not end within 300 s" "$1"; return 1; }
    kill -0 "$daemon_pid" 2> /dev/null || { tell "the daemon ended while tuning" "$1"; return 1; }
    sleep 1
  done
}
snapshot() {  # FILE: the daemon's API and /proc figures now
  python3 "$py" snap "$api" "$daemon_pid" "$1" && return
  kill -0 "$daemon_pid" 2> /dev/null || { wait "$daemon_pid"; tell "the daemon ended early (exit status $?)" "$(dirname "$1")/daemon.log"; return 1; }
  tell "no API snapshot" "$(dirname "$1")/daemon.log"
  return 1
}

scenario_ceiling() {
  local dir=$logs/ceiling rc device=()
  mkdir -p "$dir"
  [[ $DEVICES != cpu ]] && command -v ceiling > /dev/null && { ceiling > "$dir/ceiling.log" 2>&1 || echo "ceiling: exit status $?" >> "$dir/ceiling.log"; }
  [[ $DEVICES == cpu ]] && device=(--device cpu)
  timeout 300 dagminer bench --json --algo "$ALGO" --epoch "$EPOCH" --seconds "$BENCH_SECONDS" "${device[@]}" \
    --cache-dir "$cache" > "$dir/bench.json" 2> "$dir/bench.err"
  rc=$?
  python3 "$py" ceiling "$dir" "$rc"
}

one_pool() {  # SECONDS JOB_INTERVAL: the daemon mining one pool, measured over a window
  local dir=$logs/$scen
  mkdir -p "$dir"
  start_pool "$dir/poolsim.log" "$DIFFICULTY" "$2" || return 1
  start_daemon "$dir" "$cache" "$(pool_entry sim "$pool_url")" || return 1
  measure "$dir" "$1" || return 1
  stop_daemon
  stop_pid "$pool_pid"
  python3 "$py" mining "$scen" "$dir" "$daemon_rc"
}
scenario_sustained() { one_pool "$SUSTAINED_SECONDS" "$JOB_INTERVAL"; }
scenario_latency() { one_pool "$LATENCY_SECONDS" "$LATENCY_JOB_INTERVAL"; }

scenario_split() {
  local dir=$logs/split pools= w
  mkdir -p "$dir"
  note "share difficulty" "$SPLIT_DIFFICULTY"
  for w in 50 30 20; do  # the first builds the light cache, the others load it
    start_pool "$dir/poolsim$w.log" "$SPLIT_DIFFICULTY" "$JOB_INTERVAL" || return 1
    pools+=$(pool_entry "w$w" "$pool_url" "$w")$'\n'
  done
  start_daemon "$dir" "$cache" "$pools" "strategy: split" || return 1
  measure "$dir" "$SPLIT_SECONDS" || return 1
  stop_daemon
  stop_all
  python3 "$py" mining split "$dir" "$daemon_rc" "w50:50,w30:30,w20:20"
}

epoch_run() {  # LABEL LIGHT_CACHE_DIR [EXTRA_YAML]: the pool moves to the next epoch EPOCH_MOVE_AFTER s after it starts
  local label=$1 dir=$logs/epoch-$1 next=$((EPOCH + 1)) sampler
  mkdir -p "$dir"
  start_pool "$dir/poolsim.log" "$DIFFICULTY" "$JOB_INTERVAL" --next-epoch "$next" --next-epoch-after "${EPOCH_MOVE_AFTER}s" || return 1
  start_daemon "$dir" "$2" "$(pool_entry sim "$pool_url")" "${3:-}" || return 1
  start_bg "$dir/sampler.log" python3 "$py" sample "$api" "$dir/samples.txt"
  sampler=$bg_pid
  wait_line "$dir/poolsim.log" "moved to .*epoch $next" $((EPOCH_MOVE_AFTER + READY_TIMEOUT)) "$pool_pid" ||
    { tell "the pool did not move to epoch $next" "$dir/poolsim.log"; return 1; }
  pause "$EPOCH_TAIL_SECONDS"
  snapshot "$dir/snap_end.json"
  stop_pid "$sampler"
  stop_daemon
  stop_pid "$pool_pid"
  python3 "$py" epoch "$label" "$dir" "$next" "$daemon_rc"
}
scenario_epoch() {
  dagminer poolsim --help 2>&1 | grep -q -- --next-epoch-after || { fail "dagminer poolsim has no --next-epoch-after option"; return 1; }
  epoch_run prepared "$cache"
  stop_all
  # Nothing prepared: a light cache folder holding only the current epoch's (copied to spare its build).
  local fresh=$scratch/epoch-unprepared
  mkdir -p "$fresh"
  cp "$cache/$ALGO-$EPOCH.lightcache" "$fresh/" 2> /dev/null
  epoch_run unprepared "$fresh" "prepare_next_epoch: false"
}

cold_run() {  # LABEL LIGHT_CACHE_DIR: one start of the daemon against the running pool, stopped at its first launch
  local dir=$logs/cold-$1
  mkdir -p "$dir"
  start_daemon "$dir" "$2" "$(pool_entry sim "$pool_url")" || return 1
  wait_line "$dir/daemon.log" 'first launch .* after the' 30 "$daemon_pid" || echo "gpu-e2e: cold $1: no first-launch line" >&2
  snapshot "$dir/snap_end.json"
  stop_daemon
  python3 "$py" cold "$1" "$dir" "$exec_time" "$daemon_rc"
}
scenario_cold() {
  mkdir -p "$logs/cold-cached" "$scratch/cold-empty"
  start_pool "$logs/cold-cached/poolsim.log" "$DIFFICULTY" "$JOB_INTERVAL" || return 1
  cold_run cached "$cache"
  cold_run empty "$scratch/cold-empty"
}

estimate=0  # rough seconds per scenario on the GPU, so a caller can keep within its time limit
for s in "$@"; do
  case $s in
    ceiling) ((estimate += 60 + BENCH_SECONDS)) ;;
    sustained) ((estimate += 10 + SUSTAINED_SECONDS)) ;;
    latency) ((estimate += 10 + LATENCY_SECONDS)) ;;
    split) ((estimate += 15 + SPLIT_SECONDS)) ;;
    epoch) ((estimate += 2 * (15 + EPOCH_MOVE_AFTER + EPOCH_TAIL_SECONDS))) ;;
    cold) ((estimate += 30)) ;;
  esac
done
echo "gpu-e2e: $*: about $((estimate / 60)) min $((estimate % 60)) s" >&2
for scen in "$@"; do
  export E2E_SCENARIO=$scen
  echo "gpu-e2e: $scen ($(date +%T))" >&2
  "scenario_$scen" || echo "gpu-e2e: $scen did not finish" >&2
  stop_all
done
