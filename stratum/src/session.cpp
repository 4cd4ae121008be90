#include "session.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "dagminer/core/hex.hpp"

namespace dagminer::stratum {
namespace json = boost::json;

namespace {

constexpr int method_not_found = -3;  // our answer to a pool's request for a method we lack

std::chrono::milliseconds elapsed(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since);
}

}  // namespace

Session::Session(const PoolConfig& config, std::unique_ptr<Dialect> dialect, const DialectSettings& settings, SessionOwner& owner,
                 PoolJobs& jobs, JobSourceCounters& counters)
    : config_(config),
      dialect_(std::move(dialect)),
      settings_(settings),
      owner_(owner),
      jobs_(jobs),
      counters_(counters),
      handshake_deadline_(Clock::now() + handshake_rounds * config.response_timeout) {}

void Session::connected() {
  phase_ = Phase::handshaking;
  end_.reached = true;
  apply(dialect_->begin(), Clock::now());
}

// --- reading ---

void Session::on_line(const std::string& line, Clock::time_point read_at) {
  spdlog::trace("pool {}: <- {}", config_.name, printable(line));
  try {
    handle(decode_message(line), read_at);
    consecutive_errors_ = 0;
  } catch (const ProtocolError& e) {
    protocol_error(e.what(), line);
  } catch (const std::exception& e) {
    protocol_error(std::string("unexpected content: ") + e.what(), line);
  }
}

void Session::on_overlong_line() {
  protocol_error("line longer than " + std::to_string(max_line_bytes) + " bytes discarded", "");
}

void Session::protocol_error(const std::string& what, std::string_view line) {
  ++counters_.protocol_errors;
  ++consecutive_errors_;
  if (line.empty()) spdlog::warn("pool {}: protocol error: {}", config_.name, what);
  else spdlog::warn("pool {}: protocol error: {} in: {}", config_.name, what, printable(line));
  if (config_.max_protocol_errors > 0 && consecutive_errors_ >= config_.max_protocol_errors)
    fail(std::to_string(consecutive_errors_) + " protocol errors in a row (last: " + what + ")");
}

void Session::handle(const Message& m, Clock::time_point read_at) {
  if (m.is_response()) handle_response(m, read_at);
  else handle_method(m, read_at);
}

void Session::handle_response(const Message& m, Clock::time_point read_at) {
  const auto id = m.numeric_id();
  const auto it = id ? pending_.find(*id) : pending_.end();
  if (it == pending_.end()) {
    if (auto reaction = dialect_->on_unsolicited(m)) return apply(std::move(*reaction), read_at);
    throw ProtocolError("reply to unknown request id " + printable(json::serialize(m.id)));
  }
  const Pending p = it->second;
  pending_.erase(it);
  end_.answered = true;
  latency_ = elapsed(p.sent);
  switch (p.kind) {
    case Request::submit: return owner_.report(p.share_id, dialect_->read_submit_reply(m, *latency_));
    case Request::extranonce_subscribe:
    case Request::hashrate:
    case Request::noop:
      if (m.error) spdlog::debug("pool {}: {} refused: {}", config_.name, to_string(p.kind), error_text(*m.error));
      return;
    default: return apply(dialect_->on_reply(p.kind, m), read_at);
  }
}

void Session::handle_method(const Message& m, Clock::time_point read_at) {
  if (m.method == "client.reconnect" || m.method == "mining.reconnect") return on_reconnect(decode_reconnect(m.params));
  if (m.method == "client.get_version") {
    if (!m.id.is_null()) owner_.write(response_line(protocol(), m.id, json::string(agent), std::nullopt));
    return;
  }
  if (m.method == "client.show_message") {
    spdlog::info("pool {}: message from the pool: {}", config_.name, printable(json::serialize(m.params)));
    return;
  }
  if (auto reaction = dialect_->on_method(m)) return apply(std::move(*reaction), read_at);
  if (!m.id.is_null()) owner_.write(response_line(protocol(), m.id, nullptr, RpcError{method_not_found, "method not found"}));
  throw ProtocolError("unknown method '" + printable(m.method) + "'");
}

void Session::on_reconnect(const ReconnectRequest& r) {
  Redirect to{r.host.value_or(settings_.host), r.port.value_or(settings_.port), reconnect_wait(config_.backoff, r.wait)};
  spdlog::info("pool {}: the pool asks to reconnect to {}:{} in {} s{}", config_.name, to.host, to.port, r.wait.count(),
               to.wait < r.wait ? fmt::format("; waiting {} ms (backoff.max)", to.wait.count()) : "");
  end_.redirect = std::move(to);
  fail("the pool asked to reconnect");
}

// --- what the dialect decided ---

void Session::apply(Reaction reaction, Clock::time_point read_at) {
  using Verdict = Reaction::Verdict;
  switch (reaction.verdict) {
    case Verdict::none: break;
    case Verdict::authorized:
      phase_ = Phase::authorized;
      job_deadline_ = Clock::now() + config_.job_timeout;
      last_hashrate_ = Clock::now();
      if (!reaction.reason.empty()) spdlog::info("pool {}: {}", config_.name, reaction.reason);
      owner_.authorized(protocol());
      break;
    case Verdict::user_refused: return refuse_user(reaction.reason);
    case Verdict::wrong_dialect:
      spdlog::error("pool {}: {}", config_.name, reaction.reason);
      end_.wrong_dialect = true;
      return fail(reaction.reason);
    case Verdict::goodbye: return fail(reaction.reason);
    case Verdict::fall_back:
      spdlog::info("pool {}: {}; trying EthProxy", config_.name, reaction.reason);
      dialect_ = make_ethproxy(settings_);
      return apply(dialect_->begin(), read_at);
  }
  for (const auto& request : reaction.requests) send(request);
  if (reaction.job) take_job(std::move(*reaction.job), read_at);
}

void Session::refuse_user(const std::string& pool_words) {
  const std::string why = "the pool refused user '" + settings_.login + "'" + (pool_words.empty() ? "" : ": " + pool_words) +
                          "; retrying in " + std::to_string(config_.backoff.max.count() / 1000) + " s";
  spdlog::error("pool {}: {}", config_.name, why);
  end_.user_refused = true;
  owner_.set_state(ConnectionState::auth_failed, why);
  fail(why);
}

void Session::take_job(Job job, Clock::time_point read_at) {
  job.received = read_at;  // the job-switch latency starts when its line came off the socket
  jobs_.add(job);
  ++counters_.jobs;
  job_deadline_ = Clock::now() + config_.job_timeout;
  const bool first = !end_.got_job;
  end_.got_job = true;
  spdlog::debug("pool {}: job {} epoch {} difficulty {:.6g}{}", config_.name, job.id, job.epoch, difficulty_of(job.target),
                job.clean ? " (clean)" : "");
  owner_.publish(std::move(job));
  if (!first) return;
  // The first job after a reconnect decides the held shares: sent if the pool re-sent their job.
  auto released = jobs_.release();
  for (const auto& [held, entry] : released.renewed) submit(held.share_id, held.share, entry);
  for (const auto& held : released.stale)
    owner_.report(held.share_id,
                  {ShareOutcome::stale, 0, "job " + held.share.job_id + " was not renewed after the reconnect", {}});
}

// --- writing ---

void Session::submit(std::uint64_t share_id, const Share& share, const PoolJobs::Entry& job) {
  if (!job.nonces.contains(share.nonce)) {
    owner_.report(share_id, {ShareOutcome::stale,
                             0,
                             "nonce " + to_hex_u64(share.nonce) + " is outside the connection's extranonce (it changed)",
                             {}});
    return;
  }
  send(dialect_->submit(share, job.nonces), share_id);
  ++counters_.shares_sent;
}

std::uint64_t Session::next_request_id() {
  const std::uint64_t max = dialect_->max_request_id();
  std::uint64_t id = next_id_ & max;
  while (pending_.contains(id)) id = (id + 1) & max;
  next_id_ = id + 1;
  return id;
}

void Session::send(const Outgoing& request, std::uint64_t share_id) {
  const std::uint64_t id = next_request_id();
  pending_[id] = {request.kind, Clock::now(), share_id};
  std::string line = request_line(protocol(), id, request.method, request.params);
  if (request.kind == Request::authorize || request.kind == Request::login)
    spdlog::trace("pool {}: -> {} (password withheld)", config_.name, request.method);
  else
    spdlog::trace("pool {}: -> {}", config_.name,
                  printable(std::string_view(line).substr(0, line.size() - 1)));  // without its LF
  last_sent_ = Clock::now();
  owner_.write(std::move(line));
}

// --- deadlines ---

std::optional<std::string> Session::overdue(Clock::time_point now) {
  if (phase_ != Phase::authorized && now > handshake_deadline_)
    return "not connected and authorized within " + std::to_string((handshake_rounds * config_.response_timeout).count()) + " s";
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second.sent < config_.response_timeout) {
      ++it;
      continue;
    }
    if (!optional_reply(it->second.kind))
      return std::string("no reply to ") + to_string(it->second.kind) + " within " +
             std::to_string(config_.response_timeout.count()) + " s";
    it = pending_.erase(it);
  }
  if (job_deadline_ && now > *job_deadline_) return "no new job within " + std::to_string(config_.job_timeout.count()) + " s";
  return std::nullopt;
}

void Session::tick(Clock::time_point now, double hashrate) {
  if (closed()) return;
  if (auto why = overdue(now)) return fail(*why);
  if (phase_ != Phase::authorized) return;
  if (config_.hashrate_interval.count() > 0 && hashrate > 0 && now - last_hashrate_ >= config_.hashrate_interval) {
    last_hashrate_ = now;
    send(dialect_->hashrate_report(hashrate));
  }
  if (auto keepalive = dialect_->keepalive(now - last_sent_)) send(*keepalive);
}

// --- the end ---

void Session::fail(const std::string& reason) {
  if (phase_ == Phase::closed) return;  // a late error of a connection already replaced
  if (end_.reason.empty()) end_.reason = reason;
  owner_.close();
}

void Session::report_unanswered(const std::string& why) {
  for (const auto& [id, p] : pending_)
    if (p.kind == Request::submit) owner_.report(p.share_id, {ShareOutcome::timed_out, 0, why, elapsed(p.sent)});
  pending_.clear();
}

void Session::stop() {
  fail("stopped");
  report_unanswered("client stopped before the pool answered");
}

Session::End Session::finish() {
  if (end_.reason.empty()) end_.reason = "connection closed by the pool";
  report_unanswered("connection lost before the pool answered (" + end_.reason + ")");
  phase_ = Phase::closed;
  jobs_.end_connection(end_.got_job);
  return end_;
}

}  // namespace dagminer::stratum
