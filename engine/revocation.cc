#include "engine/revocation.h"

#include <array>
#include <set>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "log/event_draft.h"

namespace mirrorca::engine {
namespace {

constexpr std::array<std::string_view, 11> kReasons = {
    "unspecified",          "keyCompromise", "cACompromise",    "affiliationChanged",
    "superseded",           "cessationOfOperation", "certificateHold", "",
    "removeFromCRL",        "privilegeWithdrawn",   "aACompromise"};

struct Target {
  Bytes ca_id;
  Bytes serial;
  CertRecord record;
};

log::EventDraft Draft(const Target& t, const RevocationRequest& r, int reason, int64_t when) {
  log::EventDraft d;
  auto c = d.event().getKind().initCertificateRevoked();
  c.setCaId(capnp::Data::Reader(t.ca_id.data(), t.ca_id.size()));
  c.setSerial(capnp::Data::Reader(t.serial.data(), t.serial.size()));
  c.setReason(static_cast<log::schema::RevocationReason>(reason));
  c.setRevocationTime(when);
  c.setInvalidityDate(r.invalidity_date);
  c.setRelease(r.release);
  c.setBatchId(r.batch_id.empty() ? t.record.batch_id : r.batch_id);
  c.setRequestedBy(r.requested_by);
  return d;
}

}  // namespace

std::string_view ReasonName(int reason) {
  if (reason < 0 || reason >= static_cast<int>(kReasons.size()) || kReasons[reason].empty()) return "unspecified";
  return kReasons[reason];
}

Result<int> ParseReason(const std::string& name) {
  for (size_t i = 0; i < kReasons.size(); ++i) {
    if (!kReasons[i].empty() && (name == kReasons[i] || name == std::to_string(i))) {
      return static_cast<int>(i);
    }
  }
  return Status::InvalidArgument("unknown revocation reason '" + name +
                                 "' (keyCompromise, cACompromise, affiliationChanged, superseded, "
                                 "cessationOfOperation, privilegeWithdrawn, aACompromise, "
                                 "unspecified)");
}

Result<std::vector<Bytes>> ParseSerialList(std::string_view text) {
  std::vector<Bytes> out;
  std::set<Bytes> seen;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::string hex;
    for (char c : line) {
      if (c == ' ' || c == '\t' || c == '\r' || c == ':') continue;
      hex.push_back(c);
    }
    if (hex.rfind("serial=", 0) == 0) hex.erase(0, 7);
    if (hex.empty()) continue;
    if (hex.size() % 2 != 0) hex.insert(hex.begin(), '0');
    Result<Bytes> serial = HexDecode(hex);
    if (!serial.ok() || serial->empty() || serial->size() > 20) {
      return Status::InvalidArgument("line " + std::to_string(line_no) + ": '" + std::string(line.substr(0, 64)) +
                                     "' is not a certificate serial (hex, at most 20 bytes)");
    }
    while (serial->size() > 1 && serial->front() == 0) serial->erase(serial->begin());  // as the status store keys them
    if (!seen.insert(*serial).second) continue;
    if (out.size() == kMaxSerialList) {
      return Status::ResourceExhausted("more than " + std::to_string(kMaxSerialList) + " serials in one list");
    }
    out.push_back(std::move(*serial));
  }
  if (out.empty()) return Status::InvalidArgument("the list names no serial");
  return out;
}

Result<RevocationResult> Revoke(log::EventLog& hq_log, CertStatus& status,
                                const std::vector<Bytes>& ca_ids, const RevocationRequest& r,
                                int64_t now_micros) {
  if (r.hold && r.release) return Status::InvalidArgument("--hold and --release exclude each other");
  if (static_cast<int>(!r.serial.empty()) + static_cast<int>(!r.batch_id.empty()) +
          static_cast<int>(!r.serials.empty()) != 1) {
    return Status::InvalidArgument("name exactly one of a serial, a list of serials or a batch");
  }
  int reason = r.reason;
  if (r.hold) reason = 6;
  if (r.release) reason = 8;
  if (!r.hold && !r.release && (reason < 0 || reason > 10 || reason == 6 || reason == 7 || reason == 8)) {
    return Status::InvalidArgument("reason " + std::to_string(reason) +
                                   " is not allowed here (certificateHold: --hold; removeFromCRL: --release)");
  }
  std::vector<Target> targets;
  if (!r.serial.empty()) {
    for (const Bytes& ca : ca_ids) {
      ASSIGN_OR_RETURN(std::optional<CertRecord> rec, status.Get(ca, r.serial));
      if (rec && rec->issued) targets.push_back({ca, r.serial, *rec});
    }
    if (targets.empty()) {
      return Status::NotFound("serial " + HexEncode(r.serial) +
                              " was never issued by a CA of this HQ (per the logs)");
    }
    if (targets.size() > 1) {
      return Status::InvalidArgument("serial " + HexEncode(r.serial) + " exists under several CAs");
    }
  } else if (!r.serials.empty()) {
    for (const Bytes& serial : r.serials) {
      size_t found = 0;
      for (const Bytes& ca : ca_ids) {
        ASSIGN_OR_RETURN(std::optional<CertRecord> rec, status.Get(ca, serial));
        if (rec && rec->issued) {
          targets.push_back({ca, serial, *rec});
          ++found;
        }
      }
      if (found == 0) {
        return Status::NotFound("serial " + HexEncode(serial) +
                                " of the list was never issued by a CA of this HQ (per the logs): nothing was revoked");
      }
      if (found > 1) return Status::InvalidArgument("serial " + HexEncode(serial) + " exists under several CAs");
    }
  } else {
    if (r.factory_origin.empty()) return Status::InvalidArgument("a batch revocation names the factory of the batch");
    ASSIGN_OR_RETURN(auto members, status.SerialsOfBatch(r.factory_origin, r.batch_id));
    if (members.empty()) {
      return Status::NotFound("batch " + r.batch_id + " of " + r.factory_origin + " has no certificate");
    }
    for (auto& [ca, serial] : members) {
      ASSIGN_OR_RETURN(std::optional<CertRecord> rec, status.Get(ca, serial));
      if (rec && rec->issued) targets.push_back({ca, serial, *rec});
    }
  }
  RevocationResult out;
  const int64_t when = r.time != 0 ? r.time : now_micros;
  std::vector<log::EventDraft> drafts;
  const bool single = !r.serial.empty();
  for (const Target& t : targets) {
    const CertState s = t.record.state;
    if (r.release && s != CertState::kHold) {
      if (single) return Status::FailedPrecondition("only a certificateHold can be released");
      out.skipped++;
      continue;
    }
    if (!r.release && s == CertState::kRevoked) {
      if (single) return Status::FailedPrecondition("already revoked (a revocation is final)");
      out.skipped++;
      continue;
    }
    if (r.hold && s == CertState::kHold) {
      if (single) return Status::FailedPrecondition("already on hold");
      out.skipped++;
      continue;
    }
    drafts.push_back(Draft(t, r, reason, when));
  }
  size_t done = 0;
  while (done < drafts.size()) {
    const size_t n = std::min<size_t>(drafts.size() - done, 16384);
    std::vector<log::EventDraft> part(std::make_move_iterator(drafts.begin() + done),
                                      std::make_move_iterator(drafts.begin() + done + n));
    ASSIGN_OR_RETURN(log::AppendResult a, hq_log.Append(std::move(part)));
    if (done == 0) out.first_seq = a.first_seq;
    done += n;
  }
  out.revoked = drafts.size();
  return out;
}

}  // namespace mirrorca::engine
