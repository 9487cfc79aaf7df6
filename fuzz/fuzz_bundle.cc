// Fuzz target: bundle files (replication/bundle.h) as a USB stick brings
// them — the header read unverified, then the whole file verified before
// anything is stored into a copy on a real store. Any file is a refusal or
// a verified import; never a crash, and a refused file stores nothing.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>

#include "log/event_log.h"
#include "log/store.h"
#include "log/test_util.h"
#include "replication/bundle.h"

namespace {

using namespace mirrorca;

struct Copy {
  log::testing::TempDir dir;
  std::unique_ptr<log::Store> store;
  std::unique_ptr<log::EventLog> copy;
  Copy() {
    store = std::move(*log::Store::Open(dir.path() + "/store", log::StoreOptions{.create_if_missing = true}));
    // The key fuzz_log_transfer's corpus signs with (seed 0x01…).
    log::LogSigner signer = *log::LogSigner::FromSeed("factory.fuzz/log", Bytes(32, 0x01));
    copy = std::move(*log::EventLog::OpenCopy(store.get(), signer.verifier()));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Copy c;
  const std::string path = c.dir.path() + "/input.bundle";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  (void)replication::ReadBundleHeader(path);
  const uint64_t before = c.copy->Size();
  std::optional<replication::Refused> refused;
  Result<replication::BundleImport> r = replication::ImportBundle(*c.copy, path, nullptr, &refused);
  if (!r.ok() && c.copy->Size() != before) __builtin_trap();  // a refused bundle stored events
  return 0;
}
