#include "log/checkpoint.h"

#include <charconv>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "log/signed_note.h"

namespace mirrorca::log {

std::string Checkpoint::ToText() const {
  std::string out = origin + "\n" + std::to_string(tree_size) + "\n" + Base64Encode(root_hash) +
                    "\n";
  for (const std::string& e : extensions) out += e + "\n";
  return out;
}

Result<Checkpoint> Checkpoint::ParseText(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    if (eol == std::string_view::npos) {
      return Status::InvalidArgument("checkpoint: last line lacks a newline");
    }
    lines.push_back(text.substr(0, eol));
    text.remove_prefix(eol + 1);
  }
  if (lines.size() < 3) return Status::InvalidArgument("checkpoint: needs at least 3 lines");
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  if (cp.origin.empty()) return Status::InvalidArgument("checkpoint: empty origin");
  std::string_view size = lines[1];
  if (size.empty() || (size.size() > 1 && size[0] == '0')) {
    return Status::InvalidArgument("checkpoint: tree size is not a canonical decimal");
  }
  auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), cp.tree_size);
  if (ec != std::errc() || ptr != size.data() + size.size()) {
    return Status::InvalidArgument("checkpoint: tree size is not a decimal number");
  }
  Result<Bytes> root = Base64Decode(lines[2]);
  if (!root.ok() || root->size() != cp.root_hash.size()) {
    return Status::InvalidArgument("checkpoint: root hash is not base64 of 32 bytes");
  }
  std::copy(root->begin(), root->end(), cp.root_hash.begin());
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return Status::InvalidArgument("checkpoint: empty extension line");
    cp.extensions.emplace_back(lines[i]);
  }
  return cp;
}

Result<std::string> SignCheckpoint(const Checkpoint& checkpoint, const LogSigner& signer) {
  if (signer.name() != checkpoint.origin) {
    return Status::InvalidArgument("checkpoint origin differs from the signing key name");
  }
  return SignNote(checkpoint.ToText(), signer);
}

Result<Checkpoint> OpenCheckpoint(std::string_view note, const LogVerifier& verifier) {
  ASSIGN_OR_RETURN(SignedNote parsed, SignedNote::Parse(note));
  ASSIGN_OR_RETURN(Checkpoint cp, Checkpoint::ParseText(parsed.text));
  if (cp.origin != verifier.name()) {
    return Status::InvalidArgument("checkpoint origin '" + cp.origin +
                                   "' differs from the verifier key name '" + verifier.name() +
                                   "'");
  }
  Status s = VerifyNote(parsed, verifier);
  if (s.code() == StatusCode::kNotFound) return Status::Corruption(s.message());
  RETURN_IF_ERROR(s);
  return cp;
}

Result<Checkpoint> OpenCheckpoint(std::string_view note, const KeyHistory& keys) {
  ASSIGN_OR_RETURN(SignedNote parsed, SignedNote::Parse(note));
  ASSIGN_OR_RETURN(Checkpoint cp, Checkpoint::ParseText(parsed.text));
  return OpenCheckpoint(note, keys.KeyAt(cp.tree_size));
}

}  // namespace mirrorca::log
