// SyncJob: the factory's sync as users run it — connect to HQ over mutual
// TLS, run rounds, retry with exponential backoff within a deadline, and
// report one summary. In continuous mode the session stays open and a new
// round starts within `poll` of a new factory event (and at least every
// `heartbeat`, to pick up HQ's events); a cut connection is re-opened with
// backoff until `stopped()` says so.
//
// Exit codes (SyncSummary::exit_code): 0 HQ durably cosigned everything the
// factory holds; 1 not done (unreachable, cut, deadline); 3 refused (a
// divergence or an identity/version refusal — needs a human).
//
// Thread-safety: RunSyncJob runs on the caller's thread; callbacks run there.
#ifndef MIRRORCA_REPLICATION_SYNC_JOB_H_
#define MIRRORCA_REPLICATION_SYNC_JOB_H_

#include <asio/ssl.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "replication/factory_sync.h"

namespace mirrorca::replication {

struct SyncSummary {
  bool ok = false;
  int exit_code = 1;
  uint64_t events_sent = 0;
  uint64_t events_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  double seconds = 0;
  uint64_t factory_size = 0;
  uint64_t cosigned_size = 0;
  uint64_t hq_held = 0;    // events of ours HQ held when the last round began
  uint64_t hq_size = 0;
  unsigned attempts = 0;
  unsigned rounds = 0;
  std::string refused;  // refusal code, if any
  std::string error;    // last failure, if any
  // ToJson renders the one-line JSON summary `mirrorca sync` prints.
  std::string ToJson() const;
};

struct SyncJobOptions {
  std::string host;
  uint16_t port = 0;
  std::shared_ptr<asio::ssl::context> tls;
  std::chrono::milliseconds deadline{std::chrono::minutes(10)};
  std::chrono::milliseconds io_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds first_backoff{200};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
  bool continuous = false;
  std::chrono::milliseconds poll{100};
  std::chrono::milliseconds heartbeat{std::chrono::seconds(5)};
  std::function<bool()> stopped;                     // continuous: end when true
  std::function<void(const SyncSummary&)> on_round;  // continuous: after each round
  FactorySyncOptions sync;
};

SyncSummary RunSyncJob(log::EventLog* own, log::EventLog* hq_copy, const SyncJobOptions& options);

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_SYNC_JOB_H_
