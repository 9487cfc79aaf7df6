// EventDraft: an event a caller wants appended, before the log gives it its
// header (log id, seq, time, prevHash) and signs it. The caller fills only
// the kind:
//
//   EventDraft d;
//   auto issued = d.event().getKind().initCertificateIssued();
//   issued.setBatchId("B1");
//   ...
//   log->Append(std::move(drafts));
//
// Thread-safety: not thread-safe; owned by one caller until handed to Append.
#ifndef MIRRORCA_LOG_EVENT_DRAFT_H_
#define MIRRORCA_LOG_EVENT_DRAFT_H_

#include <capnp/message.h>

#include <memory>

#include "log/events.capnp.h"

namespace mirrorca::log {

class EventDraft {
 public:
  EventDraft()
      // A small first segment: most events fit in 1 KiB, and the default 8 KiB
      // zeroed segment per draft costs more than encoding it.
      : message_(std::make_unique<capnp::MallocMessageBuilder>(128)),
        event_(message_->initRoot<schema::Event>()) {}

  // event returns the builder to fill. Header fields set here are overwritten.
  schema::Event::Builder event() { return event_; }

 private:
  std::unique_ptr<capnp::MallocMessageBuilder> message_;
  schema::Event::Builder event_;
};

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_EVENT_DRAFT_H_
