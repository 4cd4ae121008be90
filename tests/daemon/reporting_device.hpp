// A CPU search device whose telemetry and fault the test sets: what the GPU backend's status()
// reports, on a machine without a GPU. The hashing is the real CPU backend's.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dagminer/core/cpu_backend.hpp"
#include "dagminer/core/device.hpp"

namespace dagminer::test {

// Readings the test sets (a TelemetrySource, as NVML is for a GPU), and a fault to report.
class TestTelemetry final : public TelemetrySource {
 public:
  void set_temperatures(std::optional<double> core, std::optional<double> memory = std::nullopt) {
    std::lock_guard lock(mutex_);
    reading_.temperature_c = core;
    reading_.memory_temperature_c = memory;
  }
  void set_fault(std::string fault, bool needs_restart) {
    std::lock_guard lock(mutex_);
    fault_ = std::move(fault);
    needs_restart_ = needs_restart;
  }
  std::optional<DeviceTelemetry> read() override {
    std::lock_guard lock(mutex_);
    return reading_;
  }
  void add_fault(DeviceStatusReport& report) const {
    std::lock_guard lock(mutex_);
    report.fault = fault_;
    report.fault_needs_restart = needs_restart_;
  }

 private:
  mutable std::mutex mutex_;
  DeviceTelemetry reading_;
  std::string fault_;
  bool needs_restart_ = false;
};

class ReportingDevice final : public SearchDevice {
 public:
  ReportingDevice(std::string id, std::shared_ptr<TestTelemetry> telemetry)
      : cpu_(1, 16, std::move(id)), telemetry_(std::move(telemetry)) {}
  DeviceInfo describe() const override { return cpu_.describe(); }
  void prepare(std::shared_ptr<const LightCache> epoch) override { cpu_.prepare(std::move(epoch)); }
  void set_work(std::vector<WorkItem> work) override { cpu_.set_work(std::move(work)); }
  void start(DeviceSinks sinks) override { cpu_.start(std::move(sinks)); }
  void stop() override { cpu_.stop(); }
  DeviceCounters counters() const override { return cpu_.counters(); }
  DeviceStatusReport status() const override {
    DeviceStatusReport report = cpu_.status();
    report.telemetry = telemetry_->read();
    telemetry_->add_fault(report);
    return report;
  }

 private:
  CpuSearchDevice cpu_;
  std::shared_ptr<TestTelemetry> telemetry_;
};

}  // namespace dagminer::test
