#include "engine/replay.h"

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "base/status_macros.h"
#include "log/event_codec.h"
#include "log/event_log.h"
#include "log/local_log.h"

namespace mirrorca::engine {
namespace {

std::string Key(ByteSpan s) { return std::string(reinterpret_cast<const char*>(s.data()), s.size()); }

struct Revocation {
  std::string origin;
  uint64_t seq = 0;
  std::string serial;
  bool release = false;
  int reason = 0;
  int64_t time = 0;
};

// CertState applies revocations in HQ-log order with the projection's rules:
// a release ends a hold only; a final revocation stays final.
void Apply(CertificateAt& c, const Revocation& r) {
  if (c.state == "revoked") return;
  if (r.release) {
    if (c.state == "on_hold") {
      c.state = "good";
      c.reason = 0;
      c.revocation_time = 0;
      c.revoked_in = r.origin;
      c.revoked_seq = r.seq;
    }
    return;
  }
  c.state = r.reason == 6 ? "on_hold" : "revoked";
  c.reason = r.reason;
  c.revocation_time = r.time;
  c.revoked_in = r.origin;
  c.revoked_seq = r.seq;
}

}  // namespace

Result<ReplayAnswer> Replay(const std::string& data_dir, const ReplayQuery& q) {
  ASSIGN_OR_RETURN(auto store, log::Store::Open(log::StorePath(data_dir), {.read_only = true}));
  ASSIGN_OR_RETURN(std::vector<std::string> origins, log::EventLog::ListOrigins(store.get()));
  ReplayAnswer out;
  std::map<std::string, CertificateAt> issued;  // serial -> issuance (for the query)
  std::vector<Revocation> revocations;          // in each log's order
  BatchAt batch;
  std::set<std::string> batch_serials;
  const std::string wanted = q.serial ? Key(*q.serial) : std::string();
  for (const std::string& origin : origins) {
    ASSIGN_OR_RETURN(auto l, log::EventLog::Open(store.get(), origin, std::nullopt));
    // "name+keyid" of the log key (the name never holds a '+').
    const std::string vkey = l->verifier().VerifierKey();
    const std::string signer = vkey.substr(0, vkey.find('+', vkey.find('+') + 1));
    uint64_t replayed = 0;
    Status s = l->ForEach(0, l->Size(), [&](uint64_t seq, std::string_view bytes) -> Status {
      ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
      if (e.event().getTime() > q.at) return Status::OutOfRange("after the instant");  // time-ordered
      ++replayed;
      auto kind = e.event().getKind();
      if (kind.isCertificateIssued()) {
        auto c = kind.getCertificateIssued();
        const std::string serial = Key(ByteSpan(c.getSerial().begin(), c.getSerial().size()));
        const bool in_batch = !q.batch.empty() && q.batch == c.getBatchId().cStr();
        if (in_batch) {
          batch.issued++;
          batch_serials.insert(serial);
        }
        if (serial == wanted || in_batch) {
          CertificateAt& a = issued[serial];
          a.issued = true;
          a.issued_in = origin;
          a.issued_seq = seq;
          a.issued_time = e.event().getTime();
          a.signed_by = signer;
          a.batch = c.getBatchId();
          a.device_serial = c.getDeviceSerial();
          a.state = "good";
        }
      } else if (kind.isIssuanceRejected()) {
        if (!q.batch.empty() && q.batch == kind.getIssuanceRejected().getBatchId().cStr()) batch.rejected++;
      } else if (kind.isBatchAuthorized()) {
        if (!q.batch.empty() && q.batch == kind.getBatchAuthorized().getBatchId().cStr()) {
          batch.authorized = kind.getBatchAuthorized().getQuota();
        }
      } else if (kind.isCertificateRevoked()) {
        auto c = kind.getCertificateRevoked();
        revocations.push_back({origin, seq, Key(ByteSpan(c.getSerial().begin(), c.getSerial().size())),
                               c.getRelease(), static_cast<int>(c.getReason()), c.getRevocationTime()});
      } else if (kind.isCheckpointCosigned()) {
        auto c = kind.getCheckpointCosigned();
        uint64_t& size = out.cosigned[c.getLogId()];
        size = std::max(size, c.getTreeSize());
      }
      return Status::Ok();
    });
    if (!s.ok() && s.code() != StatusCode::kOutOfRange) return s;
    out.events[origin] = replayed;
  }
  // Revocations apply to certificates issued by then (a revocation is only
  // accepted for an issued serial), in their log's order.
  for (const Revocation& r : revocations) {
    auto it = issued.find(r.serial);
    if (it != issued.end()) Apply(it->second, r);
  }
  if (q.serial) {
    auto it = issued.find(wanted);
    out.certificate = it != issued.end() ? it->second : CertificateAt{};
  }
  if (!q.batch.empty()) {
    for (const std::string& serial : batch_serials) {
      const CertificateAt& c = issued[serial];
      batch.revoked += c.state == "revoked";
      batch.on_hold += c.state == "on_hold";
    }
    out.batch = batch;
  }
  return out;
}

}  // namespace mirrorca::engine
