// HQ's cosigner key: the key that cosigns factory checkpoints (C2SP
// tlog-cosignature), separate from HQ's log key. HQ's log records it with a
// cosignerKeySet event (signed by HQ's log key); a later one replaces it
// from its seq on (rotation). Every factory receives these events in its
// delivery log, and accepts a cosignature only by the cosigner in force.
// An HQ log without any cosignerKeySet (made before this key existed) is
// cosigned with HQ's log key itself.
//
//   <hq data_dir>/cosigner_key.pem   the private key (PEM or a token reference)
//
// Thread-safety: free functions; the logs follow EventLog's rules.
#ifndef MIRRORCA_ENGINE_COSIGNER_H_
#define MIRRORCA_ENGINE_COSIGNER_H_

#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/result.h"
#include "crypto/key_store.h"
#include "log/event_log.h"
#include "log/log_key.h"

namespace mirrorca::engine {

std::string CosignerKeyPath(const std::string& hq_data_dir);
// CosignerName: the cosigner key's name (its cosignature lines): "<HQ origin>/cosigner".
std::string CosignerName(const std::string& hq_origin);

struct CosignerEpoch {
  uint64_t from_hq_seq = 0;  // the cosignerKeySet event's seq in HQ's log
  log::LogVerifier key;
};

// CosignersOfHq returns every cosigner key HQ's log set, in order.
Result<std::vector<CosignerEpoch>> CosignersOfHq(log::EventLog& hq_log);
// CosignersOfDelivery: the same, from a factory's copy of its delivery log
// (each relayed event's HQ signature checked with `hq`).
Result<std::vector<CosignerEpoch>> CosignersOfDelivery(log::EventLog& delivery_copy, const log::LogVerifier& hq);

// CosignerAt: the cosigner in force at HQ seq `hq_seq` — the last key set
// before it, or `hq` (HQ's log key) when none was.
const log::LogVerifier& CosignerAt(const std::vector<CosignerEpoch>& epochs, uint64_t hq_seq,
                                   const log::LogVerifier& hq);
// CurrentCosigner: the last key set, or `hq`.
const log::LogVerifier& CurrentCosigner(const std::vector<CosignerEpoch>& epochs, const log::LogVerifier& hq);

// OpenCosigner opens HQ's cosigner key (HQ's log signer when the store has
// none: a store made before the cosigner key existed).
Result<log::LogSigner> OpenCosigner(Env* env, const std::string& hq_data_dir, const log::LogSigner& hq_signer);

// SetCosigner makes a new cosigner key in `keys` (default: where HQ's log
// key is), records it in HQ's log (cosignerKeySet, signed by HQ's log key)
// and puts it at CosignerKeyPath; the previous cosigner key is retired.
// Returns the new key. HQ's node must be stopped (it holds the store).
Result<log::LogVerifier> SetCosigner(Env* env, const std::string& hq_data_dir, log::EventLog& hq_log,
                                     const std::string& reason, std::optional<crypto::KeyStore> keys = std::nullopt);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_COSIGNER_H_
