// The CPU search backend: hashimoto over the light cache on worker threads. Slow (thousands of
// hashes per second), but it runs the whole daemon on machines without a GPU.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "dagminer/core/device.hpp"
#include "dagminer/core/work_set.hpp"

namespace dagminer {

class CpuSearchDevice final : public SearchDevice {
 public:
  // threads = 0 uses every hardware thread; batch is the nonces a thread claims at a time,
  // which bounds how long a replaced job keeps being searched.
  explicit CpuSearchDevice(unsigned threads = 0, std::uint32_t batch = 16, std::string id = "cpu");
  ~CpuSearchDevice() override;

  DeviceInfo describe() const override;
  void prepare(std::shared_ptr<const LightCache> epoch) override;
  void set_work(std::vector<WorkItem> work) override;
  void start(DeviceSinks sinks) override;
  void stop() override;
  DeviceCounters counters() const override;
  DeviceStatusReport status() const override { return {}; }  // nothing of its own to report

 private:
  // A batch a thread claimed, with the flag set_work raises when it drops the batch's tag.
  struct Batch {
    WorkRange range;
    std::shared_ptr<const std::atomic<bool>> retired;
  };
  std::optional<Batch> claim();  // under mutex_
  void search(const Batch& batch);
  void run_worker();

  const unsigned threads_;
  const std::uint32_t batch_;
  const std::string id_;

  mutable std::mutex mutex_;
  std::condition_variable work_changed_;
  WeightedWorkSet work_;
  // One flag per tag of work_: set when set_work drops the tag, so threads stop mid-batch.
  std::map<std::uint64_t, std::shared_ptr<std::atomic<bool>>> retired_;
  bool running_ = false;
  DeviceSinks sinks_{nullptr};
  std::vector<std::thread> workers_;

  std::atomic<std::uint64_t> hashes_{0};
  std::atomic<std::uint64_t> candidates_{0};
  std::atomic<std::uint64_t> replaced_{0};
};

}  // namespace dagminer
