// HqSync: HQ's side of replication. For each factory it knows (its log key
// and the TLS identities bound to that log) it holds a verified mirror copy
// of the factory log in HQ's store. A session with a factory:
//
//   factory Hello → HQ Hello (where to resume) → factory log transfer
//   (log_transfer.h) → HQ stores, cosigns the checkpoint (C2SP
//   tlog-cosignature), records checkpointCosigned + syncSession in its own
//   log → Cosigned → HQ log transfer to the factory → factory Ack; repeated
//   per round (continuous mode) until Bye.
//
// A factory may only ever write its own log's copy: the TLS key it presents
// selects the binding, and a Hello naming another log is refused. Every
// event it sends must be one its log may carry (engine/log_authority.h): one
// that is not refuses the transfer as an "authority" divergence, and a
// removed factory is refused at Hello. A refused
// transfer (fork, rewind, bad signature, gap, bad proof) is recorded as a
// logAnomaly event in HQ's log with both checkpoints as evidence, counted in
// the metrics and reported on stderr; the factory gets a Refusal.
//
// A mirror — a validation authority on another machine (docs/replication_
// protocol.md §10) — authenticates with a TLS key pinned as a mirror's, never
// a factory's. It only reads: each of its rounds names HQ's log or a
// registered factory's log, and HQ sends it that log (HQ's with a fresh
// checkpoint, a factory's copy up to the factory checkpoint HQ stored).
//
// Thread-safety: Serve and ImportBundle may run concurrently for different
// factories; a second session for a factory already syncing is refused
// ("busy").
#ifndef MIRRORCA_REPLICATION_HQ_SYNC_H_
#define MIRRORCA_REPLICATION_HQ_SYNC_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/prometheus_text.h"
#include "engine/log_authority.h"
#include "log/event_log.h"
#include "replication/channel.h"
#include "replication/log_transfer.h"

namespace mirrorca::replication {

struct SyncMetrics {
  std::atomic<uint64_t> sessions{0};
  std::atomic<uint64_t> rounds_ok{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> failed{0};     // transport failures (cut, timeout)
  std::atomic<uint64_t> events_received{0};
  std::atomic<uint64_t> events_sent{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> divergences{0};  // fork, rewind, bad signature, gap, bad proof
};

struct HqSyncOptions {
  Env* env = nullptr;
  // The trust table (required): which events each factory log may carry,
  // and whether a factory is still active. HqSync catches it up with HQ's
  // log before every transfer; it must outlive the HqSync.
  engine::LogAuthority* authority = nullptr;
  SendOptions send;
  // Delivery logs (engine/delivery_log.h): when set, each factory receives
  // only what HQ addressed to it — its delivery log, kept in this store and
  // relayed from HQ's log at every round — instead of HQ's whole log. HQ
  // nodes always set it; protocol tests leave it null.
  log::Store* delivery_store = nullptr;
  // on_stored runs after a round has stored and cosigned a factory's events
  // and before the factory is told (HQ's validation refreshes there, so an
  // OCSP answer reflects whatever HQ has cosigned by the time the factory's
  // sync returns).
  std::function<void()> on_stored;
  // Alert receives one JSON line per refused session or divergence (stderr by default).
  std::function<void(const std::string&)> alert;
};

class HqSync {
 public:
  // Open binds every factory registered in HQ's log (the authority learns
  // them) to its copy in `hq_log`'s store (created on first use) and its
  // sync TLS keys. `hq_log` is HQ's own log, open with its signer
  // `hq_signer` (which also signs the delivery logs); it must outlive this
  // object. `cosigner` cosigns factory checkpoints: HQ's cosigner key
  // (engine/cosigner.h), or `hq_signer` for an HQ log that set none.
  static Result<std::unique_ptr<HqSync>> Open(log::EventLog* hq_log, log::LogSigner hq_signer,
                                              log::LogSigner cosigner, HqSyncOptions options = {});
  // Refresh binds the factories registered since (a running HQ onboards
  // one without a restart); sessions and imports call it when they meet a
  // key or log they do not know. Re-registered keys replace the old ones.
  Status Refresh();
  ~HqSync();

  // Serve runs one session with an authenticated peer whose TLS key hashes
  // to `peer_spki`. Returns OK after Bye or a clean end; the failure
  // otherwise (the session is then over; what was verified stays).
  Status Serve(FrameChannel& channel, const std::string& peer_spki);

  // ImportFactoryBundle applies a factory log carried in a bundle file
  // (verified whole first, see bundle.h) and returns the cosigned checkpoint.
  // On refusal `refused` (if given) says why.
  Result<std::string> ImportFactoryBundle(const std::string& path, const Progress& progress,
                                          std::optional<Refused>* refused = nullptr);

  // RelayTo brings the delivery log of the factory log `origin` up to date
  // with HQ's log (waiting for a session of that factory to end) and
  // returns it; NotFound without one.
  Result<log::EventLog*> RelayTo(const std::string& origin);
  // Delivery returns the delivery log of the factory log `origin` (null
  // without a delivery store or for an unknown factory).
  log::EventLog* Delivery(const std::string& origin);
  // Copy returns HQ's copy of the factory log `origin`, or null.
  log::EventLog* Copy(const std::string& origin);
  std::vector<log::EventLog*> Copies();  // every factory's, in registration order
  // Pinned: `spki` is a sync key bound to a registered factory (refreshing
  // first when it is not known yet): the TLS pin check of the sync port.
  bool Pinned(const std::string& spki);
  // SetMirrors replaces the TLS keys (SPKI SHA-256, hex) of the mirrors
  // allowed to follow HQ; a key may not also be a factory's.
  void SetMirrors(std::set<std::string> spkis);
  bool IsMirror(const std::string& spki) const;
  std::set<std::string> PinnedSpkis() const;
  const SyncMetrics& metrics() const { return metrics_; }
  // FactorySyncState: where HQ's copy of one factory log stands.
  struct FactorySyncState {
    std::string origin;
    bool active = true;          // false once HQ removed the factory
    uint64_t copy_size = 0;      // events HQ holds
    uint64_t cosigned_size = 0;  // the latest checkpoint HQ cosigned
    int64_t cosigned_at = 0;     // its cosignature's time (seconds; 0: never synced)
  };
  std::vector<FactorySyncState> SyncStates();
  // WriteMetrics adds sessions, rounds, refusals by code, divergences,
  // bytes and events, and per factory its copy size, last cosigned size
  // and the age of that cosignature (sync lag).
  void WriteMetrics(PrometheusText& m);

 private:
  struct Factory;
  HqSync() = default;
  // `check` is what Admit returned for f's log.
  Status Round(FrameChannel& channel, Factory& f, wire::Hello::Reader hello, const EventCheck& check);
  // MirrorRound sends a mirror the log its Hello names. `recovery`: a
  // factory asks for its own log (nothing is sent when it holds as much).
  Status MirrorRound(FrameChannel& channel, wire::Hello::Reader hello, bool recovery = false);
  // Accept cosigns the checkpoint `note` just stored in f's copy (unless it
  // is already cosigned) and records it in HQ's log; returns the cosigned note.
  Result<std::string> Accept(Factory& f, const std::string& note, const TransferStats& received,
                             const std::string& direction);
  void Alert(const Factory* f, RefusalKind kind, const std::string& detail);
  Status RecordRefusal(Factory& f, const Refused& refused);
  // Admit catches the authority up with HQ's log and returns its check of
  // events of `origin`; PermissionDenied when that factory is not registered
  // or was removed.
  Result<EventCheck> Admit(const std::string& origin);
  uint64_t CosignedSize(Factory& f);
  // BoundTo: the factory `spki` is bound to (after a Refresh if unknown), or null.
  Factory* BoundTo(const std::string& spki);

  log::EventLog* hq_log_ = nullptr;
  std::optional<log::LogSigner> hq_signer_;  // HQ's log key: the delivery logs
  std::optional<log::LogSigner> cosigner_;
  HqSyncOptions options_;
  Env* env_ = nullptr;
  std::mutex refresh_mu_;            // one Refresh at a time
  uint64_t bound_up_to_ = 0;         // HQ seq learned at the last Refresh; guarded by refresh_mu_
  mutable std::shared_mutex maps_mu_;
  std::vector<std::unique_ptr<Factory>> factories_;  // guarded by maps_mu_ (appended only)
  std::map<std::string, Factory*> by_spki_;          // guarded by maps_mu_
  std::map<std::string, Factory*> by_origin_;        // guarded by maps_mu_
  std::set<std::string> mirrors_;                    // guarded by maps_mu_
  SyncMetrics metrics_;
  mutable std::mutex refusals_mu_;
  std::map<std::string, uint64_t> refusals_by_code_;  // guarded by refusals_mu_
};

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_HQ_SYNC_H_
