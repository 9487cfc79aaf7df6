#include "audit/replay_fold.h"

#include <algorithm>

#include "base/bytes.h"

namespace mirrorca::audit {

std::string SerialStep::EncodeValue() const {
  std::string v;
  if (issuance) {
    v.push_back('i');
    v += batch;
  } else {
    v.push_back('r');
    v.push_back(static_cast<char>(reason));
    v.push_back(release ? 1 : 0);
    PutBigEndian64(v, static_cast<uint64_t>(revocation_time));
  }
  return v;
}

bool SerialStep::DecodeValue(std::string_view v, SerialStep* s) {
  if (v.empty()) return false;
  if (v[0] == 'i') {
    s->issuance = true;
    s->batch = std::string(v.substr(1));
    return true;
  }
  if (v[0] != 'r' || v.size() != 11) return false;
  s->issuance = false;
  s->reason = static_cast<uint8_t>(v[1]);
  s->release = v[2] != 0;
  s->revocation_time = static_cast<int64_t>(GetBigEndian64(v.substr(3)));
  return true;
}

std::optional<std::pair<std::string, SerialStep>> StepOf(const log::ParsedEvent& e, const std::string& origin,
                                                         uint64_t seq) {
  auto kind = e.event().getKind();
  SerialStep s;
  s.time = e.event().getTime();
  s.origin = origin;
  s.seq = seq;
  capnp::Data::Reader serial;
  if (kind.isCertificateIssued()) {
    auto c = kind.getCertificateIssued();
    s.issuance = true;
    s.batch = c.getBatchId();
    serial = c.getSerial();
  } else if (kind.isCertificateRevoked()) {
    auto c = kind.getCertificateRevoked();
    s.release = c.getRelease();
    s.reason = static_cast<int>(c.getReason());
    s.revocation_time = c.getRevocationTime();
    serial = c.getSerial();
  } else {
    return std::nullopt;
  }
  return std::make_pair(std::string(reinterpret_cast<const char*>(serial.begin()), serial.size()), std::move(s));
}

void SerialFold::Apply(const SerialStep& s) {
  if (s.issuance) {
    issued = true;
    issued_in = s.origin;
    issued_seq = s.seq;
    issued_time = s.time;
    batch = s.batch;
    return;
  }
  if (rev_state == "revoked") return;  // final
  if (s.release) {
    if (rev_state == "on_hold") {
      rev_state = "good";
      reason = 0;
      revocation_time = 0;
      revoked_in = s.origin;
      revoked_seq = s.seq;
    }
    return;
  }
  rev_state = s.reason == 6 ? "on_hold" : "revoked";
  reason = s.reason;
  revocation_time = s.revocation_time;
  revoked_in = s.origin;
  revoked_seq = s.seq;
}

CertificateAt SerialFold::Answer() const {
  CertificateAt a;
  a.state = State();
  if (!issued) return a;
  a.issued = true;
  a.issued_in = issued_in;
  a.issued_seq = issued_seq;
  a.issued_time = issued_time;
  a.batch = batch;
  a.reason = reason;
  a.revocation_time = revocation_time;
  a.revoked_in = revoked_in;
  a.revoked_seq = revoked_seq;
  return a;
}

SerialFold Fold(std::vector<SerialStep> steps) {
  std::sort(steps.begin(), steps.end());
  SerialFold f;
  for (const SerialStep& s : steps) f.Apply(s);
  return f;
}

}  // namespace mirrorca::audit
