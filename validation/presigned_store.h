// PresignedStore: OCSP answers signed ahead of time, one per certificate,
// kept durably in the column family "ocsp" of HQ's store (or a VA's), so
// that serving is a lookup and a restart or a replica (a RocksDB secondary
// of the same store) serves at once, without signing.
//
//   r <caId 32> <serial>          → u8 version (1) | u8 status | i64 thisUpdate | i64 nextUpdate
//                                   | i64 refreshAt | DER OCSPResponse   (times in seconds)
//   d <refreshAt u64be> <caId 32> <serial> → ""   (the refresh schedule)
//
// The DER is a successful response whose one signature covers two
// SingleResponses for the certificate — its SHA-1 and its SHA-256 CertID —
// so both kinds of request are answered by the same bytes (RFC 5019 §2.2.1
// allows extra SingleResponses for pre-generation).
//
// Thread-safety: Lookup may run concurrently with anything; writers
// (Put, Due) are serialized by the caller.
#ifndef MIRRORCA_VALIDATION_PRESIGNED_STORE_H_
#define MIRRORCA_VALIDATION_PRESIGNED_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "log/store.h"

namespace mirrorca::validation {

struct PresignedAnswer {
  uint8_t status = 0;        // V_OCSP_CERTSTATUS_* of the certificate
  int64_t this_update = 0;   // seconds
  int64_t next_update = 0;
  int64_t refresh_at = 0;    // when the pre-signer signs it again
  std::string der;           // the OCSPResponse
};

struct PresignedKey {
  Bytes ca_id;
  Bytes serial;
};

class PresignedStore {
 public:
  // Open uses the column family "ocsp" of `store` (which outlives this),
  // creating it in a writable store; in a read-only one without it,
  // lookups find nothing.
  static Result<std::unique_ptr<PresignedStore>> Open(log::Store* store);

  // Lookup returns the stored answer, or nullopt.
  Result<std::optional<PresignedAnswer>> Lookup(ByteSpan ca_id, ByteSpan serial);
  // Put stores answers (replacing older ones and their schedule) in one
  // durable batch.
  struct Entry {
    PresignedKey key;
    PresignedAnswer answer;
    int64_t previous_refresh_at = -1;  // the schedule entry to drop; -1: read it
  };
  Status Put(std::vector<Entry> entries);
  // Due returns up to `max` keys whose refresh time is at or before `now`,
  // earliest first. It resumes at the refresh time of the last key it
  // returned, or at `now` when it returned fewer than `max` (every refresh
  // schedules a later time, so nothing new lands before it), instead of
  // seeking over the tombstones of every refresh since RocksDB last
  // compacted; RestartDue makes it look from the beginning again (after a
  // refresh failed).
  Result<std::vector<PresignedKey>> Due(int64_t now, size_t max);
  void RestartDue() { due_from_ = 0; }
  // WarmUp reads the stored answers in key order into the store's block
  // cache (readahead: a sequential read, not a lookup a block), so that a
  // restarted server answers from memory at once instead of paying a disk
  // read per request until its cache fills. It stops once it has read as
  // many bytes as the cache holds (a fleet larger than the cache is not
  // read whole for nothing), at the end, or when `stop` becomes true.
  struct WarmUpResult {
    uint64_t answers = 0;
    uint64_t bytes = 0;
  };
  Result<WarmUpResult> WarmUp(const std::atomic<bool>& stop);
  // Count returns how many answers are stored (an estimate from RocksDB).
  uint64_t EstimatedCount();
  bool available() const { return cf_ != nullptr; }

 private:
  PresignedStore() = default;
  log::Store* store_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_ = nullptr;
  std::atomic<int64_t> due_from_{0};
};

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_PRESIGNED_STORE_H_
