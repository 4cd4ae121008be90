#include "telemetry_sampler.hpp"

#include <pthread.h>

namespace dagminer::gpu {

TelemetrySampler::TelemetrySampler(std::unique_ptr<TelemetrySource> source, std::string thread_name,
                                   std::chrono::milliseconds period)
    : source_(std::move(source)), period_(period), latest_(source_->read()) {
  thread_ = std::thread([this, name = std::move(thread_name)] { run(name); });
}

TelemetrySampler::~TelemetrySampler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::optional<DeviceTelemetry> TelemetrySampler::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void TelemetrySampler::run(const std::string& thread_name) {
  pthread_setname_np(pthread_self(), thread_name.substr(0, 15).c_str());  // the kernel keeps 15 characters
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    auto reading = source_->read();  // unlocked: latest() never waits for the driver
    lock.lock();
    latest_ = std::move(reading);
  }
}

}  // namespace dagminer::gpu
