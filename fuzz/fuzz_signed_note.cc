// Fuzz target: C2SP signed notes, checkpoints and cosignatures (log/) — what
// a sync, a bundle or a proof file carries. Parsing and verifying any text
// gives a verdict; never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "log/log_key.h"
#include "log/signed_note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mirrorca;
  static const log::LogSigner log_key = *log::LogSigner::FromSeed("factory.fuzz/log", Bytes(32, 0x01));
  static const log::LogSigner cosigner = *log::LogSigner::FromSeed("hq.fuzz/log/cosigner", Bytes(32, 0x02));
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<log::SignedNote> note = log::SignedNote::Parse(text);
  if (note.ok()) {
    (void)log::VerifyNote(*note, log_key.verifier());
    (void)log::Checkpoint::ParseText(note->text);
  }
  (void)log::OpenCheckpoint(text, log_key.verifier());
  (void)log::VerifyCosignature(text, cosigner.verifier());
  (void)log::LogVerifier::Parse(text);
  return 0;
}
