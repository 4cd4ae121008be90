#!/usr/bin/env bash
# Hardware health on a GPU machine (issue 13): NVML's readings, the daemon mining a local
# `dagminer poolsim` (Etchash epoch 431) while /api/v1/devices and /metrics are read, NVML hidden
# (DAGMINER_NVML_LIBRARY pointing at a missing file), and injected faults end to end with the exit
# status (under systemd-run where systemd is PID 1). bench/gpu-notes.md has the figures.
#
#   usage: tests/gpu/health_e2e.sh [STEP...]   (default: every step)
#   steps: ceiling tests devices mining nonvml faults
# dagminer, gpu_health_tests and ceiling come from the PATH (../shared/device/pack puts them in a
# folder with an env.sh). OUT (default /tmp/dagminer-health) receives a short console log and
# health-logs.tgz with every log, API answer and /metrics text.
set -u
(($#)) || set -- ceiling tests devices mining nonvml faults
steps=" $* "
has() { [[ $steps == *" $1 "* ]]; }
O=${OUT:-/tmp/dagminer-health}/health-logs; mkdir -p "$O"
LC=/tmp/dagminer-health-lc; mkdir -p "$LC"  # light caches (70 MB) stay out of OUT
export XDG_CACHE_HOME=/tmp/dagminer-health-xdg
api() { python3 - "$1" <<'PY'
import sys, urllib.request
try:
    print(urllib.request.urlopen("http://127.0.0.1:4067" + sys.argv[1], timeout=5).read().decode())
except Exception as e:
    print("ERROR", e)
PY
}
conf() {  # conf FILE
  cat > "$1" <<YAML
pools:
  - name: sim
    url: stratum2+tcp://127.0.0.1:4444
    user: 0x0123456789abcdef0123456789abcdef01234567
    algorithm: etchash
devices: all
light_cache_dir: $LC
summary_interval: 10s
api:
  listen: 127.0.0.1:4067
YAML
}
wait_mining() {  # until the API shows a hashrate, at most $1 s
  for _ in $(seq "$1"); do
    api /api/v1/summary | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["hashrate"]>0 else 1)' 2>/dev/null && return 0
    sleep 1
  done; return 1
}
nvidia-smi --query-gpu=timestamp,temperature.gpu,temperature.memory,power.draw,power.limit,clocks.sm,clocks.mem,clocks_event_reasons.active,utilization.gpu --format=csv -lms 1000 > "$O/smi.csv" 2>&1 &
SMI=$!
echo "== pid1: $(ps -p 1 -o comm=); systemd-run: $(command -v systemd-run || echo none); systemd-analyze: $(command -v systemd-analyze || echo none)" | tee "$O/env.txt"

has ceiling && { echo "== ceiling"; timeout 60 ceiling 4689231488 30 > "$O/ceiling.log" 2>&1; tail -3 "$O/ceiling.log"; }
has tests && { echo "== gpu_health_tests"; timeout 120 gpu_health_tests > "$O/gpu_health_tests.log" 2>&1; echo "rc=$?"; grep -E "^\[  |while mining" "$O/gpu_health_tests.log"; }
has devices && { echo "== devices"; dagminer devices > "$O/devices.txt" 2>&1; cat "$O/devices.txt"; dagminer devices --json > "$O/devices.json" 2>&1
echo "== devices without NVML"; DAGMINER_NVML_LIBRARY=libnvidia-ml-absent.so.1 dagminer devices > "$O/devices-no-nvml.txt" 2>&1; echo "rc=$?"; cat "$O/devices-no-nvml.txt"
DAGMINER_NVML_LIBRARY=libnvidia-ml-absent.so.1 dagminer devices --json > "$O/devices-no-nvml.json" 2>&1; }

dagminer poolsim --port 4444 --algo etchash --epoch 431 --difficulty 0.05 --job-interval 10s --cache-dir "$LC" > "$O/poolsim.log" 2>&1 &
PS=$!
conf "$O/dagminer.yaml"
if has mining; then
echo "== mining 60 s"
dagminer run -c "$O/dagminer.yaml" > "$O/run.log" 2>&1 &
D=$!
wait_mining 90; echo "mining after ${SECONDS}s (script clock)"
sleep 25; api /api/v1/devices > "$O/devices-api-1.json"; api /metrics > "$O/metrics-1.txt"
sleep 30; api /api/v1/devices > "$O/devices-api-2.json"; api /metrics > "$O/metrics-2.txt"; api /api/v1/summary > "$O/summary.json"
kill -TERM $D; wait $D; echo "daemon rc=$?"
grep -E "speed|faulted|telemetry" "$O/run.log" | tail -4
python3 - "$O/devices-api-2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["devices"][0]
t = d["telemetry"] or {}
print("while mining: %.1f MH/s, core %s °C, memory %s °C, %s W of %s W, SM %s MHz, memory %s MHz, util %s%%, reasons %s, %.3f MH/J"
      % (d["hashrate"] / 1e6, t.get("temperature_c"), t.get("memory_temperature_c"), t.get("power_w"), t.get("power_limit_w"),
         t.get("sm_clock_mhz"), t.get("memory_clock_mhz"), t.get("utilization_percent"), t.get("throttle_reasons"), t.get("mh_per_j") or 0))
print("the API says sw_power_cap:", "yes" if "sw_power_cap" in (t.get("throttle_reasons") or []) else "NO")
PY
fi

if has nonvml; then
echo "== mining without NVML"
DAGMINER_NVML_LIBRARY=libnvidia-ml-absent.so.1 dagminer run -c "$O/dagminer.yaml" > "$O/run-no-nvml.log" 2>&1 &
D=$!
wait_mining 60; sleep 6; api /api/v1/devices > "$O/devices-api-no-nvml.json"; api /metrics > "$O/metrics-no-nvml.txt"
kill -TERM $D; wait $D; echo "daemon rc=$?"; grep -E "telemetry|speed" "$O/run-no-nvml.log" | tail -3
fi

fault_run() {  # fault_run NAME SPEC TIMEOUT
  echo "== fault $1 ($2)"
  local t0=$SECONDS
  if [[ "$(ps -p 1 -o comm=)" == systemd ]] && command -v systemd-run > /dev/null; then
    systemd-run --unit="h13-$1" --property=Type=notify --property=NotifyAccess=main --property=Restart=on-failure \
      --property=RestartSec=2s --property=RestartForceExitStatus=75 --setenv=DAGMINER_INJECT_GPU_FAULT="$2" \
      --setenv=LD_LIBRARY_PATH="$LD_LIBRARY_PATH" "$(command -v dagminer)" run -c "$O/dagminer.yaml"
    sleep "$3"; systemctl show "h13-$1" -p NRestarts -p ExecMainStatus -p Result -p ActiveState | tee "$O/fault-$1-systemd.txt"
    systemctl stop "h13-$1"; journalctl -u "h13-$1" --no-pager > "$O/fault-$1.log" 2>&1
  else
    DAGMINER_INJECT_GPU_FAULT="$2" timeout "$3" dagminer run -c "$O/dagminer.yaml" > "$O/fault-$1.log" 2>&1
    echo "exit status $? after $((SECONDS - t0)) s" | tee "$O/fault-$1-status.txt"
  fi
  grep -E "faulted|critical|settl|shares|exit status|stopped" "$O/fault-$1.log" | tail -8
}
fault_run illegal gpu0=illegal_address@4000 120
fault_run hang gpu0=hang@2000 120
kill -TERM $PS; wait $PS
command -v systemd-analyze > /dev/null && { systemd-analyze verify systemd/dagminer.service > "$O/verify.txt" 2>&1; echo "verify rc=$?"; cat "$O/verify.txt" | head; }
kill $SMI
echo "== done after ${SECONDS}s"
