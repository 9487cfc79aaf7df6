// IssuanceProof: an offline proof that a device certificate was issued by
// a factory — `mirrorca audit prove` writes it, `mirrorca audit check-proof`
// (or anyone, from docs/proof_format.md) checks it with no database.
//
// The file is a C2SP tlog-proof (c2sp.org/tlog-proof@v1): the extra data is
// the signed certificateIssued event (the Merkle leaf itself), the index its
// seq, the hashes its RFC 9162 inclusion proof, and the checkpoint the
// factory log's signed checkpoint — cosigned by HQ when HQ has cosigned a
// size that covers it.
//
// Thread-safety: functions.
#ifndef MIRRORCA_AUDIT_ISSUANCE_PROOF_H_
#define MIRRORCA_AUDIT_ISSUANCE_PROOF_H_

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "log/log_key.h"
#include "log/merkle.h"

namespace mirrorca::audit {

struct TlogProof {
  Bytes extra;                    // the signed event
  uint64_t index = 0;             // its seq
  std::vector<crypto::Hash> hashes;  // inclusion proof
  std::string checkpoint;         // signed note (with cosignatures)

  std::string Encode() const;
  // Parse reads the text format; InvalidArgument for anything else
  // (strict: exact header, canonical base64, decimal index, no extra lines).
  static Result<TlogProof> Parse(std::string_view text);
};

// KeyRotationProofs: when the factory log's key changed before the proof's
// checkpoint, the logKeyRotated events, each with its inclusion proof in the
// same checkpoint — written beside the proof as PROOF.keys
// (docs/proof_format.md): a verifier pinning the log's first key follows
// them to the key that signed the event and the checkpoint.
struct KeyRotationProof {
  Bytes event;      // the signed logKeyRotated event
  uint64_t index = 0;
  std::vector<crypto::Hash> hashes;  // its inclusion in the proof's checkpoint
};
std::string EncodeKeyRotations(const std::vector<KeyRotationProof>& rotations);
Result<std::vector<KeyRotationProof>> ParseKeyRotations(std::string_view text);

// ProveIssuance finds the certificateIssued event of `serial` (big-endian
// magnitude) in the store of `data_dir` and returns its proof against the
// largest checkpoint HQ cosigned that covers it, else the factory log's
// latest stored checkpoint that covers it. NotFound if no log held issued it.
// With `rotations`, the key rotations the checkpoint covers are added there.
Result<TlogProof> ProveIssuance(const std::string& data_dir, ByteSpan serial,
                                std::vector<KeyRotationProof>* rotations = nullptr);

struct ProofCheck {
  std::string log;        // checkpoint origin
  uint64_t seq = 0;
  uint64_t tree_size = 0;
  std::string serial_hex;
  std::string device_serial;
  std::string batch_id;
  bool cosigned = false;  // a cosignature by `cosigner` verified
  uint64_t key_rotations = 0;  // rotations followed from the pinned key
  uint64_t cosigned_at = 0;
};

// CheckProof verifies `proof` offline: the checkpoint is signed by the key
// in force at its size — `log_key`, or the key the `rotations` hand the log
// to, each a logKeyRotated event in the same tree signed by the key before
// it —
// (and, given `cosigner`, cosigned by it), the event is leaf `index` of that
// tree, it is signed by the log key, it is a certificateIssued event of seq
// `index`, and its certificate is exactly `certificate_der`. Any failure is
// a Corruption (or PermissionDenied for a signature) naming what failed.
Result<ProofCheck> CheckProof(const TlogProof& proof, const log::LogVerifier& log_key,
                              const std::optional<log::LogVerifier>& cosigner,
                              ByteSpan certificate_der,
                              const std::vector<KeyRotationProof>& rotations = {});

}  // namespace mirrorca::audit

#endif  // MIRRORCA_AUDIT_ISSUANCE_PROOF_H_
