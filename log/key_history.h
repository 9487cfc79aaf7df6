// KeyHistory: the chain of keys a log has been signed with.
//
// A log starts with the key it was registered with (its identity, the key
// peers pin). A `logKeyRotated` event at seq r, signed by the key in force,
// names the next key; from then on the next key signs every event (seq > r)
// and every checkpoint of a tree that includes the rotation (size > r). One
// rule serves both: KeyAt(x) is the key of the last rotation with r < x, so
// an event `seq` and a checkpoint of tree size `seq` are signed by KeyAt(seq)
// (docs/event_log_format.md, "Key rotation").
//
// Thread-safety: a value; const methods may be called concurrently.
#ifndef MIRRORCA_LOG_KEY_HISTORY_H_
#define MIRRORCA_LOG_KEY_HISTORY_H_

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "log/event_codec.h"
#include "log/log_key.h"

namespace mirrorca::log {

struct KeyEpoch {
  uint64_t from = 0;  // the first seq (and tree size) this key signs
  LogVerifier key;
};

class KeyHistory {
 public:
  explicit KeyHistory(LogVerifier initial);
  // Parse reads Serialize()'s text: one "FROM VERIFIER_KEY" line per key.
  static Result<KeyHistory> Parse(std::string_view text);
  std::string Serialize() const;

  const LogVerifier& initial() const { return epochs_.front().key; }
  const LogVerifier& current() const { return epochs_.back().key; }
  const std::string& origin() const { return initial().name(); }
  // KeyAt: the key that signs event `seq_or_size` and checkpoints of that tree size.
  const LogVerifier& KeyAt(uint64_t seq_or_size) const;
  const std::vector<KeyEpoch>& epochs() const { return epochs_; }
  bool rotated() const { return epochs_.size() > 1; }

  // Rotate records that event `rotation_seq` hands the log to `next`.
  // InvalidArgument when `next` names another log, repeats a key the log
  // already used, or the rotation is not after the previous one.
  Status Rotate(uint64_t rotation_seq, LogVerifier next);

 private:
  std::vector<KeyEpoch> epochs_;
};

// RotationIn returns the next key a `logKeyRotated` event names, nothing for
// any other kind; InvalidArgument for a malformed key.
Result<std::optional<LogVerifier>> RotationIn(schema::Event::Reader event);

// VerifyEventWith checks the signature of a parsed event against `keys`
// (the key in force at its seq) and, for a rotation, extends `keys`.
// Corruption for a bad signature, InvalidArgument for a bad rotation.
Status VerifyEventWith(KeyHistory& keys, const ParsedEvent& event);

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_KEY_HISTORY_H_
