#include "replication/factory_sync.h"

#include "engine/cosigner.h"

#include <capnp/message.h>

#include "base/status_macros.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "replication/sync_records.h"

namespace mirrorca::replication {

FactorySync::FactorySync(log::EventLog* own, log::EventLog* hq_copy, FactorySyncOptions options)
    : own_(own), hq_copy_(hq_copy), options_(std::move(options)) {}

Status FactorySync::Refuse(FrameChannel& channel, const Refused& r) {
  refused_ = r;
  (void)SendRefusal(channel, r);
  if (IsDivergence(r.kind)) {
    std::vector<log::EventDraft> drafts;
    drafts.push_back(AnomalyDraft(hq_copy_->origin(), r));
    RETURN_IF_ERROR(own_->Append(std::move(drafts)).status());
  }
  return Status::Corruption("HQ log refused: " + std::string(RefusalCode(r.kind)) + ": " + r.detail);
}

Result<RoundResult> FactorySync::Round(FrameChannel& channel) {
  refused_.reset();
  last_sent_ = 0;
  RoundResult out;
  {
    capnp::MallocMessageBuilder m;
    auto h = m.initRoot<wire::Message>().initHello();
    h.setProtocolVersion(kProtocolVersion);
    h.setRole(wire::Role::FACTORY);
    h.setOwnLog(own_->origin());
    h.setOwnSize(own_->Size());
    h.setPeerLog(hq_copy_->origin());
    h.setPeerCopySize(hq_copy_->Size());
    RETURN_IF_ERROR(channel.Send(m));
  }
  uint64_t hq_holds = 0;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Frame> f, channel.Receive());
    RETURN_IF_ERROR(ReadGuarded([&]() -> Status {
      wire::Message::Reader m = f->message();
      if (m.isRefusal()) return PeerRefused(m.getRefusal(), "HQ (the session)", &refused_);
      if (!m.isHello()) return Status::InvalidArgument("HQ did not answer with Hello");
      auto h = m.getHello();
      if (h.getProtocolVersion() != kProtocolVersion || h.getRole() != wire::Role::HQ ||
          std::string(h.getOwnLog().cStr()) != hq_copy_->origin() ||
          std::string(h.getPeerLog().cStr()) != own_->origin()) {
        return Status::PermissionDenied("the peer is not the HQ of this factory");
      }
      hq_holds = h.getPeerCopySize();
      return Status::Ok();
    }));
  }
  // Our log, from what HQ holds.
  ASSIGN_OR_RETURN(std::string note, own_->SignCheckpoint());
  ASSIGN_OR_RETURN(log::Checkpoint offered, log::OpenCheckpoint(note, *own_->keys()));
  last_hq_held_ = hq_holds;
  last_sent_ = 0;
  SendOptions send = options_.send;
  send.progress = [this, outer = options_.send.progress](uint64_t done, uint64_t total) {
    last_sent_ = done;
    if (outer) outer(done, total);
  };
  ASSIGN_OR_RETURN(TransferStats sent, SendLog(channel, *own_, hq_holds, note, send));
  out.events_sent = sent.events;
  out.factory_size = offered.tree_size;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Frame> f, channel.Receive());
    RETURN_IF_ERROR(ReadGuarded([&]() -> Status {
      wire::Message::Reader m = f->message();
      if (m.isRefusal()) return PeerRefused(m.getRefusal(), "HQ (the session)", &refused_);
      if (!m.isCosigned()) return Status::InvalidArgument("HQ did not answer with Cosigned");
      out.cosigned_note = m.getCosigned().getNote().cStr();
      return Status::Ok();
    }));
  }
  // HQ's cosignature must be on our checkpoint (an empty log has nothing to vouch for).
  ASSIGN_OR_RETURN(log::Checkpoint cosigned, log::OpenCheckpoint(out.cosigned_note, *own_->keys()));
  if (cosigned.tree_size != offered.tree_size || cosigned.root_hash != offered.root_hash) {
    return Status::Corruption("HQ cosigned size " + std::to_string(cosigned.tree_size) +
                              " instead of the offered " + std::to_string(offered.tree_size));
  }
  // The cosignature is checked once HQ's events of this round are in: a new
  // cosigner key arrives among them (cosignerKeySet).

  // HQ's log.
  LogReceiver rx(hq_copy_, LogReceiver::Mode::kSession, options_.receive_progress, options_.hq_event_check);
  Result<std::string> hq_note = rx.Receive(channel);
  if (!hq_note.ok()) {
    if (rx.refused() && rx.refused()->detail.rfind("peer refused", 0) != 0) {
      return Refuse(channel, *rx.refused());
    }
    if (rx.refused()) refused_ = rx.refused();
    return hq_note.status();
  }
  out.events_received = rx.stats().events;
  out.hq_size = hq_copy_->Size();
  if (offered.tree_size > 0) {
    ASSIGN_OR_RETURN(log::LogVerifier cosigner, HqCosigner());
    RETURN_IF_ERROR(log::VerifyCosignature(out.cosigned_note, cosigner)
                        .status()
                        .WithContext("HQ's cosignature (by its cosigner key " + cosigner.VerifierKey() + ")"));
    RETURN_IF_ERROR(own_->StoreCheckpoint(out.cosigned_note));
  }
  out.cosigned_size = cosigned.tree_size;
  if (out.events_received > 0 && options_.on_hq_events) options_.on_hq_events();
  capnp::MallocMessageBuilder m;
  m.initRoot<wire::Message>().initAck().setCopySize(hq_copy_->Size());
  RETURN_IF_ERROR(channel.Send(m));
  return out;
}

Result<log::LogVerifier> FactorySync::HqCosigner() {
  const log::LogVerifier hq = options_.hq_cosigner ? *options_.hq_cosigner : hq_copy_->verifier();
  std::vector<engine::CosignerEpoch> epochs;
  if (hq_copy_->origin() == hq.name()) {  // HQ's whole log
    ASSIGN_OR_RETURN(epochs, engine::CosignersOfHq(*hq_copy_));
  } else {  // the factory's delivery log
    ASSIGN_OR_RETURN(epochs, engine::CosignersOfDelivery(*hq_copy_, hq));
  }
  return engine::CurrentCosigner(epochs, hq);
}

Status FactorySync::Bye(FrameChannel& channel) {
  capnp::MallocMessageBuilder m;
  m.initRoot<wire::Message>().initBye();
  return channel.Send(m);
}

}  // namespace mirrorca::replication
