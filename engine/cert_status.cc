#include "engine/cert_status.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <set>
#include <memory>

#include "base/status_macros.h"
#include "log/event_codec.h"

namespace mirrorca::engine {
namespace {

constexpr std::string_view kPrefix = "status/v1/";
constexpr uint64_t kChunk = 8192;  // events per durable projection step

std::string Key(std::string_view kind, std::string_view rest) {
  std::string k(kPrefix);
  k += kind;
  k += rest;
  return k;
}

std::string CertKeySuffix(ByteSpan ca_id, ByteSpan serial) {
  std::string s(reinterpret_cast<const char*>(ca_id.data()), ca_id.size());
  s.append(reinterpret_cast<const char*>(serial.data()), serial.size());
  return s;
}

void PutI64(std::string& out, int64_t v) { PutBigEndian64(out, static_cast<uint64_t>(v)); }
void PutStr(std::string& out, const std::string& s) {
  const size_t n = std::min<size_t>(s.size(), 0xffff);
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(s.data(), n);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(uint8_t& v) {
    if (in_.size() < 1) return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool U64(uint64_t& v) {
    if (in_.size() < 8) return false;
    v = GetBigEndian64(in_);
    in_.remove_prefix(8);
    return true;
  }
  bool I64(int64_t& v) {
    uint64_t u;
    if (!U64(u)) return false;
    v = static_cast<int64_t>(u);
    return true;
  }
  bool Str(std::string& s) {
    if (in_.size() < 2) return false;
    size_t n = (static_cast<uint8_t>(in_[0]) << 8) | static_cast<uint8_t>(in_[1]);
    in_.remove_prefix(2);
    if (in_.size() < n) return false;
    s.assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool Done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string EncodeRecord(const CertRecord& r) {
  std::string out;
  out.push_back(1);  // record format
  out.push_back(r.issued ? 1 : 0);
  out.push_back(static_cast<char>(r.state));
  out.push_back(static_cast<char>(r.reason));
  PutI64(out, r.not_after);
  PutI64(out, r.revocation_time);
  PutI64(out, r.invalidity_date);
  PutBigEndian64(out, r.issued_seq);
  PutBigEndian64(out, r.revoked_seq);
  PutStr(out, r.batch_id);
  PutStr(out, r.device_serial);
  PutStr(out, r.issued_in);
  return out;
}

Result<CertRecord> DecodeRecord(std::string_view bytes) {
  Reader in(bytes);
  CertRecord r;
  uint8_t format, issued, state;
  bool ok = in.U8(format) && format == 1 && in.U8(issued) && in.U8(state) && state <= 2 &&
            in.U8(r.reason) && in.I64(r.not_after) && in.I64(r.revocation_time) &&
            in.I64(r.invalidity_date) && in.U64(r.issued_seq) && in.U64(r.revoked_seq) &&
            in.Str(r.batch_id) && in.Str(r.device_serial) && in.Str(r.issued_in) && in.Done();
  if (!ok) return Status::Corruption("bad certificate status record");
  r.issued = issued != 0;
  r.state = static_cast<CertState>(state);
  return r;
}

Result<std::unique_ptr<CertStatus>> CertStatus::Open(log::Store* store) {
  std::unique_ptr<CertStatus> s(new CertStatus(store));
  Result<std::string> v = store->Get(store->meta(), Key("schema", ""));
  if (v.ok() && *v == std::to_string(kSchemaVersion)) return s;
  if (!v.ok() && v.status().code() != StatusCode::kNotFound) return v.status();
  // New or of another schema version: start over (CatchUp rebuilds it).
  RETURN_IF_ERROR(s->Clear());
  rocksdb::WriteBatch batch;
  batch.Put(store->meta(), Key("schema", ""), std::to_string(kSchemaVersion));
  RETURN_IF_ERROR(store->WriteDurably(&batch));
  return s;
}

Result<std::unique_ptr<CertStatus>> CertStatus::OpenExisting(log::Store* store) {
  Result<std::string> v = store->Get(store->meta(), Key("schema", ""));
  if (!v.ok() && v.status().code() != StatusCode::kNotFound) return v.status();
  if (!v.ok() || *v != std::to_string(kSchemaVersion)) {
    return Status::FailedPrecondition(
        "no certificate-status projection of schema " + std::to_string(kSchemaVersion) +
        " in this store yet: `mirrorca hq serve` builds it");
  }
  return std::unique_ptr<CertStatus>(new CertStatus(store));
}

Result<std::string> CertStatus::Positions() {
  const std::string prefix = Key("pos/", "");
  std::string out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->meta()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.append(it->key().data(), it->key().size());
    out.append(it->value().data(), it->value().size());
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return out;
}

Status CertStatus::Clear() {
  rocksdb::WriteBatch batch;
  std::string begin(kPrefix), end(kPrefix);
  end.back() = static_cast<char>(end.back() + 1);
  batch.DeleteRange(store_->meta(), begin, end);
  return store_->WriteDurably(&batch);
}

uint64_t CertStatus::Position(const std::string& origin) {
  Result<std::string> v = store_->Get(store_->meta(), Key("pos/", origin));
  return v.ok() && v->size() == 8 ? GetBigEndian64(*v) : 0;
}

Result<std::optional<CertRecord>> CertStatus::Get(ByteSpan ca_id, ByteSpan serial) {
  Result<std::string> v = store_->Get(store_->meta(), Key("cert/", CertKeySuffix(ca_id, serial)));
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound) return std::optional<CertRecord>();
    return v.status();
  }
  ASSIGN_OR_RETURN(CertRecord r, DecodeRecord(*v));
  return std::optional<CertRecord>(std::move(r));
}

namespace {

std::string EncodeCrlState(const CrlState& st) {
  std::string v;
  PutBigEndian64(v, st.last_number);
  PutBigEndian64(v, st.last_full_number);
  PutBigEndian64(v, st.last_full_seq);
  PutBigEndian64(v, static_cast<uint64_t>(st.last_full_this_update));
  v.push_back(st.has_full ? 1 : 0);
  PutBigEndian64(v, st.last_crl_seq);
  PutBigEndian64(v, st.last_revocation_seq);
  v.push_back(st.has_revocation ? 1 : 0);
  return v;
}

std::string EncodeTally(const BatchTally& t) {
  std::string v;
  v.push_back(1);  // format
  PutBigEndian64(v, t.quota);
  PutBigEndian64(v, t.issued);
  PutBigEndian64(v, t.rejected);
  PutBigEndian64(v, t.revoked);
  PutBigEndian64(v, t.held);
  v.push_back(t.closed ? 1 : 0);
  PutStr(v, t.factory);
  return v;
}

Result<BatchTally> DecodeTally(std::string_view bytes) {
  Reader in(bytes);
  BatchTally t;
  uint8_t format, closed;
  bool ok = in.U8(format) && format == 1 && in.U64(t.quota) && in.U64(t.issued) &&
            in.U64(t.rejected) && in.U64(t.revoked) && in.U64(t.held) && in.U8(closed) &&
            in.Str(t.factory) && in.Done();
  if (!ok) return Status::Corruption("bad batch tally");
  t.closed = closed != 0;
  return t;
}

}  // namespace

Result<uint64_t> CertStatus::CatchUp(log::EventLog& log, uint64_t until) {
  const std::string origin = log.origin();
  uint64_t pos = Position(origin);
  const uint64_t size = std::min(log.Size(), until);
  const uint64_t start = pos;
  while (pos < size) {
    const uint64_t end = std::min(size, pos + kChunk);
    struct Change {
      std::optional<CertRecord> before;  // as stored before this step
      CertRecord now;
    };
    std::map<std::string, Change> changed;       // cert key suffix -> record
    std::map<std::string, CrlState> crls;        // caId -> CRL numbers
    std::map<std::string, BatchTally> tallies;   // batch id -> ledger
    rocksdb::WriteBatch batch;
    auto record = [&](ByteSpan ca, ByteSpan serial) -> Result<CertRecord*> {
      std::string k = CertKeySuffix(ca, serial);
      auto it = changed.find(k);
      if (it == changed.end()) {
        ASSIGN_OR_RETURN(std::optional<CertRecord> held, Get(ca, serial));
        it = changed.emplace(k, Change{held, held.value_or(CertRecord{})}).first;
      }
      return &it->second.now;
    };
    auto crl = [&](ByteSpan ca_id) -> CrlState& {
      std::string ca(reinterpret_cast<const char*>(ca_id.data()), ca_id.size());
      auto it = crls.find(ca);
      if (it == crls.end()) it = crls.emplace(ca, Crl(ca_id)).first;
      return it->second;
    };
    Status tally_status = Status::Ok();
    auto tally = [&](const std::string& batch_id) -> BatchTally& {
      auto it = tallies.find(batch_id);
      if (it == tallies.end()) {
        Result<std::optional<BatchTally>> held = Tally(batch_id);
        if (!held.ok()) tally_status = held.status();
        it = tallies.emplace(batch_id, held.ok() ? held->value_or(BatchTally{}) : BatchTally{}).first;
      }
      return it->second;
    };
    Status s = log.ForEach(pos, end, [&](uint64_t seq, std::string_view bytes) -> Status {
      ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
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
        std::string idx = c.getBatchId();
        idx.push_back('\0');
        idx += CertKeySuffix(ca, serial);
        batch.Put(store_->meta(), Key("batch/", idx), "");
        tally(c.getBatchId()).issued++;
      } else if (kind.isIssuanceRejected()) {
        tally(kind.getIssuanceRejected().getBatchId()).rejected++;
      } else if (kind.isBatchAuthorized()) {
        auto b = kind.getBatchAuthorized();
        BatchTally& t = tally(b.getBatchId());
        t.quota = b.getQuota();
        t.factory = b.getFactoryLogId();
      } else if (kind.isBatchClosed()) {
        tally(kind.getBatchClosed().getBatchId()).closed = true;
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
    RETURN_IF_ERROR(s.WithContext("project " + origin));
    // Revoked and held counts follow the records: remove what a record
    // counted before this step, add what it counts now. Both depend only on
    // the record, so the order in which logs are projected does not matter.
    auto count = [&](const CertRecord& r, int64_t sign) {
      if (r.batch_id.empty()) return;  // not (yet) known as issued
      if (r.state == CertState::kGood) return;
      BatchTally& t = tally(r.batch_id);
      uint64_t& n = r.state == CertState::kRevoked ? t.revoked : t.held;
      n = static_cast<uint64_t>(static_cast<int64_t>(n) + sign);
    };
    for (const auto& [k, c] : changed) {
      if (c.before) count(*c.before, -1);
      count(c.now, +1);
      const std::string value = EncodeRecord(c.now);
      batch.Put(store_->meta(), Key("cert/", k), value);
      if (c.now.revoked_seq != 0 || c.now.state != CertState::kGood) {
        batch.Put(store_->meta(), Key("rev/", k), value);
      }
    }
    RETURN_IF_ERROR(tally_status);
    for (const auto& [ca, st] : crls) batch.Put(store_->meta(), Key("crl/", ca), EncodeCrlState(st));
    for (const auto& [id, t] : tallies) batch.Put(store_->meta(), Key("ledger/", id), EncodeTally(t));
    std::string p;
    PutBigEndian64(p, end);
    batch.Put(store_->meta(), Key("pos/", origin), p);
    RETURN_IF_ERROR(store_->WriteDurably(&batch));
    pos = end;
  }
  return pos - start;
}

Status CertStatus::ForEachRevoked(
    ByteSpan ca_id, const std::function<Status(ByteSpan serial, const CertRecord&)>& fn) {
  const std::string prefix = Key("rev/", std::string(reinterpret_cast<const char*>(ca_id.data()),
                                                     ca_id.size()));
  // A bulk scan (a million entries for a full CRL): read ahead, and keep
  // the block cache for the point lookups OCSP makes.
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(ro, store_->meta()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view suffix(it->key().data() + Key("rev/", "").size(),
                            it->key().size() - Key("rev/", "").size());
    ASSIGN_OR_RETURN(CertRecord r, DecodeRecord(std::string_view(it->value().data(), it->value().size())));
    const std::string_view serial = suffix.substr(ca_id.size());
    RETURN_IF_ERROR(fn(AsBytes(serial), r));
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return Status::Ok();
}

CrlState CertStatus::Crl(ByteSpan ca_id) {
  CrlState st;
  Result<std::string> v = store_->Get(
      store_->meta(), Key("crl/", std::string(reinterpret_cast<const char*>(ca_id.data()), ca_id.size())));
  if (v.ok() && v->size() == 50) {
    const std::string_view b(*v);
    st.last_number = GetBigEndian64(b.substr(0, 8));
    st.last_full_number = GetBigEndian64(b.substr(8, 8));
    st.last_full_seq = GetBigEndian64(b.substr(16, 8));
    st.last_full_this_update = static_cast<int64_t>(GetBigEndian64(b.substr(24, 8)));
    st.has_full = b[32] != 0;
    st.last_crl_seq = GetBigEndian64(b.substr(33, 8));
    st.last_revocation_seq = GetBigEndian64(b.substr(41, 8));
    st.has_revocation = b[49] != 0;
  }
  return st;
}

Status CertStatus::ForEachRevokedSince(
    log::EventLog& hq_log, ByteSpan ca_id, uint64_t from_seq,
    const std::function<Status(ByteSpan serial, const CertRecord&)>& fn) {
  const uint64_t end = std::min(hq_log.Size(), Position(hq_log.origin()));
  std::set<std::string> serials;
  RETURN_IF_ERROR(hq_log.ForEach(from_seq, end, [&](uint64_t, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    auto kind = e.event().getKind();
    if (!kind.isCertificateRevoked()) return Status::Ok();
    auto c = kind.getCertificateRevoked();
    if (!std::ranges::equal(ByteSpan(c.getCaId().begin(), c.getCaId().size()), ca_id)) {
      return Status::Ok();
    }
    serials.emplace(reinterpret_cast<const char*>(c.getSerial().begin()), c.getSerial().size());
    return Status::Ok();
  }));
  for (const std::string& serial : serials) {
    ASSIGN_OR_RETURN(std::optional<CertRecord> r, Get(ca_id, AsBytes(serial)));
    if (!r) return Status::Corruption("a revoked certificate without a record");
    RETURN_IF_ERROR(fn(AsBytes(serial), *r));
  }
  return Status::Ok();
}

Result<std::optional<BatchTally>> CertStatus::Tally(const std::string& batch_id) {
  Result<std::string> v = store_->Get(store_->meta(), Key("ledger/", batch_id));
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound) return std::optional<BatchTally>();
    return v.status();
  }
  ASSIGN_OR_RETURN(BatchTally t, DecodeTally(*v));
  return std::optional<BatchTally>(std::move(t));
}

Result<std::vector<std::pair<std::string, BatchTally>>> CertStatus::Tallies() {
  const std::string prefix = Key("ledger/", "");
  std::vector<std::pair<std::string, BatchTally>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->meta()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ASSIGN_OR_RETURN(BatchTally t, DecodeTally(std::string_view(it->value().data(), it->value().size())));
    out.emplace_back(std::string(it->key().data() + prefix.size(), it->key().size() - prefix.size()),
                     std::move(t));
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return out;
}

Result<std::vector<std::pair<Bytes, Bytes>>> CertStatus::SerialsOfBatch(const std::string& batch_id) {
  std::string prefix = Key("batch/", batch_id);
  prefix.push_back('\0');
  std::vector<std::pair<Bytes, Bytes>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->meta()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view rest(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    if (rest.size() < 33) return Status::Corruption("bad batch index key");
    out.emplace_back(Bytes(rest.begin(), rest.begin() + 32), Bytes(rest.begin() + 32, rest.end()));
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return out;
}

}  // namespace mirrorca::engine
