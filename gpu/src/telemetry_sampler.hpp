// Reads a device's telemetry on a thread of its own, once a period, so that status() (the API,
// the engine's tick) only copies the latest reading: NVML calls can take milliseconds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "dagminer/core/telemetry.hpp"

namespace dagminer::gpu {

class TelemetrySampler {
 public:
  // The first reading is taken before this returns; thread_name shows in top -H.
  TelemetrySampler(std::unique_ptr<TelemetrySource> source, std::string thread_name, std::chrono::milliseconds period);
  ~TelemetrySampler();
  TelemetrySampler(const TelemetrySampler&) = delete;
  TelemetrySampler& operator=(const TelemetrySampler&) = delete;

  std::optional<DeviceTelemetry> latest() const;

 private:
  void run(const std::string& thread_name);

  std::unique_ptr<TelemetrySource> source_;
  const std::chrono::milliseconds period_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<DeviceTelemetry> latest_;
  std::thread thread_;
};

}  // namespace dagminer::gpu
