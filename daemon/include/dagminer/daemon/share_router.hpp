// The share's path: a device's candidate is verified on the CPU against its job's light cache
// (off the event loop), submitted to the pool whose job produced it, and its outcome settled
// into the ledger and the share journal. Every candidate that passes the check is accounted
// for: accepted, rejected, stale (its job replaced, expired or its pool gone) or timed out.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include "dagminer/core/device.hpp"
#include "dagminer/core/scheduler.hpp"
#include "dagminer/daemon/job_book.hpp"
#include "dagminer/daemon/recent.hpp"
#include "dagminer/daemon/share_journal.hpp"
#include "dagminer/stratum/job_source.hpp"

namespace dagminer {

class ShareRouter {
 public:
  // A pool's source, or null while it has none (removed, disabled, or unusable settings).
  using SourceFinder = std::function<stratum::JobSource*(const std::string& pool)>;
  // Hears each share's outcome once it is in the books.
  using SettledObserver = std::function<void(const Share& share, const ShareResult& result)>;

  // Callbacks run on `loop`, the executor of the event loop that owns `jobs`.
  ShareRouter(boost::asio::any_io_executor loop, const JobBook& jobs, SourceFinder sources);
  ~ShareRouter();  // waits for the verifications in flight
  ShareRouter(const ShareRouter&) = delete;
  ShareRouter& operator=(const ShareRouter&) = delete;

  void on_candidate(const std::string& device, const Candidate& candidate);
  void on_share_result(const std::string& pool, std::uint64_t id, const ShareResult& result);
  // The pool's source is about to go and report nothing more (call it while the source is still
  // there): the shares it holds unsent count as stale ("never sent"), those sent and still
  // waiting for its answer as timed out; none as lost.
  void abandon(const std::string& pool, const std::string& why);

  std::size_t pending() const noexcept { return pending_.size(); }  // submitted, not answered yet
  std::size_t checking() const noexcept { return checking_; }       // candidates in their CPU check
  const ShareLedger& ledger() const noexcept { return ledger_; }
  void set_journal(ShareJournal journal) { journal_ = std::move(journal); }
  const ShareJournal& journal() const noexcept { return journal_; }
  const RecentRing<ShareRecord>& recent() const noexcept { return recent_; }  // the last settled, oldest first
  void on_settled(SettledObserver observer) { settled_ = std::move(observer); }

 private:
  void on_verified(const std::string& device, std::shared_ptr<const JobRecord> record, Candidate candidate, HashResult hash);
  void settle(const Share& share, const ShareResult& result);

  boost::asio::any_io_executor loop_;
  const JobBook& jobs_;
  SourceFinder sources_;
  boost::asio::thread_pool verifiers_{2};  // its own threads: never queued behind light-cache builds
  std::size_t checking_ = 0;
  ShareLedger ledger_;
  ShareJournal journal_;
  RecentRing<ShareRecord> recent_{recent_share_count};
  std::map<std::pair<std::string, std::uint64_t>, Share> pending_;  // by (pool, submit id)
  SettledObserver settled_;
};

}  // namespace dagminer
