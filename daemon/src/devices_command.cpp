// `dagminer devices`: the GPUs CUDA reports (or why there are none) and the CPU backend.
#include <cstdio>

#include <boost/json.hpp>

#include "commands.hpp"
#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/gpu/architectures.hpp"
#include "dagminer/gpu/gpu_device.hpp"

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

int run_devices(bool json) {
  const gpu::GpuListing gpus = gpu::discover_gpus();
  const DeviceInfo cpu = CpuSearchDevice().describe();
  if (json) {
    boost::json::array list;
    for (const auto& d : gpus.devices) list.push_back(to_json(d));
    list.push_back(to_json(cpu));
    boost::json::object out;
    out["devices"] = std::move(list);
    if (gpus.devices.empty()) out["gpu_error"] = gpus.error;
    std::printf("%s\n", boost::json::serialize(out).c_str());
    return 0;
  }
  for (const auto& d : gpus.devices)
    std::printf("%-6s %-32s %8.1f GiB  compute %s  %s\n", d.id.c_str(), d.name.c_str(),
                static_cast<double>(d.memory_bytes) / (1u << 30), d.compute_capability.c_str(),
                gpu::device_code(d.compute_capability, gpu::embedded_code()).text.c_str());
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
