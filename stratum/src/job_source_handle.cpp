#include "job_source_state.hpp"

namespace dagminer::stratum {

JobSourceHandle::JobSourceHandle(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}

JobSourceHandle::~JobSourceHandle() {
  state_->drop_callbacks();
  state_->stop();
}

void JobSourceHandle::start() { state_->start(); }
void JobSourceHandle::stop() { state_->stop(); }
std::uint64_t JobSourceHandle::submit(const Share& share) { return state_->submit(share); }
bool JobSourceHandle::holds(std::uint64_t share_id) const noexcept { return state_->holds(share_id); }
void JobSourceHandle::set_hashrate(double hs) { state_->set_hashrate(hs); }
const PoolConfig& JobSourceHandle::config() const noexcept { return state_->config(); }
ConnectionState JobSourceHandle::state() const noexcept { return state_->state(); }
bool JobSourceHandle::alive() const noexcept { return state_->alive(); }
PoolProtocol JobSourceHandle::protocol() const noexcept { return state_->protocol(); }
std::optional<std::chrono::milliseconds> JobSourceHandle::latency() const noexcept { return state_->latency(); }
JobSourceCounters JobSourceHandle::counters() const noexcept { return state_->counters(); }

}  // namespace dagminer::stratum
