// One connection's conversation with a pool, from the first request to the last line: the
// dialect, the handshake's progress, the requests awaiting replies and the connection's
// deadlines. A new connection is a new Session, so nothing carries over by accident. No I/O:
// the client feeds it lines and clock ticks and it answers through SessionOwner. Internal to
// stratum/.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "dagminer/core/pool_config.hpp"
#include "dagminer/stratum/job_source.hpp"
#include "dialect.hpp"
#include "pool_jobs.hpp"

namespace dagminer::stratum {

// What a session needs from the client that runs it. Calls never re-enter the session.
class SessionOwner {
 public:
  virtual void write(std::string line) = 0;
  virtual void close() = 0;  // end the connection (the session has recorded why)
  virtual void publish(Job job) = 0;
  virtual void report(std::uint64_t share_id, ShareResult result) = 0;
  virtual void set_state(ConnectionState state, std::string reason) = 0;
  virtual void authorized(PoolProtocol spoken) = 0;

 protected:
  ~SessionOwner() = default;
};

// Where the pool asked us to go next (client.reconnect / mining.reconnect).
struct Redirect {
  std::string host;
  std::uint16_t port;
  std::chrono::milliseconds wait;
};

class Session {
 public:
  enum class Phase {
    connecting,   // resolving, TCP, TLS
    handshaking,  // the dialect's requests until the pool authorizes us
    authorized,   // jobs and shares flow
    closed,       // ended, see End
  };

  // How the session ended: what the reconnect loop decides by.
  struct End {
    std::string reason;
    bool user_refused = false;  // already reported as auth_failed
    bool got_job = false;
    bool answered = false;  // the pool replied to something (automatic detection)
    bool reached = false;   // the transport (TCP, TLS) was up: the pool, not the way to it, had its say
    bool wrong_dialect = false;
    std::optional<Redirect> redirect;
  };

  // Handshake rounds allowed (response timeouts) from connecting to authorized.
  static constexpr int handshake_rounds = 3;

  Session(const PoolConfig& config, std::unique_ptr<Dialect> dialect, const DialectSettings& settings, SessionOwner& owner,
          PoolJobs& jobs, JobSourceCounters& counters);

  Phase phase() const noexcept { return phase_; }
  // Some pools send a job before they answer the login: a job, not the phase, lets shares flow.
  bool has_job() const noexcept { return end_.got_job && !closed(); }
  bool closed() const noexcept { return phase_ == Phase::closed || !end_.reason.empty(); }
  PoolProtocol protocol() const noexcept { return dialect_->protocol(); }
  std::optional<std::chrono::milliseconds> latency() const noexcept { return latency_; }

  // The transport is up: the dialect's handshake starts.
  void connected();
  // A line from the pool, read off the socket at `read_at`.
  void on_line(const std::string& line, Clock::time_point read_at);
  void on_overlong_line();
  // Deadlines and periodic requests, checked by the connection's watchdog.
  void tick(Clock::time_point now, double hashrate);
  // Sends `share` for `job`, a job of this connection (see PoolJobs::find).
  void submit(std::uint64_t share_id, const Share& share, const PoolJobs::Entry& job);
  // Ends the connection; the first reason given is the one reported.
  void fail(const std::string& reason);
  // The client stops: ends the connection and reports the unanswered shares at once.
  void stop();
  // The connection is gone: reports the unanswered shares as timed out; says how it ended.
  End finish();

 private:
  struct Pending {
    Request kind;
    Clock::time_point sent;
    std::uint64_t share_id = 0;
  };

  void send(const Outgoing& request, std::uint64_t share_id = 0);
  std::uint64_t next_request_id();
  void handle(const Message& m, Clock::time_point read_at);
  void handle_response(const Message& m, Clock::time_point read_at);
  void handle_method(const Message& m, Clock::time_point read_at);
  void apply(Reaction reaction, Clock::time_point read_at);
  void on_reconnect(const ReconnectRequest& r);
  void report_unanswered(const std::string& why);
  void refuse_user(const std::string& pool_words);
  void take_job(Job job, Clock::time_point read_at);
  void protocol_error(const std::string& what, std::string_view line);
  std::optional<std::string> overdue(Clock::time_point now);

  const PoolConfig& config_;
  std::unique_ptr<Dialect> dialect_;
  DialectSettings settings_;
  SessionOwner& owner_;
  PoolJobs& jobs_;
  JobSourceCounters& counters_;

  Phase phase_ = Phase::connecting;
  End end_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Pending> pending_;
  unsigned consecutive_errors_ = 0;
  std::optional<std::chrono::milliseconds> latency_;
  Clock::time_point handshake_deadline_;           // connecting and handshaking end by then
  std::optional<Clock::time_point> job_deadline_;  // the next job is due by then
  Clock::time_point last_sent_{};
  Clock::time_point last_hashrate_{};
};

}  // namespace dagminer::stratum
