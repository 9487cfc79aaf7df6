#include "replication/hq_sync.h"

#include <capnp/message.h>

#include <iostream>
#include <sstream>

#include "base/encoding.h"
#include "base/logging.h"
#include "base/status_macros.h"
#include "engine/delivery_log.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "log/signed_note.h"
#include "replication/bundle.h"
#include "replication/sync_records.h"

namespace mirrorca::replication {

struct HqSync::Factory {
  std::unique_ptr<log::EventLog> copy;
  std::unique_ptr<log::EventLog> delivery;  // what it receives (null: HQ's whole log)
  std::mutex session_mu;  // one session or import at a time per factory
};

HqSync::~HqSync() = default;

Result<std::unique_ptr<HqSync>> HqSync::Open(log::EventLog* hq_log, log::LogSigner hq_signer,
                                             log::LogSigner cosigner, HqSyncOptions options) {
  if (hq_signer.verifier().public_key() != hq_log->verifier().public_key()) {
    return Status::InvalidArgument("the signer of the delivery logs is not HQ's log key");
  }
  if (options.authority == nullptr || options.authority->hq_origin() != hq_log->origin()) {
    return Status::InvalidArgument("HQ sync needs the log authority of '" + hq_log->origin() + "'");
  }
  std::unique_ptr<HqSync> h(new HqSync());
  h->hq_log_ = hq_log;
  h->hq_signer_ = std::move(hq_signer);
  h->cosigner_ = std::move(cosigner);
  h->env_ = options.env != nullptr ? options.env : Env::Default();
  h->options_ = std::move(options);
  RETURN_IF_ERROR(h->Refresh());
  return h;
}

Status HqSync::Refresh() {
  std::lock_guard refresh(refresh_mu_);
  RETURN_IF_ERROR(options_.authority->CatchUp(*hq_log_).WithContext("HQ cannot read its own log"));
  const uint64_t learned = options_.authority->LearnedUpTo();
  if (learned == bound_up_to_ && !factories_.empty()) return Status::Ok();
  const std::vector<engine::FactoryScope> scopes = options_.authority->Factories();
  // Copies of newly registered factories open outside the map lock.
  std::vector<std::unique_ptr<Factory>> added;
  for (const engine::FactoryScope& scope : scopes) {
    if (Copy(scope.log_origin) != nullptr) continue;
    ASSIGN_OR_RETURN(log::LogVerifier v, log::LogVerifier::Parse(scope.log_key));
    auto f = std::make_unique<Factory>();
    ASSIGN_OR_RETURN(f->copy, log::EventLog::OpenCopy(hq_log_->store(), v));
    if (options_.delivery_store != nullptr) {
      ASSIGN_OR_RETURN(f->delivery, engine::OpenDelivery(options_.delivery_store, *hq_signer_, scope.name));
    }
    added.push_back(std::move(f));
  }
  std::unique_lock lock(maps_mu_);
  for (auto& f : added) {
    by_origin_[f->copy->origin()] = f.get();
    factories_.push_back(std::move(f));
  }
  // The table guarantees a TLS key is bound to one factory (a registration
  // reusing another's key is refused); a re-registration may change keys.
  by_spki_.clear();
  for (const engine::FactoryScope& scope : scopes) {
    Factory* f = by_origin_[scope.log_origin];
    for (const std::string& spki : scope.sync_spki) by_spki_.emplace(spki, f);
  }
  bound_up_to_ = learned;
  return Status::Ok();
}

HqSync::Factory* HqSync::BoundTo(const std::string& spki) {
  {
    std::shared_lock lock(maps_mu_);
    auto it = by_spki_.find(spki);
    if (it != by_spki_.end()) return it->second;
  }
  if (!Refresh().ok()) return nullptr;  // a factory HQ registered since
  std::shared_lock lock(maps_mu_);
  auto it = by_spki_.find(spki);
  return it == by_spki_.end() ? nullptr : it->second;
}

log::EventLog* HqSync::Copy(const std::string& origin) {
  std::shared_lock lock(maps_mu_);
  auto it = by_origin_.find(origin);
  return it == by_origin_.end() ? nullptr : it->second->copy.get();
}

Result<log::EventLog*> HqSync::RelayTo(const std::string& origin) {
  RETURN_IF_ERROR(Refresh());
  Factory* f = nullptr;
  {
    std::shared_lock lock(maps_mu_);
    auto it = by_origin_.find(origin);
    if (it != by_origin_.end()) f = it->second;
  }
  if (f == nullptr || !f->delivery) return Status::NotFound("no delivery log for '" + origin + "'");
  std::lock_guard session(f->session_mu);
  RETURN_IF_ERROR(engine::Relay(*hq_log_, *f->delivery, origin).status());
  return f->delivery.get();
}

log::EventLog* HqSync::Delivery(const std::string& origin) {
  std::shared_lock lock(maps_mu_);
  auto it = by_origin_.find(origin);
  return it == by_origin_.end() ? nullptr : it->second->delivery.get();
}

std::vector<log::EventLog*> HqSync::Copies() {
  std::shared_lock lock(maps_mu_);
  std::vector<log::EventLog*> out;
  for (const auto& f : factories_) out.push_back(f->copy.get());
  return out;
}

bool HqSync::Pinned(const std::string& spki) {
  return IsMirror(spki) || BoundTo(spki) != nullptr;
}

void HqSync::SetMirrors(std::set<std::string> spkis) {
  std::unique_lock lock(maps_mu_);
  mirrors_ = std::move(spkis);
}

bool HqSync::IsMirror(const std::string& spki) const {
  std::shared_lock lock(maps_mu_);
  return mirrors_.count(spki) != 0;
}

std::set<std::string> HqSync::PinnedSpkis() const {
  std::shared_lock lock(maps_mu_);
  std::set<std::string> out;
  for (const auto& [spki, f] : by_spki_) out.insert(spki);
  return out;
}

void HqSync::Alert(const Factory* f, RefusalKind kind, const std::string& detail) {
  {
    std::lock_guard lock(refusals_mu_);
    refusals_by_code_[std::string(RefusalCode(kind))]++;
  }
  metrics_.refused++;
  if (IsDivergence(kind)) metrics_.divergences++;
  const nlohmann::json fields{{"alert", "sync-refused"},
                               {"factory", f ? f->copy->origin() : std::string("?")},
                               {"code", std::string(RefusalCode(kind))},
                               {"detail", detail}};
  if (options_.alert) {
    options_.alert(fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    logging::Warn("sync-refused", fields);
  }
}

Status HqSync::RecordRefusal(Factory& f, const Refused& refused) {
  Alert(&f, refused.kind, refused.detail);
  if (!IsDivergence(refused.kind)) return Status::Ok();
  std::vector<log::EventDraft> drafts;
  drafts.push_back(AnomalyDraft(f.copy->origin(), refused));
  return hq_log_->Append(std::move(drafts)).status();
}

Result<EventCheck> HqSync::Admit(const std::string& origin) {
  engine::LogAuthority* authority = options_.authority;
  RETURN_IF_ERROR(authority->CatchUp(*hq_log_).WithContext("HQ cannot read its own log"));
  if (!authority->Active(origin)) {
    return Status::PermissionDenied("factory log '" + origin + "' is not registered or was removed at HQ");
  }
  return EventCheck([authority, origin](uint64_t, std::string_view bytes) -> std::optional<std::string> {
    Result<std::optional<engine::AuthorityViolation>> v = authority->CheckSigned(origin, AsBytes(bytes));
    if (!v.ok()) return v.status().ToString();
    if (*v) return (*v)->ToString();
    return std::nullopt;
  });
}

uint64_t HqSync::CosignedSize(Factory& f) {
  Result<std::string> latest = f.copy->LatestCheckpoint();
  if (!latest.ok()) return 0;
  if (!log::VerifyCosignature(*latest, cosigner_->verifier()).ok()) return 0;
  Result<log::Checkpoint> cp = log::OpenCheckpoint(*latest, *f.copy->keys());
  return cp.ok() ? cp->tree_size : 0;
}

Result<std::string> HqSync::Accept(Factory& f, const std::string& note,
                                   const TransferStats& received, const std::string& direction) {
  ASSIGN_OR_RETURN(log::Checkpoint cp, log::OpenCheckpoint(note, *f.copy->keys()));
  Result<std::string> latest = f.copy->LatestCheckpoint();
  if (latest.ok() && log::VerifyCosignature(*latest, cosigner_->verifier()).ok()) {
    ASSIGN_OR_RETURN(log::Checkpoint held, log::OpenCheckpoint(*latest, *f.copy->keys()));
    if (held.tree_size >= cp.tree_size) return *latest;  // nothing new to vouch for
  }
  if (cp.tree_size == 0) return note;
  const uint64_t now = static_cast<uint64_t>(env_->NowMicros() / 1000000);
  ASSIGN_OR_RETURN(std::string cosigned, log::Cosign(note, *cosigner_, now));
  RETURN_IF_ERROR(f.copy->StoreCheckpoint(cosigned));
  std::vector<log::EventDraft> drafts;
  drafts.push_back(CheckpointCosignedDraft(cp, cosigned, now));
  SessionRecord r;
  r.peer_log = f.copy->origin();
  r.direction = direction;
  r.events_received = received.events;
  r.peer_tree_size = cp.tree_size;
  drafts.push_back(SyncSessionDraft(r));
  RETURN_IF_ERROR(hq_log_->Append(std::move(drafts)).status());
  return cosigned;
}

Status HqSync::Serve(FrameChannel& channel, const std::string& peer_spki) {
  metrics_.sessions++;
  Factory* f = BoundTo(peer_spki);
  auto count_bytes = [&] {
    metrics_.bytes_received += channel.bytes_received();
    metrics_.bytes_sent += channel.bytes_sent();
  };
  Status result;
  while (true) {
    Result<std::unique_ptr<Frame>> frame = channel.Receive();
    if (!frame.ok()) {
      if (frame.status().code() == StatusCode::kInvalidArgument) {
        Alert(f, RefusalKind::kMalformed, frame.status().message());
        (void)SendRefusal(channel, RefusalKind::kMalformed, frame.status().message());
      } else {
        metrics_.failed++;
      }
      result = frame.status();
      break;
    }
    bool bye = false;
    Status s = ReadGuarded([&]() -> Status {
      wire::Message::Reader m = (*frame)->message();
      if (m.isBye()) {
        bye = true;
        return Status::Ok();
      }
      if (!m.isHello()) {
        Alert(f, RefusalKind::kMalformed, "session must start with Hello");
        (void)SendRefusal(channel, RefusalKind::kMalformed, "expected Hello");
        return Status::InvalidArgument("expected Hello");
      }
      auto hello = m.getHello();
      if (hello.getProtocolVersion() != kProtocolVersion) {
        const std::string d = "protocol version " + std::to_string(hello.getProtocolVersion());
        Alert(f, RefusalKind::kVersion, d);
        (void)SendRefusal(channel, RefusalKind::kVersion, d + " is not supported");
        return Status::InvalidArgument(d);
      }
      if (hello.getRole() == wire::Role::MIRROR || IsMirror(peer_spki)) {
        if (hello.getRole() != wire::Role::MIRROR || !IsMirror(peer_spki)) {
          const std::string d = IsMirror(peer_spki) ? "this TLS identity is a mirror's: it may only read"
                                                    : "this TLS identity is not a mirror's";
          Alert(f, RefusalKind::kIdentity, d);
          (void)SendRefusal(channel, RefusalKind::kIdentity, d);
          return Status::PermissionDenied(d);
        }
        return MirrorRound(channel, hello);
      }
      if (hello.getRole() == wire::Role::RECOVERY) {
        // A factory that lost its disk asks for HQ's copy of its own log
        // (docs/replication_protocol.md §11): only its own, only while active.
        if (f == nullptr || std::string(hello.getPeerLog().cStr()) != f->copy->origin() ||
            std::string(hello.getOwnLog().cStr()) != f->copy->origin()) {
          const std::string d = f == nullptr ? "this TLS identity is bound to no factory log"
                                             : "a factory may recover only its own log, '" + f->copy->origin() + "'";
          Alert(f, RefusalKind::kIdentity, d);
          (void)SendRefusal(channel, RefusalKind::kIdentity, d);
          return Status::PermissionDenied(d);
        }
        if (Result<EventCheck> admitted = Admit(f->copy->origin()); !admitted.ok()) {
          (void)SendRefusal(channel, RefusalKind::kIdentity, admitted.status().message());
          return admitted.status();
        }
        std::unique_lock lock(f->session_mu, std::try_to_lock);
        if (!lock.owns_lock()) {
          (void)SendRefusal(channel, RefusalKind::kBusy, "another session for this log is running");
          return Status::Unavailable("busy");
        }
        return MirrorRound(channel, hello, /*recovery=*/true);
      }
      const std::string claimed = hello.getOwnLog().cStr();
      if (f == nullptr || hello.getRole() != wire::Role::FACTORY ||
          claimed != f->copy->origin()) {
        const std::string d = f == nullptr
                                  ? "this TLS identity is bound to no factory log"
                                  : "this TLS identity is bound to '" + f->copy->origin() +
                                        "', not to '" + claimed + "'";
        Alert(f, RefusalKind::kIdentity, d);
        (void)SendRefusal(channel, RefusalKind::kIdentity, d);
        return Status::PermissionDenied(d);
      }
      const std::string sends = f->delivery ? f->delivery->origin() : hq_log_->origin();
      if (std::string(hello.getPeerLog().cStr()) != sends) {
        const std::string d = "this HQ sends '" + f->copy->origin() + "' the log '" + sends + "'";
        Alert(f, RefusalKind::kIdentity, d);
        (void)SendRefusal(channel, RefusalKind::kIdentity, d);
        return Status::PermissionDenied(d);
      }
      Result<EventCheck> check = Admit(f->copy->origin());
      if (!check.ok()) {
        const bool removed = check.status().code() == StatusCode::kPermissionDenied;
        const RefusalKind kind = removed ? RefusalKind::kIdentity : RefusalKind::kInternal;
        if (removed) Alert(f, kind, check.status().message());
        (void)SendRefusal(channel, kind, check.status().message());
        return check.status();
      }
      std::unique_lock lock(f->session_mu, std::try_to_lock);
      if (!lock.owns_lock()) {
        (void)SendRefusal(channel, RefusalKind::kBusy, "another session for this log is running");
        return Status::Unavailable("busy");
      }
      return Round(channel, *f, hello, *check);
    });
    if (!s.ok()) {
      result = s;
      break;
    }
    if (bye) break;
    metrics_.rounds_ok++;
  }
  count_bytes();
  return result;
}

Status HqSync::Round(FrameChannel& channel, Factory& f, wire::Hello::Reader hello, const EventCheck& check) {
  // What the factory receives: its delivery log (what HQ addressed to it),
  // or HQ's whole log when HQ keeps no delivery logs.
  // Relayed once, after this round's cosignature is recorded (below).
  log::EventLog& outgoing = f.delivery ? *f.delivery : *hq_log_;
  {
    capnp::MallocMessageBuilder m;
    auto h = m.initRoot<wire::Message>().initHello();
    h.setProtocolVersion(kProtocolVersion);
    h.setRole(wire::Role::HQ);
    h.setOwnLog(outgoing.origin());
    h.setOwnSize(outgoing.Size());
    h.setPeerLog(f.copy->origin());
    h.setPeerCopySize(f.copy->Size());
    h.setCosignedSize(CosignedSize(f));
    RETURN_IF_ERROR(channel.Send(m));
  }
  // The factory's log, each event checked against the trust table.
  LogReceiver rx(f.copy.get(), LogReceiver::Mode::kSession, nullptr, check);
  Result<std::string> note = rx.Receive(channel);
  metrics_.events_received += rx.stats().events;
  if (!note.ok()) {
    if (rx.refused() && rx.refused()->detail.rfind("peer refused", 0) != 0) {
      RETURN_IF_ERROR(RecordRefusal(f, *rx.refused()));
      (void)SendRefusal(channel, rx.refused()->kind, rx.refused()->detail);
    } else if (!rx.refused()) {
      metrics_.failed++;
    }
    return note.status();
  }
  Result<std::string> cosigned = Accept(f, *note, rx.stats(), "push");
  if (!cosigned.ok()) {
    (void)SendRefusal(channel, RefusalKind::kInternal, cosigned.status().message());
    return cosigned.status();
  }
  if (options_.on_stored) options_.on_stored();
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<wire::Message>().initCosigned().setNote(*cosigned);
    RETURN_IF_ERROR(channel.Send(m));
  }
  // HQ's log (or the factory's delivery log, with the cosignature just
  // recorded), from what the factory holds.
  if (f.delivery) RETURN_IF_ERROR(engine::Relay(*hq_log_, *f.delivery, f.copy->origin()).status());
  ASSIGN_OR_RETURN(std::string hq_note, outgoing.SignCheckpoint());
  ASSIGN_OR_RETURN(TransferStats sent,
                   SendLog(channel, outgoing, hello.getPeerCopySize(), hq_note, options_.send));
  metrics_.events_sent += sent.events;
  ASSIGN_OR_RETURN(std::unique_ptr<Frame> answer, channel.Receive());
  return ReadGuarded([&]() -> Status {
    wire::Message::Reader m = answer->message();
    if (m.isAck()) return Status::Ok();
    if (m.isRefusal()) {
      const std::string d = std::string("factory refused HQ's log: ") +
                            m.getRefusal().getCode().cStr() + ": " +
                            m.getRefusal().getDetail().cStr();
      Alert(&f, RefusalFromCode(m.getRefusal().getCode().cStr()), d);
      return Status::FailedPrecondition(d);
    }
    return Status::InvalidArgument("expected Ack");
  });
}

Status HqSync::MirrorRound(FrameChannel& channel, wire::Hello::Reader hello, bool recovery) {
  const std::string wanted = hello.getPeerLog().cStr();
  log::EventLog* log = nullptr;
  std::string note;
  if (wanted == hq_log_->origin()) {
    log = hq_log_;
    ASSIGN_OR_RETURN(note, hq_log_->SignCheckpoint());
  } else {
    RETURN_IF_ERROR(Refresh());
    log = Copy(wanted);
    if (log == nullptr) {
      const std::string d = "'" + wanted + "' is neither HQ's log nor a registered factory's";
      (void)SendRefusal(channel, RefusalKind::kIdentity, d);
      return Status::PermissionDenied(d);
    }
    // Up to the factory's checkpoint HQ stored (verified, cosigned): no
    // further, so the mirror verifies exactly what HQ verified.
    Result<std::string> latest = log->LatestCheckpoint();
    if (latest.ok()) {
      note = std::move(*latest);
    } else if (latest.status().code() != StatusCode::kNotFound) {
      return latest.status();
    }
  }
  uint64_t size = 0;
  if (!note.empty()) {
    ASSIGN_OR_RETURN(log::SignedNote parsed, log::SignedNote::Parse(note));
    ASSIGN_OR_RETURN(log::Checkpoint cp, log::Checkpoint::ParseText(parsed.text));
    size = cp.tree_size;
  }
  {
    capnp::MallocMessageBuilder m;
    auto h = m.initRoot<wire::Message>().initHello();
    h.setProtocolVersion(kProtocolVersion);
    h.setRole(wire::Role::HQ);
    h.setOwnLog(wanted);
    h.setOwnSize(size);
    h.setPeerLog(hello.getOwnLog());
    RETURN_IF_ERROR(channel.Send(m));
  }
  if (size == 0) return Status::Ok();  // nothing checkpointed yet: no transfer
  if (recovery && hello.getPeerCopySize() >= size) return Status::Ok();  // it holds as much: no transfer
  ASSIGN_OR_RETURN(TransferStats sent, SendLog(channel, *log, hello.getPeerCopySize(), note, options_.send));
  metrics_.events_sent += sent.events;
  ASSIGN_OR_RETURN(std::unique_ptr<Frame> answer, channel.Receive());
  return ReadGuarded([&]() -> Status {
    wire::Message::Reader m = answer->message();
    if (m.isAck()) {
      if (!recovery) return Status::Ok();
      // The recovery is in HQ's log: the auditor sees when a factory was
      // brought back, from which size, and how much HQ sent it.
      SessionRecord r;
      r.peer_log = wanted;
      r.direction = "recovery";
      r.events_sent = sent.events;
      r.peer_tree_size = size;
      std::vector<log::EventDraft> drafts;
      drafts.push_back(SyncSessionDraft(r));
      return hq_log_->Append(std::move(drafts)).status();
    }
    if (m.isRefusal()) {
      const std::string d = std::string("a mirror refused '") + wanted + "': " + m.getRefusal().getCode().cStr() +
                            ": " + m.getRefusal().getDetail().cStr();
      Alert(nullptr, RefusalFromCode(m.getRefusal().getCode().cStr()), d);
      return Status::FailedPrecondition(d);
    }
    return Status::InvalidArgument("expected Ack");
  });
}

Result<std::string> HqSync::ImportFactoryBundle(const std::string& path, const Progress& progress,
                                                std::optional<Refused>* refused_out) {
  ASSIGN_OR_RETURN(BundleInfo info, ReadBundleHeader(path));
  RETURN_IF_ERROR(Refresh());
  Factory* found = nullptr;
  {
    std::shared_lock maps(maps_mu_);
    auto it = by_origin_.find(info.log);
    if (it != by_origin_.end()) found = it->second;
  }
  if (found == nullptr) {
    return Status::NotFound("bundle carries log '" + info.log + "', which is no factory of this HQ");
  }
  Factory& f = *found;
  std::unique_lock lock(f.session_mu, std::try_to_lock);
  if (!lock.owns_lock()) return Status::Unavailable("a session for '" + info.log + "' is running");
  Result<EventCheck> check = Admit(info.log);
  if (!check.ok()) {
    if (refused_out != nullptr && check.status().code() == StatusCode::kPermissionDenied) {
      *refused_out = Refused{RefusalKind::kIdentity, check.status().message(), {}};
    }
    return check.status();
  }
  std::optional<Refused> refused;
  Result<BundleImport> imported = ImportBundle(*f.copy, path, progress, &refused, *check);
  if (!imported.ok()) {
    if (refused) RETURN_IF_ERROR(RecordRefusal(f, *refused));
    if (refused_out != nullptr) *refused_out = refused;
    return imported.status();
  }
  metrics_.events_received += imported->stats.events;
  return Accept(f, imported->note, imported->stats, "bundle-import");
}

std::vector<HqSync::FactorySyncState> HqSync::SyncStates() {
  std::vector<FactorySyncState> out;
  std::shared_lock maps(maps_mu_);
  for (const auto& f : factories_) {
    FactorySyncState st;
    st.origin = f->copy->origin();
    st.active = options_.authority->Active(st.origin);
    st.copy_size = f->copy->Size();
    if (Result<std::string> latest = f->copy->LatestCheckpoint(); latest.ok()) {
      Result<uint64_t> at = log::VerifyCosignature(*latest, cosigner_->verifier());
      Result<log::Checkpoint> cp = log::OpenCheckpoint(*latest, *f->copy->keys());
      if (at.ok() && cp.ok()) {
        st.cosigned_at = static_cast<int64_t>(*at);
        st.cosigned_size = cp->tree_size;
      }
    }
    out.push_back(std::move(st));
  }
  return out;
}

void HqSync::WriteMetrics(PrometheusText& m) {
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    m.Counter(name, help, static_cast<double>(v));
  };
  counter("mirrorca_sync_sessions_total", "Sync sessions accepted.", metrics_.sessions);
  counter("mirrorca_sync_rounds_total", "Sync rounds completed.", metrics_.rounds_ok);
  counter("mirrorca_sync_failed_total", "Sessions cut by the transport.", metrics_.failed);
  counter("mirrorca_sync_divergences_total", "Forks, rewinds, bad signatures, gaps, bad proofs (each a logAnomaly).",
          metrics_.divergences);
  counter("mirrorca_sync_events_received_total", "Factory events stored.", metrics_.events_received);
  counter("mirrorca_sync_events_sent_total", "HQ events sent.", metrics_.events_sent);
  counter("mirrorca_sync_bytes_received_total", "Bytes read on sync sessions.", metrics_.bytes_received);
  counter("mirrorca_sync_bytes_sent_total", "Bytes written on sync sessions.", metrics_.bytes_sent);
  {
    std::lock_guard lock(refusals_mu_);
    for (const auto& [code, n] : refusals_by_code_) {
      m.Counter("mirrorca_sync_refused_total", "Sessions refused, by code.", static_cast<double>(n), {{"code", code}});
    }
  }
  const int64_t now = env_->NowMicros() / 1000000;
  for (const FactorySyncState& st : SyncStates()) {
    const MetricLabels f = {{"factory", st.origin}};
    m.Gauge("mirrorca_sync_copy_size", "Events of the factory log HQ holds.", static_cast<double>(st.copy_size), f);
    m.Gauge("mirrorca_sync_cosigned_size", "Tree size of the factory checkpoint HQ last cosigned.",
            static_cast<double>(st.cosigned_size), f);
    if (st.cosigned_at > 0) {
      m.Gauge("mirrorca_sync_lag_seconds", "Seconds since HQ last cosigned the factory's checkpoint.",
              static_cast<double>(now - st.cosigned_at), f);
    }
  }
}

}  // namespace mirrorca::replication
