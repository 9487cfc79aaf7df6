// FrameChannel: a bidirectional stream of replication frames — a TLS
// connection (TlsChannel) or a bundle file (bundle.h). Session and transfer
// code speak only to this interface, so one implementation of the protocol
// serves the network and the offline file.
//
// Thread-safety: a channel is used by one thread at a time.
#ifndef MIRRORCA_REPLICATION_CHANNEL_H_
#define MIRRORCA_REPLICATION_CHANNEL_H_

#include <capnp/message.h>

#include <cstdint>
#include <memory>

#include "base/result.h"
#include "replication/framing.h"

namespace mirrorca::replication {

class FrameChannel {
 public:
  virtual ~FrameChannel() = default;
  // Send writes one message. IOError/Unavailable if the peer is gone.
  virtual Status Send(capnp::MessageBuilder& message) = 0;
  // Receive reads the next frame. InvalidArgument for a malformed or
  // oversized frame, Unavailable when the peer closed or timed out.
  virtual Result<std::unique_ptr<Frame>> Receive() = 0;

  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }

 protected:
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
};

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_CHANNEL_H_
