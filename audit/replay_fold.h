// ReplayFold: what one certificate's events say at an instant — the state
// machine `audit replay` applies to the issuance and revocation events of a
// serial, in merge order (time, then log origin, then seq). It is shared by
// the linear replay and the replay index, so both answer the same way.
//
// Rules (the projection's, engine/cert_status.h): a revocation is final; a
// hold (reason certificateHold) can be released; a release of anything but
// a hold changes nothing. Revocations fold independently of the issuance;
// the certificate is "unknown" until an issuance is folded in.
//
// Thread-safety: value types.
#ifndef MIRRORCA_AUDIT_REPLAY_FOLD_H_
#define MIRRORCA_AUDIT_REPLAY_FOLD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/replay.h"
#include "log/event_codec.h"

namespace mirrorca::audit {

// SerialStep: one event touching a serial.
struct SerialStep {
  int64_t time = 0;
  std::string origin;
  uint64_t seq = 0;
  bool issuance = false;
  std::string batch;        // issuance
  bool release = false;     // revocation
  int reason = 0;
  int64_t revocation_time = 0;

  bool operator<(const SerialStep& o) const {
    if (time != o.time) return time < o.time;
    if (origin != o.origin) return origin < o.origin;
    return seq < o.seq;
  }
  // Encode / Decode: the replay index's value for the step (the key holds
  // serial, time, origin and seq).
  std::string EncodeValue() const;
  static bool DecodeValue(std::string_view value, SerialStep* step);
};

// StepOf returns the serial and the step of an issuance or revocation event;
// nullopt for other kinds. Callers replay only events their log may carry
// (engine::LogAuthority::Check, once per event, before StepOf).
std::optional<std::pair<std::string, SerialStep>> StepOf(const log::ParsedEvent& e, const std::string& origin,
                                                         uint64_t seq);

struct SerialFold {
  bool issued = false;
  std::string issued_in, batch;
  uint64_t issued_seq = 0;
  int64_t issued_time = 0;
  std::string rev_state = "good";  // good | revoked | on_hold
  int reason = 0;
  int64_t revocation_time = 0;
  std::string revoked_in;
  uint64_t revoked_seq = 0;

  void Apply(const SerialStep& s);
  // State: unknown (no issuance folded) | good | revoked | on_hold.
  std::string State() const { return issued ? rev_state : "unknown"; }
  // CountsIn: whether the certificate counts as revoked / on hold in `b`.
  // A batch is scoped by its factory: (factory log origin, batch id).
  bool In(std::string_view origin, std::string_view b) const { return issued && issued_in == origin && batch == b; }
  bool RevokedIn(std::string_view origin, std::string_view b) const { return In(origin, b) && rev_state == "revoked"; }
  bool HeldIn(std::string_view origin, std::string_view b) const { return In(origin, b) && rev_state == "on_hold"; }
  // Answer fills what the fold knows (the issuance event's own fields —
  // device serial, signer — are the caller's).
  CertificateAt Answer() const;
};

// Fold applies `steps` (any order; they are sorted) to a fresh fold.
SerialFold Fold(std::vector<SerialStep> steps);

}  // namespace mirrorca::audit

#endif  // MIRRORCA_AUDIT_REPLAY_FOLD_H_
