#!/usr/bin/env python3
# usage, on a GPU machine: gpu/tools/nvml_cost.py (GPU 0)
# Per-call cost of each NVML query the health sampler makes (CPU and wall time, 300 calls each).
import ctypes as C, time
n = C.CDLL("libnvidia-ml.so.1")
assert n.nvmlInit_v2() == 0
dev = C.c_void_p()
assert n.nvmlDeviceGetHandleByIndex_v2(0, C.byref(dev)) == 0
u = C.c_uint(); ull = C.c_ulonglong()
class Field(C.Structure):
    _fields_ = [("fieldId", C.c_uint), ("scopeId", C.c_uint), ("timestamp", C.c_longlong), ("latency", C.c_longlong),
                ("valueType", C.c_int), ("ret", C.c_int), ("value", C.c_ulonglong)]
util = (C.c_uint * 2)(); f2 = (Field * 2)()
def fv(ids):
    def call():
        for i, id in enumerate(ids): f2[i].fieldId = id
        r = n.nvmlDeviceGetFieldValues(dev, len(ids), f2)
        return (r, [(x.ret, x.valueType, x.value) for x in f2[:len(ids)]])
    return call
q = {
  "temperature": lambda: n.nvmlDeviceGetTemperature(dev, 0, C.byref(u)),
  "field memory temp": fv([82]),
  "field energy (83)": fv([83]),
  "fields 82+83": fv([82, 83]),
  "power usage": lambda: n.nvmlDeviceGetPowerUsage(dev, C.byref(u)),
  "enforced power limit": lambda: n.nvmlDeviceGetEnforcedPowerLimit(dev, C.byref(u)),
  "total energy": lambda: n.nvmlDeviceGetTotalEnergyConsumption(dev, C.byref(ull)),
  "clock sm": lambda: n.nvmlDeviceGetClockInfo(dev, 1, C.byref(u)),
  "clock mem": lambda: n.nvmlDeviceGetClockInfo(dev, 2, C.byref(u)),
  "clock event reasons": lambda: n.nvmlDeviceGetCurrentClocksEventReasons(dev, C.byref(ull)),
  "fan speed": lambda: n.nvmlDeviceGetFanSpeed(dev, C.byref(u)),
  "utilization": lambda: n.nvmlDeviceGetUtilizationRates(dev, util),
  "ecc corrected": lambda: n.nvmlDeviceGetTotalEccErrors(dev, 0, 0, C.byref(ull)),
  "ecc uncorrected": lambda: n.nvmlDeviceGetTotalEccErrors(dev, 1, 0, C.byref(ull)),
  "pcie generation": lambda: n.nvmlDeviceGetCurrPcieLinkGeneration(dev, C.byref(u)),
  "pcie width": lambda: n.nvmlDeviceGetCurrPcieLinkWidth(dev, C.byref(u)),
}
N = 300
tc = tw = 0
for name, fn in q.items():
    r = fn(); c0 = time.process_time(); w0 = time.perf_counter()
    for _ in range(N): fn()
    c = (time.process_time() - c0) / N * 1e6; w = (time.perf_counter() - w0) / N * 1e6
    tc += c; tw += w
    print(f"{name:<22} rc={r}  cpu {c:8.1f} us  wall {w:8.1f} us")
print(f"{'all':<22}       cpu {tc:8.1f} us  wall {tw:8.1f} us")
