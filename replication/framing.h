// Framing: one replication Message per frame, in the Cap'n Proto stream
// format (segment table, then segments). A reader learns the frame's size
// from its segment table with capnp::expectedSizeInWordsFromPrefix and
// refuses any frame larger than kMaxFrameBytes before reading its body, so
// a peer cannot make us allocate more than that.
//
// Thread-safety: Frame is a value owned by one thread; functions are pure.
#ifndef MIRRORCA_REPLICATION_FRAMING_H_
#define MIRRORCA_REPLICATION_FRAMING_H_

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "replication/replication.capnp.h"

namespace mirrorca::replication {

constexpr size_t kMaxFrameBytes = 16 << 20;  // hard cap on one frame
constexpr uint32_t kProtocolVersion = 1;

// Frame: one received message. Accessors of its reader may throw
// kj::Exception on malformed content: read it inside ReadGuarded.
class Frame {
 public:
  explicit Frame(kj::Array<capnp::word> words);
  wire::Message::Reader message() { return reader_.getRoot<wire::Message>(); }
  size_t size_bytes() const { return words_.size() * sizeof(capnp::word); }

 private:
  kj::Array<capnp::word> words_;
  capnp::FlatArrayMessageReader reader_;
};

// ReadExact fills exactly n bytes or fails (end of stream included).
using ReadExact = std::function<Status(void* out, size_t n)>;

// ReadFrame reads one frame through `read`. InvalidArgument for a segment
// table that is malformed or announces more than kMaxFrameBytes.
Result<std::unique_ptr<Frame>> ReadFrame(const ReadExact& read);

// EncodeFrame returns the stream-format bytes of `message`.
kj::Array<capnp::word> EncodeFrame(capnp::MessageBuilder& message);

// ReadGuarded runs `fn` and turns a kj::Exception thrown by a Cap'n Proto
// reader (malformed or out-of-bounds content) into InvalidArgument.
Status ReadGuarded(const std::function<Status()>& fn);

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_FRAMING_H_
