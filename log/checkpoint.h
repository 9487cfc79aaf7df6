// Checkpoint: a C2SP tlog-checkpoint — the origin, tree size and root hash
// of a log, signed as a signed note by the log's key:
//
//   <origin>\n<decimal tree size>\n<base64 root hash>\n[extension lines]
//
// Thread-safety: value type; functions are pure.
#ifndef MIRRORCA_LOG_CHECKPOINT_H_
#define MIRRORCA_LOG_CHECKPOINT_H_

#include <string>
#include <vector>

#include "base/result.h"
#include "log/key_history.h"
#include "log/log_key.h"
#include "log/crypto_names.h"

namespace mirrorca::log {

struct Checkpoint {
  std::string origin;
  uint64_t tree_size = 0;
  Hash root_hash{};
  std::vector<std::string> extensions;  // extra lines, each without '\n'

  // ToText returns the note text (what the signature covers).
  std::string ToText() const;
  // ParseText parses the note text of a checkpoint; InvalidArgument if malformed.
  static Result<Checkpoint> ParseText(std::string_view text);
};

// SignCheckpoint returns the checkpoint as a signed note. The key name must
// equal the checkpoint origin.
Result<std::string> SignCheckpoint(const Checkpoint& checkpoint, const LogSigner& signer);

// OpenCheckpoint parses a signed checkpoint note and verifies the signature of
// `verifier`, whose name must be the origin. Corruption on a bad signature,
// InvalidArgument on malformed text or a different origin.
Result<Checkpoint> OpenCheckpoint(std::string_view note, const LogVerifier& verifier);
// OpenCheckpoint for a log with a chain of keys: the note must be signed by
// the key in force at its tree size (log/key_history.h).
Result<Checkpoint> OpenCheckpoint(std::string_view note, const KeyHistory& keys);

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_CHECKPOINT_H_
