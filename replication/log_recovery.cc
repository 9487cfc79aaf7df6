#include "replication/log_recovery.h"

#include <capnp/message.h>

#include "base/status_macros.h"
#include "replication/framing.h"

namespace mirrorca::replication {

Result<RecoveryResult> RecoverOwnLog(FrameChannel& channel, log::EventLog& own, std::optional<Refused>* refused) {
  RecoveryResult out;
  out.held_before = own.Size();
  {
    capnp::MallocMessageBuilder m;
    auto h = m.initRoot<wire::Message>().initHello();
    h.setProtocolVersion(kProtocolVersion);
    h.setRole(wire::Role::RECOVERY);
    h.setOwnLog(own.origin());
    h.setOwnSize(own.Size());
    h.setPeerLog(own.origin());
    h.setPeerCopySize(own.Size());
    RETURN_IF_ERROR(channel.Send(m));
  }
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Frame> f, channel.Receive());
    RETURN_IF_ERROR(ReadGuarded([&]() -> Status {
      wire::Message::Reader m = f->message();
      if (m.isRefusal()) return PeerRefused(m.getRefusal(), "HQ (the recovery)", refused);
      if (!m.isHello()) return Status::InvalidArgument("HQ did not answer with Hello");
      auto h = m.getHello();
      if (h.getProtocolVersion() != kProtocolVersion || h.getRole() != wire::Role::HQ ||
          std::string(h.getOwnLog().cStr()) != own.origin()) {
        return Status::PermissionDenied("the peer did not answer for '" + own.origin() + "'");
      }
      out.hq_size = h.getOwnSize();
      return Status::Ok();
    }));
  }
  if (out.hq_size > out.held_before) {
    LogReceiver rx(&own, LogReceiver::Mode::kSession);
    Result<std::string> note = rx.Receive(channel);
    if (!note.ok()) {
      if (rx.refused()) {
        if (refused != nullptr) *refused = rx.refused();
        if (rx.refused()->detail.rfind("peer refused", 0) != 0) (void)SendRefusal(channel, *rx.refused());
      }
      return note.status().WithContext("recovering '" + own.origin() + "' from HQ");
    }
    out.events_received = rx.stats().events;
    out.checkpoint = *note;
    capnp::MallocMessageBuilder m;
    m.initRoot<wire::Message>().initAck().setCopySize(own.Size());
    RETURN_IF_ERROR(channel.Send(m));
  }
  out.size_after = own.Size();
  capnp::MallocMessageBuilder bye;
  bye.initRoot<wire::Message>().initBye();
  RETURN_IF_ERROR(channel.Send(bye));
  return out;
}

}  // namespace mirrorca::replication
