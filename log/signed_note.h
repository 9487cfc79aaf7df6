// SignedNote: the C2SP signed-note format — a UTF-8 text followed by a blank
// line and one or more signature lines "— <key name> <base64(key id || sig)>".
// Checkpoints and cosignatures are signed notes.
//
// Thread-safety: value type; functions are pure.
#ifndef MIRRORCA_LOG_SIGNED_NOTE_H_
#define MIRRORCA_LOG_SIGNED_NOTE_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "log/log_key.h"

namespace mirrorca::log {

constexpr size_t kMaxNoteBytes = 1 << 20;
constexpr size_t kMaxNoteSignatures = 100;

struct NoteSignature {
  std::string name;
  KeyId key_id{};
  Bytes signature;  // the bytes after the key id
};

struct SignedNote {
  std::string text;  // ends with '\n'; the bytes every signature covers
  std::vector<NoteSignature> signatures;

  // Parse splits a note into text and signature lines. InvalidArgument for
  // anything malformed (no blank line, bad signature line, too large).
  static Result<SignedNote> Parse(std::string_view note);
  // Serialize returns text, a blank line and the signature lines.
  std::string Serialize() const;
};

// SignNote returns `text` signed by `signer` as a complete note. `text` must
// be non-empty, end with '\n' and contain no blank line.
Result<std::string> SignNote(std::string_view text, const LogSigner& signer);

// VerifyNote checks that `note` carries a valid signature by `verifier`
// (matched by name and key id). Corruption if that signature is present but
// does not verify; NotFound if the note has no signature by that key.
Status VerifyNote(const SignedNote& note, const LogVerifier& verifier);

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_SIGNED_NOTE_H_
