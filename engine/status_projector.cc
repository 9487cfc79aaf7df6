#include "engine/status_projector.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status_macros.h"
#include "engine/status_records.h"
#include "log/event_codec.h"

namespace mirrorca::engine {

Result<uint64_t> ProjectedPosition(ProjectionTarget& target, const std::string& origin) {
  ASSIGN_OR_RETURN(std::optional<std::string> v, target.Get(StatusKey("pos/", origin)));
  return v && v->size() == 8 ? GetBigEndian64(*v) : 0;
}

void PutSchema(ProjectionTarget& target) {
  target.Put(StatusKey("schema", ""), std::to_string(kStatusSchemaVersion));
}

Status ProjectStep(ProjectionTarget& target, const std::string& origin, uint64_t end,
                   const LogAuthority& authority, const EventSource& source) {
  struct Change {
    std::optional<CertRecord> before;  // as committed before this step
    CertRecord now;
  };
  Status read_status = Status::Ok();  // of the lookups that cannot return one
  std::map<std::string, Change> changed;       // cert key suffix -> record
  std::map<std::string, CrlState> crls;        // caId -> CRL numbers
  std::map<std::string, BatchTally> tallies;   // BatchKey -> ledger
  std::vector<std::string> batch_index;        // BatchKey \0 caId serial
  auto record = [&](ByteSpan ca, ByteSpan serial) -> Result<CertRecord*> {
    std::string k = CertKeySuffix(ca, serial);
    auto it = changed.find(k);
    if (it == changed.end()) {
      ASSIGN_OR_RETURN(std::optional<std::string> bytes, target.Get(StatusKey("cert/", k)));
      std::optional<CertRecord> held;
      if (bytes) {
        ASSIGN_OR_RETURN(CertRecord decoded, DecodeRecord(*bytes));
        held = std::move(decoded);
      }
      it = changed.emplace(k, Change{held, held.value_or(CertRecord{})}).first;
    }
    return &it->second.now;
  };
  auto crl = [&](ByteSpan ca_id) -> CrlState& {
    std::string ca(reinterpret_cast<const char*>(ca_id.data()), ca_id.size());
    auto it = crls.find(ca);
    if (it == crls.end()) {
      Result<std::optional<std::string>> held = target.Get(StatusKey("crl/", ca));
      if (!held.ok()) read_status = held.status();
      it = crls.emplace(ca, held.ok() && *held ? DecodeCrlState(**held) : CrlState{}).first;
    }
    return it->second;
  };
  auto tally = [&](const std::string& factory_origin, const std::string& batch_id) -> BatchTally& {
    const std::string key = BatchKey(factory_origin, batch_id);
    auto it = tallies.find(key);
    if (it == tallies.end()) {
      Result<std::optional<std::string>> held = target.Get(StatusKey("ledger/", key));
      BatchTally t;
      if (!held.ok()) {
        read_status = held.status();
      } else if (*held) {
        Result<BatchTally> decoded = DecodeTally(**held);
        if (decoded.ok()) {
          t = std::move(*decoded);
        } else {
          read_status = decoded.status();
        }
      }
      t.factory = factory_origin;
      it = tallies.emplace(key, std::move(t)).first;
    }
    return it->second;
  };
  Status s = source([&](uint64_t seq, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    if (authority.Check(origin, e.event())) return Status::Ok();  // not this log's to say
    auto kind = e.event().getKind();
    if (kind.isCertificateIssued()) {
      auto c = kind.getCertificateIssued();
      ByteSpan ca(c.getCaId().begin(), c.getCaId().size());
      ByteSpan serial(c.getSerial().begin(), c.getSerial().size());
      ASSIGN_OR_RETURN(CertRecord * r, record(ca, serial));
      r->issued = true;
      r->not_after = c.getNotAfter();
      r->batch_id = c.getBatchId();
      r->device_serial = c.getDeviceSerial();
      r->issued_in = origin;
      r->issued_seq = seq;
      if (c.getBatchId().size() > 0) {  // HQ's own certificates (OCSP responders) are in no batch
        std::string idx = BatchKey(origin, c.getBatchId().cStr());
        idx.push_back('\0');
        idx += CertKeySuffix(ca, serial);
        batch_index.push_back(std::move(idx));
        tally(origin, c.getBatchId()).issued++;
      }
    } else if (kind.isIssuanceRejected()) {
      tally(origin, kind.getIssuanceRejected().getBatchId()).rejected++;
    } else if (kind.isBatchAuthorized()) {
      auto b = kind.getBatchAuthorized();
      tally(b.getFactoryLogId(), b.getBatchId()).quota = b.getQuota();
    } else if (kind.isBatchClosed()) {
      tally(origin, kind.getBatchClosed().getBatchId()).closed = true;
    } else if (kind.isCrlPublished()) {
      auto c = kind.getCrlPublished();
      CrlState& st = crl(ByteSpan(c.getCaId().begin(), c.getCaId().size()));
      st.last_number = std::max(st.last_number, c.getCrlNumber());
      st.last_crl_seq = seq;
      if (!c.getIsDelta()) {
        st.last_full_number = c.getCrlNumber();
        st.last_full_seq = seq;
        st.last_full_this_update = c.getThisUpdate();
        st.has_full = true;
      }
    } else if (kind.isCertificateRevoked()) {
      auto c = kind.getCertificateRevoked();
      ByteSpan ca(c.getCaId().begin(), c.getCaId().size());
      ByteSpan serial(c.getSerial().begin(), c.getSerial().size());
      ASSIGN_OR_RETURN(CertRecord * r, record(ca, serial));
      CrlState& st = crl(ca);
      st.last_revocation_seq = seq;
      st.has_revocation = true;
      r->revoked_seq = seq;
      if (c.getRelease()) {
        if (r->state == CertState::kHold) {
          r->state = CertState::kGood;
          r->reason = 0;
          r->revocation_time = c.getRevocationTime();  // when released (removeFromCRL)
          r->invalidity_date = 0;
        }
      } else if (r->state != CertState::kRevoked) {  // a final revocation stays final
        const auto reason = static_cast<uint8_t>(c.getReason());
        r->state = reason == 6 ? CertState::kHold : CertState::kRevoked;
        r->reason = reason;
        r->revocation_time = c.getRevocationTime();
        r->invalidity_date = c.getInvalidityDate();
      }
    }
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  RETURN_IF_ERROR(read_status);
  // Revoked and held counts follow the records: remove what a record
  // counted before this step, add what it counts now. Both depend only on
  // the record, so the order in which logs are projected does not matter.
  auto count = [&](const CertRecord& r, int64_t sign) {
    if (!r.issued || r.batch_id.empty()) return;  // not (yet) known as issued
    if (r.state == CertState::kGood) return;
    BatchTally& t = tally(r.issued_in, r.batch_id);
    uint64_t& n = r.state == CertState::kRevoked ? t.revoked : t.held;
    n = static_cast<uint64_t>(static_cast<int64_t>(n) + sign);
  };
  for (const auto& [k, c] : changed) {
    if (c.before) count(*c.before, -1);
    count(c.now, +1);
  }
  RETURN_IF_ERROR(read_status);
  // Nothing is Put before every event of the step is applied: a failed step
  // leaves the target as it was.
  for (std::string& idx : batch_index) target.Put(StatusKey("batch/", idx), "");
  for (const auto& [k, c] : changed) {
    std::string value = EncodeRecord(c.now);
    if (c.now.revoked_seq != 0 || c.now.state != CertState::kGood) target.Put(StatusKey("rev/", k), value);
    target.Put(StatusKey("cert/", k), std::move(value));
  }
  for (const auto& [ca, st] : crls) target.Put(StatusKey("crl/", ca), EncodeCrlState(st));
  for (const auto& [id, t] : tallies) target.Put(StatusKey("ledger/", id), EncodeTally(t));
  std::string p;
  PutBigEndian64(p, end);
  target.Put(StatusKey("pos/", origin), std::move(p));
  return target.Commit();
}

}  // namespace mirrorca::engine
