// Typed GPU errors: every failing CUDA call, allocation or launch becomes one of these, with a
// message that names the device, the call and what it was doing.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace dagminer::gpu {

enum class ErrorKind {
  no_device,       // no CUDA runtime/driver, or no GPU at this index
  invalid_device,  // the device cannot be used (unsupported, or in an unusable mode)
  device_lost,     // a sticky error: the context is dead (Xid, illegal address, ECC)
  out_of_memory,   // an allocation failed although the budget allowed it
  dag_too_large,   // a DAG (with its light cache) exceeds the budget or the device's memory
  budget_in_use,   // the budget is held by DAGs that are in use and cannot be evicted
  launch_failed,   // a kernel launch or its execution failed
  cuda_call,       // any other failing CUDA call
};

std::string_view to_string(ErrorKind kind) noexcept;

class GpuError : public std::runtime_error {
 public:
  GpuError(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace dagminer::gpu
