// Fuzz target: ceremony files that travel between HQ and a factory or VA
// (cli/ceremony_files.h) — a request or grant file read as JSON with its
// "format" line and fields, and the sealed issuing-CA key inside a grant
// (ca/key_transport.h: CMS AuthEnvelopedData) opened with a transport key.
// Any file is read or refused with a clear error; never a crash, and no
// key comes out of bytes that were not sealed to the transport key.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "ca/key_transport.h"
#include "cli/ceremony_files.h"
#include "log/test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mirrorca;
  static log::testing::TempDir dir;
  static const ca::KeyAndCertificate transport = *ca::CreateTransportIdentity("fuzz-transport", 1'700'000'000);
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string path = dir.path() + "/ceremony.json";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  for (const char* format : {"mirrorca-factory-request/1", "mirrorca-factory-grant/1", "mirrorca-ca-request/1",
                             "mirrorca-ca-grant/1", "mirrorca-va-request/1", "mirrorca-va-grant/1"}) {
    Result<nlohmann::json> j = cli::ReadJson(Env::Default(), path, format);
    if (!j.ok()) continue;
    (void)cli::Field(*j, "factory", {"factory"});
    (void)cli::Field(*j, "ca.key_sealed", {"ca", "key_sealed"});
    (void)cli::Field(*j, "hq.log_key", {"hq", "log_key"});
  }
  Result<ca::EvpPkeyPtr> key = ca::OpenSealedKey(text, transport.cert.get(), transport.key.get());
  if (key.ok() && !ca::KeyFingerprint(key->get()).ok()) __builtin_trap();
  return 0;
}
