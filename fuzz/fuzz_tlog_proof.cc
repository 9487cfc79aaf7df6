// Fuzz target: issuance proofs as anyone may hand them to a verifier
// (audit/issuance_proof.h, docs/proof_format.md) — the C2SP tlog-proof
// text, the PROOF.keys rotations beside it, and the offline check against
// a pinned log key. Any text is a proof that checks or a clear refusal.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "audit/issuance_proof.h"
#include "log/log_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mirrorca;
  static const log::LogSigner signer = *log::LogSigner::FromSeed("factory.fuzz/log", Bytes(32, 0x01));
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first line break splits the proof from its PROOF.keys.
  const size_t cut = text.find("\n\n\n");
  const std::string_view proof_text = cut == std::string_view::npos ? text : text.substr(0, cut + 1);
  const std::string_view keys_text = cut == std::string_view::npos ? std::string_view() : text.substr(cut + 3);
  Result<audit::TlogProof> proof = audit::TlogProof::Parse(proof_text);
  Result<std::vector<audit::KeyRotationProof>> rotations = audit::ParseKeyRotations(keys_text);
  if (proof.ok()) {
    // What parses must encode back to what was read.
    if (audit::TlogProof::Parse(proof->Encode()).status().code() != StatusCode::kOk) __builtin_trap();
    (void)audit::CheckProof(*proof, signer.verifier(), std::nullopt, AsBytes(std::string_view("cert")),
                            rotations.ok() ? *rotations : std::vector<audit::KeyRotationProof>{});
  }
  return 0;
}
