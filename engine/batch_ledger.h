// BatchLedger: the factory's projection of what it may issue — the batches
// HQ authorized (from HQ's log) and what the factory already did with them
// (from its own log): issued and rejected counts, closed batches, device
// serials and certificate serials already used. It is rebuilt by replaying
// both logs at start, so it is never a second source of truth.
//
// Issuance reserves before signing: Reserve checks every rule (batch known,
// open, in its window, RA allowed, quota not reached counting in-flight
// reservations, device not yet certified) and holds a slot; Commit turns the
// slot into an issuance once the event is durable; Release gives it back if
// the append failed. So quota N is never exceeded, even with concurrent
// requests, and a crash between append and Commit is repaired by replay.
//
// Thread-safety: all methods are safe for concurrent use (one mutex).
#ifndef MIRRORCA_ENGINE_BATCH_LEDGER_H_
#define MIRRORCA_ENGINE_BATCH_LEDGER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "base/sharded_hash.h"
#include "log/events.capnp.h"

namespace mirrorca::engine {

using log::schema::RejectionReason;

// BatchTerms: one batchAuthorized event of HQ.
struct BatchTerms {
  std::string batch_id;
  std::string profile;
  std::string product;
  uint16_t vendor_id = 0;
  uint16_t product_id = 0;
  uint64_t quota = 0;
  int64_t not_before = 0;  // µs
  int64_t not_after = 0;   // µs
  std::string factory_log_id;
  std::vector<std::string> allowed_ras;  // empty: every RA of the factory
  std::set<std::string> allow_reissue;
  Bytes ca_id;
  uint64_t hq_seq = 0;  // where HQ authorized it

  static BatchTerms FromEvent(log::schema::BatchAuthorized::Reader e, uint64_t hq_seq);
};

struct BatchCounts {
  // HQ's terms, shared and immutable (a request reads them without copying
  // the lists); null for a batch id seen only in rejections.
  std::shared_ptr<const BatchTerms> terms;
  uint64_t issued = 0;
  uint64_t rejected = 0;
  uint64_t reserved = 0;  // in flight
  bool closed = false;
};

// A held issuance slot.
struct Reservation {
  std::string batch_id;
  std::string device_serial;
  Bytes serial;
  std::optional<Bytes> reissue_of;
  std::string key_hash;  // SHA-256 of the device key's SPKI (raw); empty: not checked
};

struct Refusal {
  RejectionReason reason;
  std::string detail;
};

class BatchLedger {
 public:
  explicit BatchLedger(std::string factory_log_id) : factory_log_id_(std::move(factory_log_id)) {}

  // Replay: HQ events (batchAuthorized for this factory; certificateRevoked
  // of this factory's CAs, which the caller filters) and the factory's own
  // events (certificateIssued, issuanceRejected, batchClosed).
  void ApplyHqEvent(log::schema::Event::Reader e);
  void ApplyFactoryEvent(log::schema::Event::Reader e);

  // Reserve holds a slot for `device_serial` in `batch_id` for `ra_id` at
  // `now` (µs) with a fresh random certificate serial unique in this CA.
  // `key_hash` (SHA-256 of the device key's SPKI; empty: a key made here)
  // must not be certified, or in flight, for another device unless
  // `allow_shared_key` (the profile's switch): a line whose key generation
  // is broken would otherwise ship clones. `renews` (a key update, CMP kur)
  // must be the certificate serial of the device's latest certificate, not
  // revoked or on hold as far as HQ's events tell, and the second
  // certificate still needs HQ's re-issue authorization.
  // Returns the refusal when a rule is broken.
  std::variant<Reservation, Refusal> Reserve(const std::string& batch_id,
                                             const std::string& device_serial,
                                             const std::string& ra_id, int64_t now,
                                             const std::string& key_hash = {}, bool allow_shared_key = false,
                                             const Bytes* renews = nullptr);
  // Commit records a durable issuance; returns true when it used the last
  // slot of the batch's quota (the caller then records batchClosed).
  bool Commit(const Reservation& r);
  void Release(const Reservation& r);
  void CountRejection(const std::string& batch_id);
  void MarkClosed(const std::string& batch_id);

  std::optional<BatchCounts> Batch(const std::string& batch_id) const;
  std::vector<BatchCounts> Batches() const;
  uint64_t IssuedTotal() const;

 private:
  Result<Bytes> FreshSerialLocked();

  const std::string factory_log_id_;
  mutable std::mutex mu_;
  std::map<std::string, BatchCounts> batches_;
  // The tables that grow with every certificate are sharded, so that none
  // rehashes a million entries at once under `mu_` (base/sharded_hash.h).
  // device serial -> certificate serial of its latest certificate
  ShardedHash<std::unordered_map<std::string, Bytes>> devices_;
  std::unordered_set<std::string> devices_in_flight_;
  ShardedHash<std::unordered_set<std::string>> serials_;  // certificate serials (as bytes) ever used
  std::unordered_set<std::string> revoked_;  // serials HQ revoked or holds (a release removes one)
  // device key (SPKI SHA-256) -> the device it was first certified for
  ShardedHash<std::unordered_map<std::string, std::string>> keys_;
  std::unordered_map<std::string, std::string> keys_in_flight_;
  // (batch, device) pairs that already used their re-issue authorization
  std::set<std::pair<std::string, std::string>> reissued_;
  uint64_t issued_total_ = 0;
};

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_BATCH_LEDGER_H_
