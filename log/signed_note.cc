#include "log/signed_note.h"

#include <algorithm>

#include "base/encoding.h"
#include "base/status_macros.h"

namespace mirrorca::log {
namespace {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space

Status CheckText(std::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return Status::InvalidArgument("note text must be non-empty and end with a newline");
  }
  if (text.find("\n\n") != std::string_view::npos) {
    return Status::InvalidArgument("note text must not contain a blank line");
  }
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n') || u == 0x7f) {
      return Status::InvalidArgument("note text contains a control character");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<SignedNote> SignedNote::Parse(std::string_view note) {
  if (note.size() > kMaxNoteBytes) return Status::InvalidArgument("note too large");
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return Status::InvalidArgument("note has no signatures");
  SignedNote out;
  out.text = std::string(note.substr(0, split + 1));
  RETURN_IF_ERROR(CheckText(out.text).WithContext("malformed note"));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') {
    return Status::InvalidArgument("malformed note: signature block must end with a newline");
  }
  while (!sigs.empty()) {
    size_t eol = sigs.find('\n');
    std::string_view line = sigs.substr(0, eol);
    sigs.remove_prefix(eol + 1);
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) {
      return Status::InvalidArgument("malformed note: signature line must start with an em dash");
    }
    line.remove_prefix(kSigPrefix.size());
    size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return Status::InvalidArgument("malformed note: signature line has no signature");
    }
    NoteSignature sig;
    sig.name = std::string(line.substr(0, space));
    if (!IsValidKeyName(sig.name)) return Status::InvalidArgument("malformed note: bad key name");
    Result<Bytes> blob = Base64Decode(line.substr(space + 1));
    if (!blob.ok() || blob->size() < 5) {
      return Status::InvalidArgument("malformed note: bad signature encoding");
    }
    std::copy_n(blob->begin(), 4, sig.key_id.begin());
    sig.signature.assign(blob->begin() + 4, blob->end());
    out.signatures.push_back(std::move(sig));
    if (out.signatures.size() > kMaxNoteSignatures) {
      return Status::InvalidArgument("malformed note: too many signatures");
    }
  }
  return out;
}

std::string SignedNote::Serialize() const {
  std::string out = text;
  out += "\n";
  for (const NoteSignature& s : signatures) {
    Bytes blob(s.key_id.begin(), s.key_id.end());
    blob.insert(blob.end(), s.signature.begin(), s.signature.end());
    out += kSigPrefix;
    out += s.name;
    out += " ";
    out += Base64Encode(blob);
    out += "\n";
  }
  return out;
}

Result<std::string> SignNote(std::string_view text, const LogSigner& signer) {
  RETURN_IF_ERROR(CheckText(text));
  ASSIGN_OR_RETURN(Bytes sig, signer.Sign(AsBytes(text)));
  SignedNote note;
  note.text = std::string(text);
  note.signatures.push_back({signer.name(), signer.verifier().key_id(), std::move(sig)});
  return note.Serialize();
}

Status VerifyNote(const SignedNote& note, const LogVerifier& verifier) {
  for (const NoteSignature& s : note.signatures) {
    if (s.name != verifier.name() || s.key_id != verifier.key_id()) continue;
    if (!verifier.Verify(AsBytes(note.text), s.signature)) {
      return Status::Corruption("note signature by " + verifier.name() + " does not verify");
    }
    return Status::Ok();
  }
  return Status::NotFound("note has no signature by " + verifier.name());
}

}  // namespace mirrorca::log
