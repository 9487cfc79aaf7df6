#include "engine/delivery_log.h"

#include <rocksdb/write_batch.h>

#include <algorithm>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "engine/batch_authority.h"
#include "engine/log_authority.h"
#include "log/event_draft.h"

namespace mirrorca::engine {
namespace {

using Kind = log::schema::Event::Kind;

// The HQ seq up to which HQ's log was scanned for this delivery log (meta key).
std::string ScannedKey(const std::string& delivery_origin) { return "delivery/scanned/" + delivery_origin; }
// The factory's CA ids learned from HQ's log up to a seq (meta key): the HQ
// seq (8 bytes), then each 32-byte CA id.
std::string CaIdsKey(const std::string& delivery_origin) { return "delivery/ca-ids/" + delivery_origin; }

std::string EncodeU64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t DecodeU64(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

// NextToRelay: the first HQ seq not yet considered for `delivery`.
Result<uint64_t> NextToRelay(log::EventLog& delivery) {
  uint64_t next = 0;
  ASSIGN_OR_RETURN(std::optional<std::string> scanned,
                   delivery.store()->Find(delivery.store()->meta(), ScannedKey(delivery.origin())));
  if (scanned && scanned->size() == 8) next = DecodeU64(*scanned);
  if (delivery.Size() > 0) {
    ASSIGN_OR_RETURN(std::string last, delivery.ReadSignedEvent(delivery.Size() - 1));
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(last)));
    if (!e.event().getKind().isRelayed()) {
      return Status::Corruption("delivery log '" + delivery.origin() + "' holds an event that is not relayed");
    }
    next = std::max(next, e.event().getKind().getRelayed().getHqSeq() + 1);
  }
  return next;
}

}  // namespace

std::string DeliveryOrigin(const std::string& hq_origin, const std::string& factory_name) {
  return hq_origin + "/to/" + factory_name;
}

Result<log::LogVerifier> DeliveryVerifier(const log::LogVerifier& hq, const std::string& factory_name) {
  return log::LogVerifier::FromPublicKey(DeliveryOrigin(hq.name(), factory_name), hq.public_key());
}

std::string AddresseeOf(log::schema::Event::Reader event) {
  auto kind = event.getKind();
  switch (kind.which()) {
    case Kind::FACTORY_REGISTERED: return kind.getFactoryRegistered().getLogOrigin();
    case Kind::FACTORY_REMOVED: return kind.getFactoryRemoved().getLogOrigin();
    case Kind::BATCH_AUTHORIZED: return kind.getBatchAuthorized().getFactoryLogId();
    case Kind::CHECKPOINT_COSIGNED: return kind.getCheckpointCosigned().getLogId();
    case Kind::SYNC_SESSION: return kind.getSyncSession().getPeerLogId();
    case Kind::COSIGNER_KEY_SET: return std::string(kEveryFactory);
    default: return "";
  }
}

bool Addressing::Next(log::schema::Event::Reader event) {
  auto kind = event.getKind();
  if (kind.isFactoryRegistered() && std::string_view(kind.getFactoryRegistered().getLogOrigin().cStr()) == origin_) {
    for (auto der : kind.getFactoryRegistered().getCaCertificates()) {
      Result<Bytes> id = CaIdOfCertificate(ByteSpan(der.begin(), der.size()));
      if (id.ok()) ca_ids_.insert(std::move(*id));
    }
  }
  if (kind.isCertificateRevoked()) {
    const auto id = kind.getCertificateRevoked().getCaId();
    return ca_ids_.contains(Bytes(id.begin(), id.end()));
  }
  return AddressedTo(event, origin_);
}

bool AddressedTo(log::schema::Event::Reader event, const std::string& factory_origin) {
  if (factory_origin.empty()) return false;
  const std::string to = AddresseeOf(event);
  return to == factory_origin || to == kEveryFactory;
}

Result<std::unique_ptr<log::Store>> OpenDeliveryStore(const std::string& hq_data_dir) {
  log::StoreOptions o;
  o.create_if_missing = true;
  o.block_cache_bytes = 16 << 20;
  return log::Store::Open(hq_data_dir + "/delivery", o);
}

Result<uint64_t> DeliverTo(log::EventLog& hq_log, const log::LogSigner& hq_signer, log::Store* delivery_store,
                           const std::string& factory_name, const std::string& factory_origin,
                           log::EventLog& factory_copy) {
  ASSIGN_OR_RETURN(std::unique_ptr<log::EventLog> delivery, OpenDelivery(delivery_store, hq_signer, factory_name));
  RETURN_IF_ERROR(Relay(hq_log, *delivery, factory_origin).status());
  return DeliverLog(*delivery, factory_copy);
}

Result<std::unique_ptr<log::EventLog>> OpenDelivery(log::Store* store, const log::LogSigner& hq_signer,
                                                    const std::string& factory_name) {
  ASSIGN_OR_RETURN(log::LogSigner signer, hq_signer.Renamed(DeliveryOrigin(hq_signer.name(), factory_name)));
  ASSIGN_OR_RETURN(std::vector<std::string> origins, log::EventLog::ListOrigins(store));
  if (std::find(origins.begin(), origins.end(), signer.name()) == origins.end()) {
    RETURN_IF_ERROR(log::EventLog::Create(store, signer.verifier()));
  }
  const std::string origin = signer.name();
  return log::EventLog::Open(store, origin, std::move(signer));
}

Result<uint64_t> Relay(log::EventLog& hq_log, log::EventLog& delivery, const std::string& factory_origin) {
  ASSIGN_OR_RETURN(uint64_t from, NextToRelay(delivery));
  const uint64_t to = hq_log.Size();
  if (from >= to) return uint64_t{0};
  // What the events before `from` taught about the factory's CAs: kept with
  // the scan position; learned again from HQ's log when it is behind (a
  // crash between a relay and its record, or a store from before it).
  Addressing addressing(factory_origin);
  ASSIGN_OR_RETURN(std::optional<std::string> kept,
                   delivery.store()->Find(delivery.store()->meta(), CaIdsKey(delivery.origin())));
  if (kept && kept->size() >= 8 && (kept->size() - 8) % 32 == 0 && DecodeU64(kept->substr(0, 8)) == from) {
    std::set<Bytes> ids;
    for (size_t i = 8; i < kept->size(); i += 32) ids.insert(Bytes(kept->begin() + i, kept->begin() + i + 32));
    addressing = Addressing(factory_origin, std::move(ids));
  } else if (from > 0) {
    RETURN_IF_ERROR(hq_log.ForEach(0, from, [&](uint64_t, std::string_view bytes) -> Status {
      ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
      (void)addressing.Next(e.event());
      return Status::Ok();
    }));
  }
  std::vector<log::EventDraft> drafts;
  uint64_t relayed = 0;
  auto flush = [&]() -> Status {
    if (drafts.empty()) return Status::Ok();
    relayed += drafts.size();
    return delivery.Append(std::move(drafts)).status().WithContext("relay to '" + delivery.origin() + "'");
  };
  RETURN_IF_ERROR(hq_log.ForEach(from, to, [&](uint64_t seq, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    if (!addressing.Next(e.event())) return Status::Ok();
    log::EventDraft d;
    auto r = d.event().getKind().initRelayed();
    r.setHqSeq(seq);
    r.setSignedEvent(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    drafts.push_back(std::move(d));
    if (drafts.size() >= 256) {
      RETURN_IF_ERROR(flush());
      drafts.clear();
    }
    return Status::Ok();
  }));
  RETURN_IF_ERROR(flush());
  // What was scanned and found not addressed is not scanned again.
  rocksdb::WriteBatch batch;
  batch.Put(delivery.store()->meta(), ScannedKey(delivery.origin()), EncodeU64(to));
  std::string ids = EncodeU64(to);
  for (const Bytes& id : addressing.ca_ids()) ids.append(id.begin(), id.end());
  batch.Put(delivery.store()->meta(), CaIdsKey(delivery.origin()), ids);
  RETURN_IF_ERROR(delivery.store()->WriteDurably(&batch));
  return relayed;
}

Result<RelayedEvent> Unwrap(log::schema::Event::Reader delivered, const log::LogVerifier& hq) {
  if (!delivered.getKind().isRelayed()) {
    return Status::InvalidArgument("a delivery log carries only relayed HQ events");
  }
  auto r = delivered.getKind().getRelayed();
  std::string bytes(reinterpret_cast<const char*>(r.getSignedEvent().begin()), r.getSignedEvent().size());
  Result<log::ParsedEvent> e = log::ParsedEvent::Parse(AsBytes(bytes));
  if (!e.ok()) return Status::InvalidArgument("relayed event does not parse: " + e.status().ToString());
  if (std::string_view(e->event().getLogId().cStr()) != hq.name() || e->seq() != r.getHqSeq()) {
    return Status::InvalidArgument("relayed event is not HQ's event " + std::to_string(r.getHqSeq()));
  }
  if (!hq.Verify(log::EventSigningInput(e->body()), e->signature())) {
    return Status::InvalidArgument("relayed event " + std::to_string(r.getHqSeq()) + ": HQ's signature does not verify");
  }
  if (e->event().getKind().isRelayed()) return Status::InvalidArgument("a relayed event relays another");
  return RelayedEvent{r.getHqSeq(), std::move(bytes), std::move(*e)};
}

std::function<std::optional<std::string>(uint64_t, std::string_view)> DeliveredEventCheck(
    const log::LogVerifier& hq) {
  return [hq](uint64_t, std::string_view signed_event) -> std::optional<std::string> {
    Result<log::ParsedEvent> e = log::ParsedEvent::Parse(AsBytes(signed_event));
    if (!e.ok()) return e.status().ToString();
    Result<RelayedEvent> r = Unwrap(e->event(), hq);
    if (!r.ok()) return r.status().message();
    return std::nullopt;
  };
}

Status AuditDelivery(log::EventLog& hq_log, log::EventLog& delivery, const std::string& factory_origin) {
  auto bad = [&](uint64_t seq, const std::string& why) {
    return Status::FailedPrecondition("delivery log '" + delivery.origin() + "' seq " + std::to_string(seq) + ": " + why);
  };
  // The HQ seqs addressed to the factory, in order, as far as HQ's log goes.
  std::vector<uint64_t> addressed;
  Addressing addressing(factory_origin);
  RETURN_IF_ERROR(hq_log.ForEach(0, hq_log.Size(), [&](uint64_t seq, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    if (addressing.Next(e.event())) addressed.push_back(seq);
    return Status::Ok();
  }));
  size_t next = 0;
  Status found = Status::Ok();
  RETURN_IF_ERROR(delivery.ForEach(0, delivery.Size(), [&](uint64_t seq, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    Result<RelayedEvent> r = Unwrap(e.event(), hq_log.verifier());
    if (!r.ok()) return found = bad(seq, r.status().message());
    if (r->hq_seq >= hq_log.Size()) return found = bad(seq, "relays HQ seq " + std::to_string(r->hq_seq) + ", beyond HQ's log");
    ASSIGN_OR_RETURN(std::string original, hq_log.ReadSignedEvent(r->hq_seq));
    if (original != r->signed_event) return found = bad(seq, "is not HQ's event " + std::to_string(r->hq_seq));
    if (next >= addressed.size() || addressed[next] != r->hq_seq) {
      if (!std::binary_search(addressed.begin(), addressed.end(), r->hq_seq)) {
        return found = bad(seq, "relays HQ event " + std::to_string(r->hq_seq) + ", which is not addressed to '" +
                                    factory_origin + "'");
      }
      return found = bad(seq, "HQ event " + std::to_string(next < addressed.size() ? addressed[next] : r->hq_seq) +
                                  " addressed to '" + factory_origin + "' is missing or out of order");
    }
    ++next;
    return Status::Ok();
  }));
  return found;
}

}  // namespace mirrorca::engine
