#include "faults.hpp"

#include <algorithm>

#include "dagminer/stratum/protocol.hpp"

namespace dagminer::stratum {
namespace {

struct FaultName {
  Fault fault;
  const char* name;
  bool has_duration;
};
constexpr FaultName fault_names[] = {
    {Fault::drop_connections, "drop", false},    {Fault::pause_listening, "pause", true},
    {Fault::malformed_line, "malformed", false}, {Fault::overlong_line, "overlong", false},
    {Fault::delay_replies, "delay", true},       {Fault::reject_all, "reject", true},
    {Fault::reuse_job_ids, "reuse-ids", true},   {Fault::request_reconnect, "reconnect", false},
    {Fault::go_silent, "silent", true},
};

}  // namespace

const char* to_string(Fault fault) noexcept {
  for (const auto& f : fault_names)
    if (f.fault == fault) return f.name;
  return "unknown";
}

std::optional<Fault> parse_fault(std::string_view name) noexcept {
  for (const auto& f : fault_names)
    if (name == f.name) return f.fault;
  return std::nullopt;
}

bool fault_has_duration(Fault fault) noexcept {
  for (const auto& f : fault_names)
    if (f.fault == fault) return f.has_duration;
  return false;
}

void FaultWindows::open(Fault fault, Clock::time_point now, std::chrono::milliseconds duration) {
  auto& until = until_.at(static_cast<std::size_t>(fault));
  // Overlapping pauses: listening resumes when the one that ends last is over. A later window of
  // the other faults replaces the earlier one.
  until = fault == Fault::pause_listening ? std::max(until, now + duration) : now + duration;
  if (fault == Fault::delay_replies) reply_delay_ = duration;
}

bool FaultWindows::active(Fault fault, Clock::time_point now) const { return now < until_.at(static_cast<std::size_t>(fault)); }

std::string malformed_line() { return "{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"broken\n"; }

std::string overlong_line() {
  return "{\"id\":null,\"method\":\"client.show_message\",\"params\":[\"" + std::string(max_line_bytes + 4096, 'x') + "\"]}\n";
}

}  // namespace dagminer::stratum
