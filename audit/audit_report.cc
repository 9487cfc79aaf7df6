#include "audit/audit_report.h"

#include <map>
#include <set>
#include <unordered_map>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "base/utc_time.h"
#include "engine/factory_ca.h"
#include "audit/merge_cursor.h"
#include "engine/revocation.h"
#include "crypto/sha256.h"

namespace mirrorca::audit {
namespace {

using json = nlohmann::json;
constexpr int64_t kHour = int64_t{3600} * 1000000;

json Ref(const std::string& origin, uint64_t seq, int64_t time) {
  return json{{"log", origin}, {"seq", seq}, {"time", FormatUtcTime(time)}};
}

struct BatchState {
  uint64_t quota = 0;
  bool authorized = false;
  json authorized_by;  // the batchAuthorized event
  std::set<std::string> reissue_allowed;
  uint64_t issued = 0, rejected = 0, issued_in_period = 0, rejected_in_period = 0;
  uint64_t past_quota_attempts = 0, issued_past_quota = 0;
  bool closed = false;
};

struct RevokedSerial {
  std::string batch;
  std::string state = "good";
};

struct DeviceFirst {
  std::string origin;
  uint64_t seq;
  int64_t time;
  std::string serial_hex;
};

class Builder {
 public:
  explicit Builder(const ReportOptions& o) : o_(o) {}

  Status Apply(const std::string& origin, uint64_t seq, const log::ParsedEvent& e, StoreLogs& logs) {
    const auto ev = e.event();
    const int64_t t = ev.getTime();
    const bool in = t >= o_.from;
    auto kind = ev.getKind();
    LogCount& lc = logs_[origin];
    if (in) {
      if (lc.events == 0) lc.first = seq;
      lc.last = seq;
      ++lc.events;
    }
    // An event outside its log's authority is never counted: it is listed
    // as an anomaly naming the rule (audit verify fails on it too). HQ's own
    // certificates (OCSP responders) belong to no batch.
    if (std::optional<engine::AuthorityViolation> bad = logs.authority->Check(origin, ev)) {
      if (in) Anomaly("outside-authority", Ref(origin, seq, t), bad->ToString(), {Ref(origin, seq, t)});
      return Status::Ok();
    }
    if (kind.isCertificateIssued() && kind.getCertificateIssued().getBatchId().size() == 0) return Status::Ok();
    if (kind.isBatchAuthorized()) {
      auto b = kind.getBatchAuthorized();
      BatchState& s = batches_[b.getBatchId()];
      s.quota = b.getQuota();
      s.authorized = true;
      s.authorized_by = Ref(origin, seq, t);
      for (auto d : b.getAllowReissue()) s.reissue_allowed.insert(d);
      any_authorization_ = true;
    } else if (kind.isBatchClosed()) {
      batches_[kind.getBatchClosed().getBatchId()].closed = true;
    } else if (kind.isCertificateIssued()) {
      auto c = kind.getCertificateIssued();
      const std::string batch = c.getBatchId();
      BatchState& s = batches_[batch];
      const json ref = Ref(origin, seq, t);
      if (s.authorized && s.issued >= s.quota) {
        ++s.issued_past_quota;
        if (in) {
          Anomaly("issued-past-quota", ref,
                  "device " + std::string(c.getDeviceSerial()) + " of batch " + batch +
                      " certified beyond the batch's quota of " + std::to_string(s.quota),
                  {ref, s.authorized_by});
        }
      }
      if (!s.authorized && any_authorization_ && in) {
        Anomaly("issued-without-authorization", ref, "batch " + batch + " was never authorized in these logs", {ref});
      }
      ++s.issued;
      batch_of_[SerialKey(ByteSpan(c.getSerial().begin(), c.getSerial().size()))] = BatchIndex(batch);
      const std::string device = c.getDeviceSerial();
      const std::string serial_hex = HexEncode(ByteSpan(c.getSerial().begin(), c.getSerial().size()));
      const std::string key = std::string(reinterpret_cast<const char*>(c.getCaId().begin()), c.getCaId().size()) +
                              '\0' + device;
      auto [it, first] = devices_.try_emplace(key, DeviceFirst{origin, seq, t, serial_hex});
      if (!first && !device.empty()) {
        const bool allowed = c.getReissueOf().size() > 0 || s.reissue_allowed.count(device) > 0;
        json certs = json::array({{{"log", it->second.origin}, {"seq", it->second.seq},
                                   {"time", FormatUtcTime(it->second.time)}, {"serial", it->second.serial_hex}},
                                  {{"log", origin}, {"seq", seq}, {"time", FormatUtcTime(t)}, {"serial", serial_hex}}});
        if (in) {
          duplicates_.push_back({{"device_serial", device}, {"batch", batch}, {"reissue", allowed},
                                 {"certificates", certs}});
        }
        if (!allowed && in) {
          Anomaly("duplicate-device-certificate", ref, "device " + device + " certified a second time",
                  {Ref(it->second.origin, it->second.seq, it->second.time), ref});
        }
      }
      if (in) {
        ++s.issued_in_period;
        ++issued_;
        const int64_t hour = t / kHour * kHour;
        ++per_hour_[{hour, batch, std::string(c.getProductionLine())}];
      }
    } else if (kind.isIssuanceRejected()) {
      auto r = kind.getIssuanceRejected();
      BatchState& s = batches_[r.getBatchId()];
      ++s.rejected;
      const auto reason = r.getReason();
      if (reason == log::schema::RejectionReason::QUOTA_EXHAUSTED) ++s.past_quota_attempts;
      if (in) {
        ++s.rejected_in_period;
        ++rejected_;
        const std::string code(engine::RejectionCode(reason));
        ++rejections_[code];
        const json ref = Ref(origin, seq, t);
        const std::string who = "device " + std::string(r.getDeviceSerial()) + " of batch " +
                                std::string(r.getBatchId()) + " (RA " + std::string(r.getRaId()) + ")";
        if (reason == log::schema::RejectionReason::QUOTA_EXHAUSTED) Anomaly("quota-refusal", ref, who, {ref});
        if (reason == log::schema::RejectionReason::DUPLICATE_DEVICE) Anomaly("duplicate-device-attempt", ref, who, {ref});
        if (reason == log::schema::RejectionReason::RA_NOT_AUTHORIZED) Anomaly("ra-not-authorized", ref, who, {ref});
      }
    } else if (kind.isCertificateRevoked()) {
      auto r = kind.getCertificateRevoked();
      const std::string serial(reinterpret_cast<const char*>(r.getSerial().begin()), r.getSerial().size());
      RevokedSerial& rs = revoked_[serial];
      // The batch the factory log issued it in; the event's own batch field
      // only when this store holds no issuance of it.
      auto issued_in = batch_of_.find(SerialKey(ByteSpan(r.getSerial().begin(), r.getSerial().size())));
      if (issued_in != batch_of_.end()) {
        rs.batch = batch_names_[issued_in->second];
      } else if (!std::string(r.getBatchId()).empty()) {
        rs.batch = r.getBatchId();
      }
      const int reason = static_cast<int>(r.getReason());
      std::string counted;
      if (rs.state != "revoked") {
        if (r.getRelease()) {
          if (rs.state == "on_hold") {
            rs.state = "good";
            counted = "released";
          }
        } else {
          rs.state = reason == 6 ? "on_hold" : "revoked";
          counted = std::string(engine::ReasonName(reason));
        }
      }
      if (in && !counted.empty()) {
        ++revocations_[counted];
        ++revocation_events_;
      }
    } else if (kind.isCheckpointCosigned()) {
      if (in) ++cosignatures_[origin + " cosigned " + std::string(kind.getCheckpointCosigned().getLogId())];
    } else if (kind.isSyncSession()) {
      auto s = kind.getSyncSession();
      const std::string peer = s.getPeerLogId();
      const uint64_t peer_size = s.getPeerTreeSize();
      uint64_t& seen = peer_sizes_[origin + '\n' + peer];
      json session = {{"time", FormatUtcTime(t)}, {"log", origin}, {"seq", seq}, {"peer", peer},
                      {"direction", s.getDirection()}, {"events_received", s.getEventsReceived()},
                      {"events_sent", s.getEventsSent()}, {"peer_tree_size", peer_size},
                      {"result", s.getResult()}};
      // Lag: how long the oldest event this session brought had waited.
      auto copy = logs.logs.find(peer);
      if (peer_size > seen && copy != logs.logs.end() && seen < copy->second->Size()) {
        Result<std::string> bytes = copy->second->ReadSignedEvent(seen);
        if (bytes.ok()) {
          Result<log::ParsedEvent> oldest = log::ParsedEvent::Parse(AsBytes(*bytes));
          if (oldest.ok()) {
            session["lag_seconds"] = static_cast<double>(t - oldest->event().getTime()) / 1e6;
          }
        }
      }
      if (std::string(s.getResult()) == "ok") seen = std::max(seen, peer_size);
      if (in) {
        sessions_.push_back(session);
        if (std::string(s.getResult()) != "ok") {
          const json ref = Ref(origin, seq, t);
          Anomaly("sync-refused", ref, std::string(s.getDirection()) + " with " + peer + ": " +
                                           std::string(s.getResult()), {ref});
        }
      }
    } else if (kind.isLogAnomaly()) {
      auto a = kind.getLogAnomaly();
      if (in) {
        const json ref = Ref(origin, seq, t);
        json evidence = json::array();
        for (auto line : a.getEvidence()) evidence.push_back(std::string(line));
        Anomaly(std::string(a.getKind()), ref, std::string(a.getPeerLogId()) + ": " + std::string(a.getDetail()),
                {ref}, evidence);
      }
    }
    return Status::Ok();
  }

  json Finish(StoreLogs& logs, const std::map<std::string, uint64_t>& sizes_at_end) {
    json out;
    out["format"] = "mirrorca-audit-report/1";
    out["store"] = o_.store_label;
    out["generated_at"] = FormatUtcTime(o_.generated_at);
    out["from"] = FormatUtcTime(o_.from);
    out["to"] = FormatUtcTime(o_.to);
    json jl = json::array();
    for (auto& [origin, l] : logs.logs) {
      const LogCount& c = logs_[origin];
      json e = {{"log", origin}, {"key", StoreLogs::SignerName(*l)}, {"events_in_period", c.events},
                {"size_at_end", sizes_at_end.count(origin) ? sizes_at_end.at(origin) : 0}};
      if (c.events > 0) {
        e["first_seq"] = c.first;
        e["last_seq"] = c.last;
      }
      jl.push_back(e);
    }
    out["logs"] = jl;
    uint64_t anomalies = 0;
    for (const auto& [k, n] : anomaly_counts_) anomalies += n;
    out["totals"] = {{"issued", issued_}, {"rejected", rejected_}, {"revocation_events", revocation_events_},
                     {"sync_sessions", sessions_.size()}, {"anomalies", anomalies},
                     {"duplicate_device_serials", duplicates_.size()}};
    json hours = json::array();
    for (const auto& [k, n] : per_hour_) {
      hours.push_back({{"hour", FormatUtcTime(std::get<0>(k))}, {"batch", std::get<1>(k)},
                       {"line", std::get<2>(k)}, {"issued", n}});
    }
    out["issuance_per_hour"] = hours;
    out["rejections_by_reason"] = rejections_;
    out["revocations_by_reason"] = revocations_;
    out["cosignatures"] = cosignatures_;
    // Revoked / on hold per batch, as of the end.
    std::map<std::string, std::pair<uint64_t, uint64_t>> revoked;
    for (const auto& [serial, r] : revoked_) {
      if (r.state == "revoked") ++revoked[r.batch].first;
      if (r.state == "on_hold") ++revoked[r.batch].second;
    }
    json jb = json::array();
    for (const auto& [id, b] : batches_) {
      json e = {{"batch", id},
                {"authorized", b.authorized},
                {"quota", b.quota},
                {"issued", b.issued},
                {"rejected", b.rejected},
                {"revoked", revoked[id].first},
                {"on_hold", revoked[id].second},
                {"issued_in_period", b.issued_in_period},
                {"rejected_in_period", b.rejected_in_period},
                {"past_quota_attempts", b.past_quota_attempts},
                {"issued_past_quota", b.issued_past_quota},
                {"closed", b.closed}};
      e["quota_used_percent"] = b.quota > 0 ? static_cast<double>(b.issued * 1000 / b.quota) / 10 : 0.0;
      std::string verdict = "ok";
      if (!b.authorized && any_authorization_) verdict = "not authorized";
      if (b.issued_past_quota > 0) verdict = "over quota";
      e["reconciliation"] = verdict;
      jb.push_back(e);
    }
    out["batches"] = jb;
    out["sync_sessions"] = sessions_;
    out["anomaly_counts"] = anomaly_counts_;
    out["anomalies"] = anomalies_;
    out["duplicate_device_serials"] = duplicates_;
    return out;
  }

 private:
  struct LogCount {
    uint64_t events = 0, first = 0, last = 0;
  };
  // events is a vector, not a json: `{ref}` must mean a one-element list under every
  // compiler (a json parameter copies ref itself under clang, CWG 1467).
  void Anomaly(const std::string& kind, const json& at, const std::string& detail, json::array_t events,
               json evidence = nullptr) {
    if (anomaly_counts_[kind]++ >= o_.max_listed) return;
    json a = {{"kind", kind}, {"time", at["time"]}, {"log", at["log"]}, {"seq", at["seq"]},
              {"detail", detail}, {"events", json(std::move(events))}};
    if (!evidence.is_null()) a["evidence"] = std::move(evidence);
    anomalies_.push_back(std::move(a));
  }

  // SerialKey: 8 bytes of the serial's SHA-256 (a map of every issued
  // serial to its batch stays small on 10M-certificate histories).
  static uint64_t SerialKey(ByteSpan serial) {
    const crypto::Hash h = crypto::Sha256(serial);
    uint64_t k = 0;
    for (int i = 0; i < 8; ++i) k = k << 8 | h[i];
    return k;
  }
  uint32_t BatchIndex(const std::string& batch) {
    auto [it, added] = batch_index_.try_emplace(batch, static_cast<uint32_t>(batch_names_.size()));
    if (added) batch_names_.push_back(batch);
    return it->second;
  }

  const ReportOptions& o_;
  std::unordered_map<uint64_t, uint32_t> batch_of_;
  std::map<std::string, uint32_t> batch_index_;
  std::vector<std::string> batch_names_;
  std::map<std::string, LogCount> logs_;
  std::map<std::string, BatchState> batches_;
  bool any_authorization_ = false;
  std::unordered_map<std::string, DeviceFirst> devices_;
  std::unordered_map<std::string, RevokedSerial> revoked_;
  std::map<std::tuple<int64_t, std::string, std::string>, uint64_t> per_hour_;
  std::map<std::string, uint64_t> rejections_, revocations_, cosignatures_, peer_sizes_, anomaly_counts_;
  uint64_t issued_ = 0, rejected_ = 0, revocation_events_ = 0;
  json sessions_ = json::array(), anomalies_ = json::array(), duplicates_ = json::array();
};

}  // namespace

Result<nlohmann::json> BuildAuditReport(StoreLogs& logs, const ReportOptions& o) {
  if (o.to < o.from) return Status::InvalidArgument("the period ends before it starts");
  Builder b(o);
  MergeCursor cursor(logs, {});
  std::map<std::string, uint64_t> sizes;
  try {
    for (;;) {
      ASSIGN_OR_RETURN(const MergeCursor::Item* item, cursor.Peek());
      if (item == nullptr || item->event->event().getTime() > o.to) break;
      RETURN_IF_ERROR(b.Apply(*item->origin, item->seq, *item->event, logs));
      sizes[*item->origin] = item->seq + 1;
      cursor.Pop();
    }
    return b.Finish(logs, sizes);
  } catch (const nlohmann::json::exception& e) {
    return Status::Internal(std::string("report: ") + e.what());
  } catch (const kj::Exception& e) {
    return Status::Corruption("report: an event does not read: " + std::string(e.getDescription().cStr()));
  }
}

}  // namespace mirrorca::audit
