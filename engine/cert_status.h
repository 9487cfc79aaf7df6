// CertStatus: HQ's projection of certificate status from the logs — for
// every (issuing CA, serial) issued in a factory log or revoked in HQ's log,
// whether it is good, revoked or on hold, since when and why, and which
// events say so. The VA (CRLs, OCSP) answers from it; it is never edited
// directly, only rebuilt from events.
//
// Stored in the node's store (meta column family, prefix "status/v1/"):
//
//   status/v1/schema                      "3" (kStatusSchemaVersion)
//   status/v1/pos/<origin>                u64be: next seq of that log to apply
//   status/v1/cert/<caId 32><serial>      CertRecord (EncodeRecord, engine/status_records.h)
//   status/v1/rev/<caId 32><serial>       CertRecord again, for every certificate ever
//                                         revoked or held (a released hold stays: delta
//                                         CRLs list it) — a CRL is one scan, no lookups
//   status/v1/crl/<caId 32>               CrlState (last CRL numbers, last revocation)
//   status/v1/batch/<factory origin>\0<batch>\0<caId><serial>  "" (a batch's certificates)
//   status/v1/ledger/<factory origin>\0<batch>   BatchTally (the batch ledger)
//   statuschg/v2/{u|n}<order u64be><caId 32><serial>   "" (the change journal, below)
//   statuschg/v2/done/{u|n}               the last journal key of that kind consumed
//
// Only events the log authority allows are projected (engine/log_authority.h):
// a factory log's revocation or an issuance under another factory's CA is
// skipped, whatever its signature.
//
// The rules that turn events into these records are engine/status_projector.h
// (shared with the audit's rebuild). Exactly once: each CatchUp step writes
// the records it changed and the new position of that log in one RocksDB
// WriteBatch (fsynced), so a crash
// between steps neither loses nor repeats an event. Issuance and revocation
// facts are merged field by field, so the order in which the logs are
// projected does not matter: a rebuild from zero gives the same state.
//
// Thread-safety: CatchUp calls must be serialized by the caller; readers
// (Get, ForEachRevoked) may run concurrently with them.
#ifndef MIRRORCA_ENGINE_CERT_STATUS_H_
#define MIRRORCA_ENGINE_CERT_STATUS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "log/event_log.h"
#include "engine/log_authority.h"
#include "engine/status_records.h"
#include "log/store.h"

namespace mirrorca::engine {

struct CertChange {
  bool urgent = false;
  Bytes ca_id;
  Bytes serial;
  std::string journal_key;  // where PendingChanges found it ("" for a change made up by the caller)
};

class CertStatus {
 public:
  static constexpr int kSchemaVersion = kStatusSchemaVersion;

  // Open reads the projection in `store` (a store that outlives it). If its
  // schema version differs (or it is new) it is cleared, to be rebuilt by
  // CatchUp from every log.
  static Result<std::unique_ptr<CertStatus>> Open(log::Store* store);
  // OpenExisting reads a projection another process maintains (a RocksDB
  // secondary instance of HQ's store); it never writes. FailedPrecondition
  // when the projection is missing or of another schema version.
  static Result<std::unique_ptr<CertStatus>> OpenExisting(log::Store* store);
  // Positions returns the applied position of every log, as one string:
  // it changes exactly when the projection does.
  Result<std::string> Positions();

  // CatchUp applies the events of `log` not yet applied, up to seq `until`
  // (exclusive; default: all); returns how many.
  // `authority` says which of its events count; it must have learned HQ's
  // log first (CatchUp of HQ's log before the factory logs).
  Result<uint64_t> CatchUp(log::EventLog& log, const LogAuthority& authority, uint64_t until = UINT64_MAX);
  // Position returns the next seq of `origin` to apply.
  uint64_t Position(const std::string& origin);

  Result<std::optional<CertRecord>> Get(ByteSpan ca_id, ByteSpan serial);
  // ForEachRevoked calls fn(serial, record) for every certificate of
  // `ca_id` ever revoked or held (released holds included: state kGood), by
  // serial bytes.
  Status ForEachRevoked(ByteSpan ca_id,
                        const std::function<Status(ByteSpan serial, const CertRecord&)>& fn);
  // SerialsOfBatch returns (caId, serial) of every certificate of the batch
  // `batch_id` of the factory whose log is `factory_origin`.
  Result<std::vector<std::pair<Bytes, Bytes>>> SerialsOfBatch(const std::string& factory_origin,
                                                              const std::string& batch_id);

  // ForEachRevokedSince calls fn(serial, record) once for every certificate
  // of `ca_id` whose revocation or release is recorded in `hq_log` at or
  // after `from_seq` (and already projected): what a delta CRL lists. It
  // reads the log's tail, not the whole table.
  Status ForEachRevokedSince(log::EventLog& hq_log, ByteSpan ca_id, uint64_t from_seq,
                             const std::function<Status(ByteSpan serial, const CertRecord&)>& fn);

  CrlState Crl(ByteSpan ca_id);

  Result<std::optional<BatchTally>> Tally(const std::string& factory_origin, const std::string& batch_id);
  struct LedgerEntry {
    std::string factory_origin;
    std::string batch_id;
    BatchTally tally;
  };
  // Tallies returns every batch's ledger, by factory origin, then batch id.
  Result<std::vector<LedgerEntry>> Tallies();

  // The change journal: every certificate whose record a CatchUp changed,
  // written in the same batch as the record (statuschg/v2/{u|n}<order><caId><serial>,
  // beside the projection's keys, not among them: it is a work queue),
  // "u" for urgent changes (a revocation, hold or release), "n" for a plain
  // issuance. `order` grows with every entry, so the queue is read in the
  // order things changed, and a consumer resumes after the last entry it
  // removed (kept durably beside them) instead of seeking over the
  // tombstones of a million removed ones. PendingChanges returns up to `max` of one kind, oldest first;
  // DoneWith removes them once the consumer has acted on the records as
  // they are now. A certificate changed twice is journaled twice (acting on
  // it twice is harmless). The caller serializes both with CatchUp.
  Result<std::vector<CertChange>> PendingChanges(bool urgent, size_t max);
  Status DoneWith(const std::vector<CertChange>& changes);

  // Clear deletes the whole projection (positions included).
  Status Clear();

 private:
  explicit CertStatus(log::Store* store) : store_(store) {}
  // Journal bookkeeping at Open: the next order, and entries of the v1
  // journal (keyed by certificate, no order) moved into v2.
  Status OpenJournal();
  log::Store* const store_;
  std::atomic<uint64_t> next_change_{1};
  std::string removed_through_[2];  // [urgent]: the last journal key DoneWith removed
};

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_CERT_STATUS_H_
