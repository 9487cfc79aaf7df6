// The records of HQ's certificate-status projection and their encodings:
// what each key of the projection (layout in engine/cert_status.h) holds,
// and how a key is formed. Shared by the projection itself (CertStatus), the
// rules that build it (StatusProjector) and the audit's rebuild.
//
// Thread-safety: plain values and pure functions.
#ifndef MIRRORCA_ENGINE_STATUS_RECORDS_H_
#define MIRRORCA_ENGINE_STATUS_RECORDS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace mirrorca::engine {

// Every key of the projection starts with this prefix (meta column family).
inline constexpr std::string_view kStatusPrefix = "status/v1/";
// The version of the rules and records below, stored under status/v1/schema:
// a store holding another version is rebuilt from its logs.
inline constexpr int kStatusSchemaVersion = 3;  // 3: batches scoped by factory, LogAuthority applied

// StatusKey returns kStatusPrefix + kind + rest, e.g. StatusKey("pos/", origin).
std::string StatusKey(std::string_view kind, std::string_view rest);
// BatchKey returns factory origin || 0x00 || batch id: batches are scoped by
// the factory they were authorized for (F1's B1 and F2's B1 are two batches).
std::string BatchKey(std::string_view factory_origin, std::string_view batch_id);
// CertKeySuffix returns caId || serial, the part after "cert/", "rev/" and
// a batch index entry's "\0".
std::string CertKeySuffix(ByteSpan ca_id, ByteSpan serial);

enum class CertState : uint8_t { kGood = 0, kRevoked = 1, kHold = 2 };

struct CertRecord {
  bool issued = false;           // a certificateIssued event exists
  CertState state = CertState::kGood;
  int64_t not_after = 0;         // µs, from the issuance
  int64_t revocation_time = 0;   // µs
  uint8_t reason = 0;            // RFC 5280 CRLReason
  int64_t invalidity_date = 0;   // µs, 0 = absent
  std::string batch_id;
  std::string device_serial;
  std::string issued_in;         // origin of the factory log
  uint64_t issued_seq = 0;
  uint64_t revoked_seq = 0;      // HQ log seq of the latest revocation / release

  bool operator==(const CertRecord&) const = default;
};

// CrlState: what HQ's log says about the CRLs of one CA.
struct CrlState {
  uint64_t last_number = 0;       // highest cRLNumber published (full or delta)
  uint64_t last_full_number = 0;  // of the latest full CRL
  uint64_t last_full_seq = 0;     // HQ log seq of that full CRL's crlPublished event
  int64_t last_full_this_update = 0;  // its thisUpdate, µs
  bool has_full = false;
  uint64_t last_crl_seq = 0;         // HQ log seq of the latest crlPublished (full or delta)
  uint64_t last_revocation_seq = 0;  // HQ log seq of the latest certificateRevoked; 0 = none
  bool has_revocation = false;

  // A CRL is due when a revocation (or release) came after the last CRL.
  bool ChangedSinceLastCrl() const {
    return has_revocation && (last_number == 0 || last_revocation_seq > last_crl_seq);
  }
};

// BatchTally: the batch ledger — what HQ authorized and what the logs say
// happened to the batch. Counts of revoked and held certificates are those
// currently in that state.
struct BatchTally {
  uint64_t quota = 0;      // from batchAuthorized; 0 = never authorized in HQ's log
  std::string factory;     // the factory log the batch is for
  uint64_t issued = 0;
  uint64_t rejected = 0;
  uint64_t revoked = 0;
  uint64_t held = 0;
  bool closed = false;

  bool operator==(const BatchTally&) const = default;
};

// EncodeRecord / DecodeRecord: a CertRecord as stored under cert/ and rev/.
// Decode returns Corruption for bytes that are not a record of format 1.
std::string EncodeRecord(const CertRecord& r);
Result<CertRecord> DecodeRecord(std::string_view bytes);

// EncodeCrlState / DecodeCrlState: under crl/<caId>; 50 bytes. Decode of
// anything else gives the empty state (no CRL yet).
std::string EncodeCrlState(const CrlState& st);
CrlState DecodeCrlState(std::string_view bytes);

// EncodeTally / DecodeTally: a batch's ledger under ledger/<BatchKey>.
std::string EncodeTally(const BatchTally& t);
Result<BatchTally> DecodeTally(std::string_view bytes);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_STATUS_RECORDS_H_
