// NVML (the driver's management library), loaded at run time: the daemon runs where the driver
// is missing or older, and Debian has no NVML header, so the few entry points used are declared
// in nvml.cpp. Plain C++; no CUDA headers.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "dagminer/core/telemetry.hpp"

namespace dagminer::gpu {

// The library dlopen()s: DAGMINER_NVML_LIBRARY when set (a driver in an unusual place), else
// libnvidia-ml.so.1.
std::string nvml_library_name();

// The readings of the GPU at this PCI bus id, as CUDA names it ("0000:3B:00.0"), the energy
// counter read at most once an energy_period. Throws std::runtime_error saying why when NVML
// cannot be loaded, initialised or does not know the GPU.
std::unique_ptr<TelemetrySource> open_nvml_telemetry(const std::string& pci_bus_id, std::chrono::milliseconds energy_period);

}  // namespace dagminer::gpu
