#include "nvml.hpp"

#include <cstdlib>
#include <stdexcept>

#include <dlfcn.h>

namespace dagminer::gpu {
namespace {

// The NVML ABI used here, as the driver's nvml.h declares it.
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t nvml_success = 0;
constexpr int nvml_temperature_gpu = 0;
constexpr int nvml_clock_sm = 1;
constexpr int nvml_clock_mem = 2;
constexpr int nvml_memory_error_corrected = 0;
constexpr int nvml_memory_error_uncorrected = 1;
constexpr int nvml_volatile_ecc = 0;  // since the driver was loaded
constexpr unsigned nvml_field_memory_temperature = 82;

struct nvmlUtilization_t {
  unsigned gpu;
  unsigned memory;
};
union nvmlValue_t {
  double d;
  unsigned ui;
  unsigned long ul;
  unsigned long long ull;
  long long sll;
  int si;
};
enum nvmlValueType_t : int { value_double, value_uint, value_ulong, value_ulonglong, value_slonglong, value_sint };
struct nvmlFieldValue_t {
  unsigned fieldId;
  unsigned scopeId;
  long long timestamp;
  long long latencyUsec;
  nvmlValueType_t valueType;
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
};

// The entry points, resolved once per process; the library stays loaded and initialised for
// the process's life (nvmlShutdown at exit would race the telemetry threads).
struct Nvml {
  std::string error;  // why NVML cannot be used; empty when it can
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*handle_by_pci_bus_id)(const char*, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*field_values)(nvmlDevice_t, int, nvmlFieldValue_t*) = nullptr;
  nvmlReturn_t (*power_usage)(nvmlDevice_t, unsigned*) = nullptr;              // mW
  nvmlReturn_t (*enforced_power_limit)(nvmlDevice_t, unsigned*) = nullptr;     // mW
  nvmlReturn_t (*total_energy)(nvmlDevice_t, unsigned long long*) = nullptr;   // mJ
  nvmlReturn_t (*clock_info)(nvmlDevice_t, int, unsigned*) = nullptr;          // MHz
  nvmlReturn_t (*clock_reasons)(nvmlDevice_t, unsigned long long*) = nullptr;  // ThrottleReason bits
  nvmlReturn_t (*fan_speed)(nvmlDevice_t, unsigned*) = nullptr;                // percent
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;     // percent
  nvmlReturn_t (*ecc_errors)(nvmlDevice_t, int, int, unsigned long long*) = nullptr;
  nvmlReturn_t (*pcie_generation)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*pcie_width)(nvmlDevice_t, unsigned*) = nullptr;

  std::string describe(nvmlReturn_t status) const {
    return std::string(error_string ? error_string(status) : "error") + " (NVML " + std::to_string(status) + ")";
  }
};

template <typename F>
bool resolve(void* library, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(library, name));
  return out != nullptr;
}

Nvml load() {
  Nvml n;
  const std::string name = nvml_library_name();
  void* library = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char* why = dlerror();
    n.error = "NVML: cannot load " + name + ": " + (why ? why : "unknown error");
    return n;
  }
  nvmlReturn_t (*init)() = nullptr;
  std::string missing;
  const auto need = [&](const char* symbol, auto& fn) {
    if (!resolve(library, symbol, fn)) missing += (missing.empty() ? "" : ", ") + std::string(symbol);
  };
  need("nvmlInit_v2", init);
  need("nvmlErrorString", n.error_string);
  need("nvmlDeviceGetHandleByPciBusId_v2", n.handle_by_pci_bus_id);
  need("nvmlDeviceGetTemperature", n.temperature);
  need("nvmlDeviceGetPowerUsage", n.power_usage);
  if (!missing.empty()) {
    n.error = "NVML: " + name + " lacks " + missing;
    return n;
  }
  // The rest are optional: an older driver reports less.
  resolve(library, "nvmlDeviceGetFieldValues", n.field_values);
  resolve(library, "nvmlDeviceGetEnforcedPowerLimit", n.enforced_power_limit);
  resolve(library, "nvmlDeviceGetTotalEnergyConsumption", n.total_energy);
  resolve(library, "nvmlDeviceGetClockInfo", n.clock_info);
  // Renamed in newer drivers; the old name stays as an alias there.
  if (!resolve(library, "nvmlDeviceGetCurrentClocksEventReasons", n.clock_reasons))
    resolve(library, "nvmlDeviceGetCurrentClocksThrottleReasons", n.clock_reasons);
  resolve(library, "nvmlDeviceGetFanSpeed", n.fan_speed);
  resolve(library, "nvmlDeviceGetUtilizationRates", n.utilization);
  resolve(library, "nvmlDeviceGetTotalEccErrors", n.ecc_errors);
  resolve(library, "nvmlDeviceGetCurrPcieLinkGeneration", n.pcie_generation);
  resolve(library, "nvmlDeviceGetCurrPcieLinkWidth", n.pcie_width);
  if (const nvmlReturn_t status = init(); status != nvml_success) n.error = "NVML: nvmlInit failed: " + n.describe(status);
  return n;
}

const Nvml& nvml() {
  static const Nvml loaded = load();
  return loaded;
}

// Calls an optional entry point; the reading is set only when the card reports it.
template <typename T, typename Fn, typename... Args>
std::optional<T> query(Fn fn, nvmlDevice_t device, Args... args) {
  if (!fn) return std::nullopt;
  T value{};
  if (fn(device, args..., &value) != nvml_success) return std::nullopt;
  return value;
}

std::optional<double> field_as_double(const nvmlFieldValue_t& f) {
  if (f.nvmlReturn != nvml_success) return std::nullopt;
  switch (f.valueType) {
    case value_double: return f.value.d;
    case value_uint: return f.value.ui;
    case value_ulong: return static_cast<double>(f.value.ul);
    case value_ulonglong: return static_cast<double>(f.value.ull);
    case value_slonglong: return static_cast<double>(f.value.sll);
    case value_sint: return f.value.si;
  }
  return std::nullopt;
}

class NvmlTelemetry final : public TelemetrySource {
 public:
  NvmlTelemetry(nvmlDevice_t device, std::chrono::milliseconds energy_period) : device_(device), energy_period_(energy_period) {}

  std::optional<DeviceTelemetry> read() override {
    const Nvml& n = nvml();
    DeviceTelemetry t;
    t.temperature_c = query<unsigned>(n.temperature, device_, nvml_temperature_gpu);
    if (n.field_values) {
      nvmlFieldValue_t field{};
      field.fieldId = nvml_field_memory_temperature;
      if (n.field_values(device_, 1, &field) == nvml_success) t.memory_temperature_c = field_as_double(field);
    }
    if (const auto mw = query<unsigned>(n.power_usage, device_)) t.power_w = *mw / 1000.0;
    if (const auto mw = query<unsigned>(n.enforced_power_limit, device_)) t.power_limit_w = *mw / 1000.0;
    if (const auto now = std::chrono::steady_clock::now(); !energy_read_ || now - *energy_read_ >= energy_period_) {
      energy_read_ = now;
      const auto mj = query<unsigned long long>(n.total_energy, device_);
      energy_j_ = mj ? std::optional<double>(static_cast<double>(*mj) / 1000.0) : std::nullopt;
    }
    t.energy_j = energy_j_;
    t.sm_clock_mhz = query<unsigned>(n.clock_info, device_, nvml_clock_sm);
    t.memory_clock_mhz = query<unsigned>(n.clock_info, device_, nvml_clock_mem);
    t.throttle_reasons = query<unsigned long long>(n.clock_reasons, device_);
    t.fan_percent = query<unsigned>(n.fan_speed, device_);
    if (const auto u = query<nvmlUtilization_t>(n.utilization, device_)) t.utilization_percent = u->gpu;
    t.ecc_corrected = query<unsigned long long>(n.ecc_errors, device_, nvml_memory_error_corrected, nvml_volatile_ecc);
    t.ecc_uncorrected = query<unsigned long long>(n.ecc_errors, device_, nvml_memory_error_uncorrected, nvml_volatile_ecc);
    t.pcie_generation = query<unsigned>(n.pcie_generation, device_);
    t.pcie_width = query<unsigned>(n.pcie_width, device_);
    if (!t.temperature_c && !t.power_w && !t.sm_clock_mhz) return std::nullopt;  // the GPU answers nothing (lost)
    return t;
  }

 private:
  nvmlDevice_t device_;
  // The energy counter costs the driver 3.8 ms of CPU a read (an H100, driver 580), over 20 times
  // all the other readings together: it is read once a period, and the last value repeated between.
  std::chrono::milliseconds energy_period_;
  std::optional<std::chrono::steady_clock::time_point> energy_read_;
  std::optional<double> energy_j_;
};

}  // namespace

std::string nvml_library_name() {
  const char* configured = std::getenv("DAGMINER_NVML_LIBRARY");
  return configured && *configured ? configured : "libnvidia-ml.so.1";
}

std::unique_ptr<TelemetrySource> open_nvml_telemetry(const std::string& pci_bus_id, std::chrono::milliseconds energy_period) {
  const Nvml& n = nvml();
  if (!n.error.empty()) throw std::runtime_error(n.error);
  nvmlDevice_t device = nullptr;
  if (const nvmlReturn_t status = n.handle_by_pci_bus_id(pci_bus_id.c_str(), &device); status != nvml_success)
    throw std::runtime_error("NVML: no device at PCI bus id " + pci_bus_id + ": " + n.describe(status));
  return std::make_unique<NvmlTelemetry>(device, energy_period);
}

}  // namespace dagminer::gpu
