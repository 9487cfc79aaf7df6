#include "engine/status_records.h"

#include <algorithm>

namespace mirrorca::engine {
namespace {

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

std::string StatusKey(std::string_view kind, std::string_view rest) {
  std::string k(kStatusPrefix);
  k += kind;
  k += rest;
  return k;
}

std::string BatchKey(std::string_view factory_origin, std::string_view batch_id) {
  std::string k(factory_origin);
  k.push_back('\0');
  k += batch_id;
  return k;
}

std::string CertKeySuffix(ByteSpan ca_id, ByteSpan serial) {
  std::string s(reinterpret_cast<const char*>(ca_id.data()), ca_id.size());
  s.append(reinterpret_cast<const char*>(serial.data()), serial.size());
  return s;
}

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

CrlState DecodeCrlState(std::string_view b) {
  CrlState st;
  if (b.size() != 50) return st;
  st.last_number = GetBigEndian64(b.substr(0, 8));
  st.last_full_number = GetBigEndian64(b.substr(8, 8));
  st.last_full_seq = GetBigEndian64(b.substr(16, 8));
  st.last_full_this_update = static_cast<int64_t>(GetBigEndian64(b.substr(24, 8)));
  st.has_full = b[32] != 0;
  st.last_crl_seq = GetBigEndian64(b.substr(33, 8));
  st.last_revocation_seq = GetBigEndian64(b.substr(41, 8));
  st.has_revocation = b[49] != 0;
  return st;
}

}  // namespace mirrorca::engine
