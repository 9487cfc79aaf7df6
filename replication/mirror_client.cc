#include "replication/mirror_client.h"

#include <capnp/message.h>

#include "base/status_macros.h"
#include "replication/framing.h"

namespace mirrorca::replication {
Result<std::unique_ptr<MirrorClient>> MirrorClient::Open(log::Store* store, const log::LogVerifier& hq,
                                                         engine::LogAuthority* authority, std::string name) {
  if (authority == nullptr || authority->hq_origin() != hq.name()) {
    return Status::InvalidArgument("a mirror needs the log authority of '" + hq.name() + "'");
  }
  std::unique_ptr<MirrorClient> c(new MirrorClient());
  c->store_ = store;
  c->authority_ = authority;
  c->name_ = std::move(name);
  ASSIGN_OR_RETURN(c->hq_copy_, log::EventLog::OpenCopy(store, hq));
  RETURN_IF_ERROR(authority->CatchUp(*c->hq_copy_));
  RETURN_IF_ERROR(c->Bind());
  return c;
}

Status MirrorClient::Bind() {
  for (const engine::FactoryScope& f : authority_->Factories()) {
    if (copies_.count(f.log_origin) != 0) continue;
    ASSIGN_OR_RETURN(log::LogVerifier v, log::LogVerifier::Parse(f.log_key));
    ASSIGN_OR_RETURN(copies_[f.log_origin], log::EventLog::OpenCopy(store_, v));
  }
  return Status::Ok();
}

std::vector<log::EventLog*> MirrorClient::Copies() const {
  std::vector<log::EventLog*> out;
  for (const auto& [origin, copy] : copies_) out.push_back(copy.get());
  return out;
}

Result<MirrorStats> MirrorClient::Session(FrameChannel& channel) {
  refused_.reset();
  MirrorStats stats;
  // HQ's log first: it says which factories there are and what each owns.
  // Its events need no table check here: what breaks the table teaches the
  // authority nothing and is never projected.
  RETURN_IF_ERROR(Round(channel, *hq_copy_, nullptr, stats));
  RETURN_IF_ERROR(authority_->CatchUp(*hq_copy_));
  RETURN_IF_ERROR(Bind());
  for (const auto& [origin, copy] : copies_) {
    const std::string o = origin;
    const engine::LogAuthority* authority = authority_;
    EventCheck check = [o, authority](uint64_t seq, std::string_view signed_event) -> std::optional<std::string> {
      Result<std::optional<engine::AuthorityViolation>> v = authority->CheckSigned(o, AsBytes(signed_event));
      if (!v.ok()) return "seq " + std::to_string(seq) + ": " + v.status().message();
      if (*v) return "seq " + std::to_string(seq) + ": " + (*v)->ToString();
      return std::nullopt;
    };
    RETURN_IF_ERROR(Round(channel, *copy, check, stats));
  }
  capnp::MallocMessageBuilder m;
  m.initRoot<wire::Message>().initBye();
  RETURN_IF_ERROR(channel.Send(m));
  return stats;
}

Status MirrorClient::Round(FrameChannel& channel, log::EventLog& copy, const EventCheck& check,
                           MirrorStats& stats) {
  stats.logs++;
  {
    capnp::MallocMessageBuilder m;
    auto h = m.initRoot<wire::Message>().initHello();
    h.setProtocolVersion(kProtocolVersion);
    h.setRole(wire::Role::MIRROR);
    h.setOwnLog(name_);
    h.setPeerLog(copy.origin());
    h.setPeerCopySize(copy.Size());
    RETURN_IF_ERROR(channel.Send(m));
  }
  uint64_t offered = 0;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Frame> f, channel.Receive());
    RETURN_IF_ERROR(ReadGuarded([&]() -> Status {
      wire::Message::Reader m = f->message();
      if (m.isRefusal()) return PeerRefused(m.getRefusal(), "HQ (to the mirror)", &refused_);
      if (!m.isHello()) return Status::InvalidArgument("HQ did not answer with Hello");
      auto h = m.getHello();
      if (h.getProtocolVersion() != kProtocolVersion || h.getRole() != wire::Role::HQ ||
          std::string(h.getOwnLog().cStr()) != copy.origin()) {
        return Status::PermissionDenied("the peer did not answer for '" + copy.origin() + "'");
      }
      offered = h.getOwnSize();
      return Status::Ok();
    }));
  }
  if (offered == 0) return Status::Ok();  // HQ holds no checkpoint of it yet
  LogReceiver rx(&copy, LogReceiver::Mode::kSession, nullptr, check);
  Result<std::string> note = rx.Receive(channel);
  if (!note.ok()) {
    if (rx.refused()) {
      refused_ = rx.refused();
      if (rx.refused()->detail.rfind("peer refused", 0) != 0) (void)SendRefusal(channel, *rx.refused());
    }
    return note.status().WithContext("'" + copy.origin() + "' from HQ");
  }
  stats.events_received += rx.stats().events;
  capnp::MallocMessageBuilder m;
  m.initRoot<wire::Message>().initAck().setCopySize(copy.Size());
  return channel.Send(m);
}

}  // namespace mirrorca::replication
