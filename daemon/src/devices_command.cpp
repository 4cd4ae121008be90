// `dagminer devices`: the GPUs CUDA reports (or why there are none) and the CPU backend.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/fmt/fmt.h>

#include <boost/json.hpp>

#include "commands.hpp"
#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/daemon/api_json.hpp"
#include "dagminer/gpu/architectures.hpp"
#include "dagminer/gpu/gpu_device.hpp"
#include "dagminer/gpu/gpu_telemetry.hpp"

namespace dagminer::cli {
namespace {

boost::json::object to_json(const DeviceInfo& d) {
  boost::json::object o;
  o["id"] = d.id;
  o["kind"] = d.kind;
  o["name"] = d.name;
  o["memory_bytes"] = d.memory_bytes;
  if (!d.compute_capability.empty()) {
    o["compute_capability"] = d.compute_capability;
    const gpu::DeviceCode code = gpu::device_code(d.compute_capability, gpu::embedded_code());
    o["code"] = code.text;
    o["supported"] = code.runs();
  }
  return o;
}

// One reading of a GPU's telemetry, or why there is none.
struct GpuReading {
  std::optional<DeviceTelemetry> telemetry;
  std::string error;
};

GpuReading read_gpu(int index) {
  auto open = gpu::open_gpu_telemetry(index);
  if (!open.source) return {std::nullopt, std::move(open.error)};
  auto reading = open.source->read();
  return {reading, reading ? "" : "NVML answered no reading"};
}

// "42°C mem 45°C  95W of 700W  SM 1980 MHz mem 2619 MHz  PCIe 5 x16  util 0%  reasons: gpu_idle"
std::string telemetry_text(const DeviceTelemetry& t) {
  std::string out;
  const auto add = [&out](const std::string& part) { out += (out.empty() ? "" : "  ") + part; };
  if (t.temperature_c)
    add(fmt::format("{:.0f}°C", *t.temperature_c) +
        (t.memory_temperature_c ? fmt::format(" mem {:.0f}°C", *t.memory_temperature_c) : ""));
  if (t.power_w) add(fmt::format("{:.0f}W", *t.power_w) + (t.power_limit_w ? fmt::format(" of {:.0f}W", *t.power_limit_w) : ""));
  if (t.sm_clock_mhz)
    add(fmt::format("SM {} MHz", *t.sm_clock_mhz) + (t.memory_clock_mhz ? fmt::format(" mem {} MHz", *t.memory_clock_mhz) : ""));
  if (t.fan_percent) add(fmt::format("fan {:.0f}%", *t.fan_percent));
  if (t.utilization_percent) add(fmt::format("util {:.0f}%", *t.utilization_percent));
  if (t.pcie_generation && t.pcie_width) add(fmt::format("PCIe {} x{}", *t.pcie_generation, *t.pcie_width));
  if (t.ecc_corrected || t.ecc_uncorrected)
    add(fmt::format("ECC {}/{}", t.ecc_corrected.value_or(0), t.ecc_uncorrected.value_or(0)));
  if (t.throttle_reasons) {
    std::string words;
    for (const auto w : throttle_reason_names(*t.throttle_reasons)) words += (words.empty() ? "" : ",") + std::string(w);
    add("reasons: " + (words.empty() ? "none" : words));
  }
  return out;
}

int run_devices(bool json) {
  const gpu::GpuListing gpus = gpu::discover_gpus();
  const DeviceInfo cpu = CpuSearchDevice().describe();
  std::vector<GpuReading> readings;
  for (std::size_t i = 0; i < gpus.devices.size(); ++i) readings.push_back(read_gpu(static_cast<int>(i)));
  if (json) {
    boost::json::array list;
    for (std::size_t i = 0; i < gpus.devices.size(); ++i) {
      auto o = to_json(gpus.devices[i]);
      o["telemetry"] = telemetry_json(readings[i].telemetry, std::nullopt);
      if (!readings[i].error.empty()) o["telemetry_error"] = readings[i].error;
      list.push_back(std::move(o));
    }
    list.push_back(to_json(cpu));
    boost::json::object out;
    out["devices"] = std::move(list);
    if (gpus.devices.empty()) out["gpu_error"] = gpus.error;
    std::printf("%s\n", boost::json::serialize(out).c_str());
    return 0;
  }
  for (std::size_t i = 0; i < gpus.devices.size(); ++i) {
    const auto& d = gpus.devices[i];
    std::printf("%-6s %-32s %8.1f GiB  compute %s  %s\n", d.id.c_str(), d.name.c_str(),
                static_cast<double>(d.memory_bytes) / (1u << 30), d.compute_capability.c_str(),
                gpu::device_code(d.compute_capability, gpu::embedded_code()).text.c_str());
    if (readings[i].telemetry) std::printf("      %s\n", telemetry_text(*readings[i].telemetry).c_str());
    else std::printf("      no telemetry: %s\n", readings[i].error.c_str());
  }
  if (gpus.devices.empty()) std::printf("no GPUs: %s\n", gpus.error.c_str());
  std::printf("%-6s %-32s %8.1f GiB  (CPU backend)\n", cpu.id.c_str(), cpu.name.c_str(),
              static_cast<double>(cpu.memory_bytes) / (1u << 30));
  return 0;
}

}  // namespace

Runner add_devices_command(CLI::App& root) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = root.add_subcommand("devices", "List the GPUs and the CPU backend this machine can mine on");
  cmd->add_flag("--json", *json, "print JSON");
  return [json] { return run_devices(*json); };
}

}  // namespace dagminer::cli
