// Cosignature: a C2SP tlog-cosignature v1 (Ed25519) — the statement by a
// cosigner (HQ) that, as of a time, it has verified and durably stored the
// log up to the cosigned checkpoint. It is one more signature line on the
// checkpoint note:
//
//   — <cosigner name> base64(key id || u64 timestamp (big-endian) || Ed25519 signature)
//
// key id = SHA-256(name || 0x0A || 0x04 || public key)[:4]; the signature
// covers "cosignature/v1\ntime <timestamp>\n" followed by the note text.
// HQ cosigns with its log key: the "cosignature/v1" header separates the
// domains (event bodies are Cap'n Proto, checkpoints start with an origin).
//
// Thread-safety: pure functions.
#ifndef MIRRORCA_LOG_COSIGNATURE_H_
#define MIRRORCA_LOG_COSIGNATURE_H_

#include <string>
#include <string_view>

#include "base/result.h"
#include "log/log_key.h"

namespace mirrorca::log {

// CosignerKeyId returns the tlog-cosignature key id of an Ed25519 key.
KeyId CosignerKeyId(std::string_view name, ByteSpan public_key);

// Cosign returns `note` (a signed checkpoint) with a cosignature line by
// `cosigner` at `timestamp` (POSIX seconds) appended; an earlier cosignature
// by the same key is replaced. InvalidArgument for a malformed note.
Result<std::string> Cosign(std::string_view note, const LogSigner& cosigner, uint64_t timestamp);

// VerifyCosignature checks the cosignature of `cosigner` on `note` and
// returns its timestamp. NotFound if the note carries none, Corruption if
// it does not verify.
Result<uint64_t> VerifyCosignature(std::string_view note, const LogVerifier& cosigner);

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_COSIGNATURE_H_
