#include "log/cosignature.h"

#include <algorithm>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "log/crypto_names.h"
#include "log/signed_note.h"

namespace mirrorca::log {
namespace {

constexpr uint8_t kCosignatureType = 0x04;

std::string SignedMessage(std::string_view note_text, uint64_t timestamp) {
  return "cosignature/v1\ntime " + std::to_string(timestamp) + "\n" + std::string(note_text);
}

}  // namespace

KeyId CosignerKeyId(std::string_view name, ByteSpan public_key) {
  const uint8_t sep[2] = {0x0a, kCosignatureType};
  Hash h = Sha256({AsBytes(name), ByteSpan(sep, 2), public_key});
  return {h[0], h[1], h[2], h[3]};
}

Result<std::string> Cosign(std::string_view note, const LogSigner& cosigner, uint64_t timestamp) {
  if (timestamp > (uint64_t{1} << 63) - 1) return Status::InvalidArgument("timestamp too large");
  ASSIGN_OR_RETURN(SignedNote parsed, SignedNote::Parse(note));
  const LogVerifier& v = cosigner.verifier();
  const KeyId id = CosignerKeyId(v.name(), v.public_key());
  std::erase_if(parsed.signatures,
                [&](const NoteSignature& s) { return s.name == v.name() && s.key_id == id; });
  ASSIGN_OR_RETURN(Bytes sig, cosigner.Sign(AsBytes(SignedMessage(parsed.text, timestamp))));
  std::string be;
  PutBigEndian64(be, timestamp);
  Bytes blob(be.begin(), be.end());
  blob.insert(blob.end(), sig.begin(), sig.end());
  parsed.signatures.push_back({v.name(), id, std::move(blob)});
  return parsed.Serialize();
}

Result<uint64_t> VerifyCosignature(std::string_view note, const LogVerifier& cosigner) {
  ASSIGN_OR_RETURN(SignedNote parsed, SignedNote::Parse(note));
  const KeyId id = CosignerKeyId(cosigner.name(), cosigner.public_key());
  for (const NoteSignature& s : parsed.signatures) {
    if (s.name != cosigner.name() || s.key_id != id) continue;
    if (s.signature.size() != 8 + kEd25519SignatureSize) {
      return Status::Corruption("cosignature by " + cosigner.name() + " has the wrong length");
    }
    const uint64_t timestamp = GetBigEndian64(
        std::string_view(reinterpret_cast<const char*>(s.signature.data()), 8));
    const ByteSpan sig(s.signature.data() + 8, kEd25519SignatureSize);
    if (timestamp > (uint64_t{1} << 63) - 1 ||
        !cosigner.Verify(AsBytes(SignedMessage(parsed.text, timestamp)), sig)) {
      return Status::Corruption("cosignature by " + cosigner.name() + " does not verify");
    }
    return timestamp;
  }
  return Status::NotFound("no cosignature by " + cosigner.name());
}

}  // namespace mirrorca::log
