// Fuzz target: node configuration files (cli/config.h) — factory.toml,
// hq.toml, va.toml, ra.toml — and key references (crypto/key_ref.h). Any
// text is a config or an error naming the key; never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "cli/config.h"
#include "crypto/key_ref.h"
#include "log/test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mirrorca;
  static log::testing::TempDir dir;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string path = dir.path() + "/node.toml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  (void)cli::LoadFactoryConfig(path);
  (void)cli::LoadHqConfig(path);
  (void)cli::LoadVaConfig(path);
  (void)cli::LoadRaConfig(path);
  (void)cli::HostPort(text, "listen", "fuzz");
  (void)crypto::ParseKeyRef(text);
  (void)crypto::ParseKeyRef(text, crypto::RefTarget::kToken);
  return 0;
}
