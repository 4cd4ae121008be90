// What a protocol's source implements behind its JobSourceHandle. Internal to stratum/.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>

#include "dagminer/stratum/job_source.hpp"

namespace dagminer::stratum {

class JobSourceHandle::State : public JobSource {
 public:
  // After this, no callback is called: the handle is gone, and what it reported to with it.
  virtual void drop_callbacks() = 0;
};

// A protocol's state for a pool, the std::invalid_argument its settings may throw naming the pool.
template <class Source>
std::shared_ptr<JobSourceHandle::State> make_source_state(boost::asio::any_io_executor executor, PoolConfig config,
                                                          JobSource::Callbacks callbacks) {
  const std::string name = config.name;
  try {
    return std::make_shared<Source>(std::move(executor), std::move(config), std::move(callbacks));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("pool " + name + ": " + e.what());
  }
}

}  // namespace dagminer::stratum
