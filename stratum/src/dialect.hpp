// A Stratum dialect: what one of the three Ethash protocols says on a connection. Each dialect is
// created per connection and keeps that connection's protocol state (the settings announced for
// the next job, EthereumStratum/2.0.0's session token); it does no I/O. The session feeds it
// replies and pool methods and carries out the Reaction it returns. Internal to stratum/.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "dagminer/core/job.hpp"
#include "dagminer/core/pool_url.hpp"
#include "dagminer/stratum/protocol.hpp"

namespace dagminer::stratum {

// What a request was for: how its reply is read, and how its absence is reported.
enum class Request { hello, subscribe, extranonce_subscribe, authorize, login, get_work, submit, hashrate, noop };
const char* to_string(Request r) noexcept;
// Replies some pools never send: their absence is not a sign of a dead pool.
bool optional_reply(Request r) noexcept;

struct Outgoing {
  Request kind;
  std::string method;
  boost::json::value params;
};

// What the session should do after the dialect read a message.
struct Reaction {
  enum class Verdict {
    none,
    authorized,     // the handshake is done: jobs and shares may flow
    user_refused,   // the pool refused the login (reason: the pool's words, may be empty)
    wrong_dialect,  // the pool does not speak this dialect: end the connection
    fall_back,      // automatic detection: continue this connection in EthProxy
    goodbye,        // the pool ends the session
  };
  Verdict verdict = Verdict::none;
  std::string reason;
  std::vector<Outgoing> requests;
  std::optional<Job> job;  // `received` is left for the session to stamp
};

struct Es2Resume;

// Who we are to the pool; the same for every connection of a client.
struct DialectSettings {
  std::string pool;   // the configured name, put in every Job
  std::string login;  // user, or user.worker
  std::string password;
  std::string host;  // as in the URL (EthereumStratum/2.0.0's mining.hello names it)
  std::uint16_t port = 0;
  Algorithm algo = Algorithm::ethash;
  Hash256 client_id{};         // eth_submitHashrate's miner id
  bool may_fall_back = false;  // stratum+tcp: EthereumStratum/1.0.0 may hand over to EthProxy
  // stratum+tcp: this connection begins in EthProxy as a guess (the last one got no answer in
  // EthereumStratum/1.0.0), so a refused login says the pool speaks the other dialect.
  bool ethproxy_guessed = false;
  // EthereumStratum/2.0.0: what one connection leaves for the next to resume (shared by all the
  // client's connections); null: never resume.
  std::shared_ptr<Es2Resume> es2_resume;
};

class Dialect {
 public:
  virtual ~Dialect() = default;

  virtual PoolProtocol protocol() const noexcept = 0;
  // The requests sent as soon as the connection is up.
  virtual Reaction begin() = 0;
  // A reply to one of the handshake requests (hello, subscribe, authorize, login, get_work).
  virtual Reaction on_reply(Request kind, const Message& reply) = 0;
  // A method call or notification from the pool; nullopt when this dialect has no such method.
  virtual std::optional<Reaction> on_method(const Message& m) = 0;
  // A response to no request of ours (EthProxy pushes work that way); nullopt when not understood.
  virtual std::optional<Reaction> on_unsolicited(const Message&) { return std::nullopt; }

  // The submission of `share`, whose job was announced with `job_nonces`.
  virtual Outgoing submit(const Share& share, const NonceSpace& job_nonces) const = 0;
  // The pool's answer to a submission.
  virtual ShareResult read_submit_reply(const Message& reply, std::chrono::milliseconds round_trip) const = 0;
  virtual Outgoing hashrate_report(double hashes_per_second) const = 0;
  // A request that keeps the connection from looking idle after `quiet` without sending.
  virtual std::optional<Outgoing> keepalive(Clock::duration) const { return std::nullopt; }
  // Request ids run up to this, then wrap.
  virtual std::uint64_t max_request_id() const noexcept { return UINT64_MAX; }
};

std::unique_ptr<Dialect> make_ethproxy(const DialectSettings& settings);
std::unique_ptr<Dialect> make_ethereum_stratum_1(const DialectSettings& settings);
std::unique_ptr<Dialect> make_ethereum_stratum_2(const DialectSettings& settings);
// automatic is EthereumStratum/1.0.0 (settings.may_fall_back lets it hand over to EthProxy).
std::unique_ptr<Dialect> make_dialect(PoolProtocol protocol, const DialectSettings& settings);

// --- Shared by the dialects ---

inline constexpr const char* agent = "dagminer/0.1";

// EthProxy's and EthereumStratum/1.0.0's eth_submitHashrate [rate as 32 bytes, miner id].
Outgoing eth_submit_hashrate(double hashes_per_second, const Hash256& client_id);

// The settings a pool announced for its next job (they never change the current one).
struct NextJob {
  Target target = target_from_difficulty(1.0);  // EthereumStratum/1.0.0's default difficulty
  NonceSpace nonces;
  Algorithm algo = Algorithm::ethash;
  std::optional<int> epoch;  // EthereumStratum/2.0.0 announces it instead of a seed
};

// An EthereumStratum/2.0.0 session as the next connection may resume it (EIP-1571: a pool that
// resumes keeps the extranonce, the authorized worker and the settings of the session).
struct Es2Resume {
  std::string session;  // mining.subscribe's answer; empty: nothing to resume
  std::string token;    // mining.authorize's answer in that session
  NextJob next;         // the settings announced for the next job
};

// The Job a work notice announces under `next`. Throws ProtocolError for a seed of no epoch.
Job job_from_notice(const WorkNotice& notice, const NextJob& next, const std::string& pool);

// A rejected submission: stale when the pool says the job is gone, else rejected.
ShareResult classify_rejection(const RpcError& error, std::chrono::milliseconds round_trip);
// A submission reply with no error: accepted when `accepted`, else rejected with what the pool said.
ShareResult share_verdict(bool accepted, const Message& reply, std::chrono::milliseconds round_trip);

// The pool's error in words: its message and code.
std::string error_text(const RpcError& e);

}  // namespace dagminer::stratum
