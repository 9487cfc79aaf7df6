// Fuzz target: a replication transfer (replication/log_transfer.h) as a
// peer or a bundle file sends it — frames in the Cap'n Proto stream format,
// each a Message (CheckpointOffer, Package, Commit…). The receiver verifies
// in dry-run mode against a copy on a real store: any input is a refusal or
// (for a validly signed transfer) a verified one; never a crash.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "log/event_log.h"
#include "log/store.h"
#include "log/test_util.h"
#include "replication/channel.h"
#include "replication/log_transfer.h"

namespace {

using namespace mirrorca;

class BytesChannel final : public replication::FrameChannel {
 public:
  BytesChannel(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  Status Send(capnp::MessageBuilder&) override { return Status::Ok(); }
  Result<std::unique_ptr<replication::Frame>> Receive() override {
    return replication::ReadFrame([this](void* out, size_t n) -> Status {
      if (n > size_ - at_) return Status::Unavailable("end of input");
      std::memcpy(out, data_ + at_, n);
      at_ += n;
      return Status::Ok();
    });
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

struct Copy {
  log::testing::TempDir dir;
  std::unique_ptr<log::Store> store;
  std::unique_ptr<log::EventLog> copy;
  Copy() {
    store = std::move(*log::Store::Open(dir.path() + "/store", log::StoreOptions{.create_if_missing = true}));
    // A fixed key (seed 0x01…), so a corpus can carry transfers it signed.
    log::LogSigner signer = *log::LogSigner::FromSeed("factory.fuzz/log", Bytes(32, 0x01));
    copy = std::move(*log::EventLog::OpenCopy(store.get(), signer.verifier()));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Copy c;
  BytesChannel ch(data, size);
  replication::LogReceiver rx(c.copy.get(), replication::LogReceiver::Mode::kDryRun);
  (void)rx.Receive(ch);
  return 0;
}
