#include "engine/log_authority.h"

#include "engine/delivery_log.h"

#include <mutex>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "ca/certificate.h"
#include "log/event_codec.h"
#include "log/event_draft.h"

namespace mirrorca::engine {
namespace {

using Kind = log::schema::Event::Kind::Which;

std::string Raw(capnp::Data::Reader d) { return std::string(reinterpret_cast<const char*>(d.begin()), d.size()); }
std::string Hex(const std::string& raw) { return HexEncode(AsBytes(raw)); }

AuthorityViolation Violate(AuthorityRule rule, std::string detail) { return {rule, std::move(detail)}; }

}  // namespace

std::string_view RuleName(AuthorityRule rule) {
  switch (rule) {
    case AuthorityRule::kKindNotOwned: return "kind-not-owned";
    case AuthorityRule::kUnknownLog: return "unknown-log";
    case AuthorityRule::kForeignCa: return "foreign-ca";
    case AuthorityRule::kForeignBatch: return "foreign-batch";
    case AuthorityRule::kUnknownFactory: return "unknown-factory";
    case AuthorityRule::kConflictingFactory: return "conflicting-factory";
    case AuthorityRule::kBadKey: return "bad-key";
  }
  return "unknown-rule";
}

std::string AuthorityViolation::ToString() const { return std::string(RuleName(rule)) + ": " + detail; }

Result<Bytes> CaIdOfCertificate(ByteSpan der) {
  ASSIGN_OR_RETURN(ca::X509Ptr cert,
                   ca::ParseCertificate(std::string_view(reinterpret_cast<const char*>(der.data()), der.size())));
  return ca::CaId(cert.get());
}

Status LogAuthority::CatchUp(log::EventLog& hq_log) {
  // HQ's own log, or (at a factory) its delivery log: HQ's events relayed,
  // each under HQ's signature.
  const bool delivery = IsDeliveryOf(hq_log.origin());
  if (hq_log.origin() != hq_origin_ && !delivery) {
    return Status::InvalidArgument("the authority of '" + hq_origin_ + "' cannot learn from '" + hq_log.origin() + "'");
  }
  const uint64_t from = LearnedUpTo();
  const uint64_t to = hq_log.Size();
  if (from >= to) return Status::Ok();
  std::optional<log::LogVerifier> hq;
  if (delivery) {
    ASSIGN_OR_RETURN(hq, log::LogVerifier::FromPublicKey(hq_origin_, hq_log.verifier().public_key()));
  }
  return hq_log.ForEach(from, to, [&](uint64_t seq, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    if (!delivery) {
      Learn(e.event());
      return Status::Ok();
    }
    Result<RelayedEvent> r = Unwrap(e.event(), *hq);
    if (r.ok()) {
      LearnAt(r->event.event(), seq + 1);
    } else {
      std::unique_lock lock(mu_);
      learned_ = std::max(learned_, seq + 1);  // teaches nothing
    }
    return Status::Ok();
  });
}

bool LogAuthority::IsDeliveryOf(const std::string& origin) const {
  const std::string prefix = DeliveryOrigin(hq_origin_, "");
  return origin.size() > prefix.size() && origin.compare(0, prefix.size(), prefix) == 0;
}

uint64_t LogAuthority::LearnedUpTo() const {
  std::shared_lock lock(mu_);
  return learned_;
}

std::optional<AuthorityViolation> LogAuthority::CheckRegistration(
    log::schema::FactoryRegistered::Reader r) const {
  const std::string origin = r.getLogOrigin();
  const std::string name = r.getName();
  if (origin.empty() || name.empty()) {
    return Violate(AuthorityRule::kConflictingFactory, "a registration needs a name and a log origin");
  }
  if (origin == hq_origin_) {
    return Violate(AuthorityRule::kConflictingFactory, "HQ's own log cannot be registered as a factory");
  }
  for (const auto& [o, f] : factories_) {
    if (o == origin && f.name != name) {
      return Violate(AuthorityRule::kConflictingFactory,
                     "log '" + origin + "' is registered as '" + f.name + "', not '" + name + "'");
    }
    if (o != origin && f.name == name) {
      return Violate(AuthorityRule::kConflictingFactory,
                     "the name '" + name + "' belongs to the factory of log '" + o + "'");
    }
  }
  for (auto der : r.getCaCertificates()) {
    Result<Bytes> id = CaIdOfCertificate(ByteSpan(der.begin(), der.size()));
    if (!id.ok()) {
      return Violate(AuthorityRule::kConflictingFactory, "a CA certificate does not parse: " + id.status().message());
    }
    auto owner = origin_of_ca_.find(std::string(id->begin(), id->end()));
    if (owner != origin_of_ca_.end() && owner->second != origin) {
      return Violate(AuthorityRule::kConflictingFactory,
                     "CA " + HexEncode(*id) + " belongs to the factory of log '" + owner->second + "'");
    }
  }
  return std::nullopt;
}

void LogAuthority::Learn(log::schema::Event::Reader event) { LearnAt(event, event.getSeq() + 1); }

void LogAuthority::LearnAt(log::schema::Event::Reader event, uint64_t next) {
  std::unique_lock lock(mu_);
  learned_ = std::max(learned_, next);
  if (CheckLocked(hq_origin_, event)) return;  // breaks the table: teaches nothing
  auto kind = event.getKind();
  if (kind.isFactoryRegistered()) {
    auto r = kind.getFactoryRegistered();
    FactoryScope& f = factories_[r.getLogOrigin()];
    f.name = r.getName();
    f.log_origin = r.getLogOrigin();
    f.log_key = r.getLogKey();
    f.removed = false;
    for (auto der : r.getCaCertificates()) {
      Result<Bytes> id = CaIdOfCertificate(ByteSpan(der.begin(), der.size()));
      if (!id.ok()) continue;  // CheckRegistration refused these already
      const std::string raw(id->begin(), id->end());
      if (f.ca_ids.insert(raw).second) f.ca_certificates.emplace_back(der.begin(), der.end());
      origin_of_ca_[raw] = f.log_origin;
    }
    for (auto spki : r.getSyncSpki()) f.sync_spki.insert(spki);
  } else if (kind.isFactoryRemoved()) {
    auto it = factories_.find(kind.getFactoryRemoved().getLogOrigin());
    if (it != factories_.end()) it->second.removed = true;
  } else if (kind.isBatchAuthorized()) {
    auto b = kind.getBatchAuthorized();
    auto it = factories_.find(b.getFactoryLogId());
    if (it != factories_.end()) it->second.batches.insert(b.getBatchId());
  }
}

std::optional<AuthorityViolation> LogAuthority::Check(const std::string& origin,
                                                      log::schema::Event::Reader event) const {
  std::shared_lock lock(mu_);
  return CheckLocked(origin, event);
}

Result<std::optional<AuthorityViolation>> LogAuthority::CheckSigned(const std::string& origin,
                                                                    ByteSpan signed_event) const {
  ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(signed_event));
  return Check(origin, e.event());
}

std::optional<AuthorityViolation> LogAuthority::CheckLocked(const std::string& origin,
                                                            log::schema::Event::Reader event) const {
  auto kind = event.getKind();
  const Kind which = kind.which();
  if (IsDeliveryOf(origin)) {  // what HQ sends one factory: HQ's events, relayed
    if (which == Kind::RELAYED) return std::nullopt;
    return Violate(AuthorityRule::kKindNotOwned,
                   std::string(log::KindName(which)) + " in a delivery log, which carries only relayed HQ events");
  }
  if (origin == hq_origin_) {
    switch (which) {
      case Kind::ISSUANCE_REJECTED:
      case Kind::BATCH_CLOSED:
        return Violate(AuthorityRule::kKindNotOwned,
                       std::string(log::KindName(which)) + " belongs to a factory's log, not HQ's");
      case Kind::RELAYED:
        return Violate(AuthorityRule::kKindNotOwned, "relayed belongs to a factory's delivery log, not HQ's");
      case Kind::FACTORY_REGISTERED:
        return CheckRegistration(kind.getFactoryRegistered());
      case Kind::COSIGNER_KEY_SET: {
        // The one key factories and auditors check HQ's cosignatures with.
        Result<log::LogVerifier> key = log::LogVerifier::Parse(kind.getCosignerKeySet().getKey().cStr());
        if (!key.ok()) return Violate(AuthorityRule::kBadKey, "cosignerKeySet: " + key.status().message());
        if (key->name() != hq_origin_ + "/cosigner") {
          return Violate(AuthorityRule::kBadKey, "cosignerKeySet names '" + key->name() + "', not '" + hq_origin_ +
                                                     "/cosigner'");
        }
        return std::nullopt;
      }
      case Kind::FACTORY_REMOVED:
        if (factories_.count(kind.getFactoryRemoved().getLogOrigin()) == 0) {
          return Violate(AuthorityRule::kUnknownFactory,
                         "factoryRemoved of '" + std::string(kind.getFactoryRemoved().getLogOrigin()) +
                             "', which was never registered");
        }
        return std::nullopt;
      case Kind::BATCH_AUTHORIZED: {
        auto b = kind.getBatchAuthorized();
        auto it = factories_.find(b.getFactoryLogId());
        if (it == factories_.end()) {
          return Violate(AuthorityRule::kUnknownFactory, "batch '" + std::string(b.getBatchId()) +
                                                             "' authorized for '" +
                                                             std::string(b.getFactoryLogId()) +
                                                             "', which is no registered factory");
        }
        if (b.getCaId().size() > 0 && it->second.ca_ids.count(Raw(b.getCaId())) == 0) {
          return Violate(AuthorityRule::kForeignCa, "batch '" + std::string(b.getBatchId()) + "' names CA " +
                                                        Hex(Raw(b.getCaId())) + ", not one of factory '" +
                                                        it->second.name + "'");
        }
        return std::nullopt;
      }
      default:
        return std::nullopt;  // every other kind is HQ's to say
    }
  }
  auto it = factories_.find(origin);
  if (it == factories_.end()) {
    return Violate(AuthorityRule::kUnknownLog, "log '" + origin + "' is neither HQ's nor a registered factory's");
  }
  const FactoryScope& f = it->second;
  switch (which) {
    case Kind::CERTIFICATE_ISSUED: {
      auto c = kind.getCertificateIssued();
      if (f.ca_ids.count(Raw(c.getCaId())) == 0) {
        return Violate(AuthorityRule::kForeignCa, "issuance of serial " + Hex(Raw(c.getSerial())) + " under CA " +
                                                      Hex(Raw(c.getCaId())) + ", which is not a CA of factory '" +
                                                      f.name + "'");
      }
      if (f.batches.count(c.getBatchId()) == 0) {
        return Violate(AuthorityRule::kForeignBatch, "issuance in batch '" + std::string(c.getBatchId()) +
                                                         "', which HQ did not authorize for factory '" + f.name +
                                                         "'");
      }
      return std::nullopt;
    }
    case Kind::BATCH_CLOSED:
      if (f.batches.count(kind.getBatchClosed().getBatchId()) == 0) {
        return Violate(AuthorityRule::kForeignBatch, "closure of batch '" +
                                                         std::string(kind.getBatchClosed().getBatchId()) +
                                                         "', which HQ did not authorize for factory '" + f.name + "'");
      }
      return std::nullopt;
    case Kind::ISSUANCE_REJECTED:
    case Kind::TEST_EVENT:
    case Kind::LOG_KEY_ROTATED:  // a log may change its own key (checked against its chain of keys)
      return std::nullopt;
    default:
      return Violate(AuthorityRule::kKindNotOwned,
                     std::string(log::KindName(which)) + " is HQ's to say, not factory '" + f.name + "'");
  }
}

bool LogAuthority::Active(const std::string& origin) const {
  std::shared_lock lock(mu_);
  auto it = factories_.find(origin);
  return it != factories_.end() && !it->second.removed;
}

std::optional<FactoryScope> LogAuthority::Factory(const std::string& origin) const {
  std::shared_lock lock(mu_);
  auto it = factories_.find(origin);
  if (it == factories_.end()) return std::nullopt;
  return it->second;
}

std::optional<FactoryScope> LogAuthority::FactoryNamed(const std::string& name) const {
  std::shared_lock lock(mu_);
  for (const auto& [o, f] : factories_) {
    if (f.name == name) return f;
  }
  return std::nullopt;
}

std::vector<FactoryScope> LogAuthority::Factories() const {
  std::shared_lock lock(mu_);
  std::vector<FactoryScope> out;
  for (const auto& [o, f] : factories_) out.push_back(f);
  return out;
}

std::optional<std::string> LogAuthority::FactoryOfCa(ByteSpan ca_id) const {
  std::shared_lock lock(mu_);
  auto it = origin_of_ca_.find(std::string(reinterpret_cast<const char*>(ca_id.data()), ca_id.size()));
  if (it == origin_of_ca_.end()) return std::nullopt;
  return it->second;
}

Result<FactoryScope> ResolveFactory(const LogAuthority& authority, const std::string& name) {
  if (std::optional<FactoryScope> f = authority.FactoryNamed(name)) return *f;
  std::string known;
  std::vector<FactoryScope> all = authority.Factories();
  for (const FactoryScope& f : all) known += (known.empty() ? "" : ", ") + f.name;
  if (name.empty()) {
    if (all.size() == 1) return all[0];
    return Status::InvalidArgument("name the factory (factories: " + known + ")");
  }
  return Status::NotFound("no factory '" + name + "' is registered at HQ (factories: " + known + ")");
}

Result<BatchRef> ResolveBatchRef(const LogAuthority& authority, const std::string& ref) {
  const size_t slash = ref.find('/');
  FactoryScope f;
  std::string batch = ref;
  if (slash != std::string::npos) {
    if (slash == 0 || slash + 1 == ref.size()) {
      return Status::InvalidArgument("a batch is named FACTORY/BATCH, not '" + ref + "'");
    }
    ASSIGN_OR_RETURN(f, ResolveFactory(authority, ref.substr(0, slash)));
    batch = ref.substr(slash + 1);
  } else {
    std::vector<FactoryScope> all = authority.Factories();
    if (all.size() != 1) {
      return Status::InvalidArgument("batch '" + ref + "': name its factory (FACTORY/BATCH): " +
                                     std::to_string(all.size()) + " factories are registered");
    }
    f = std::move(all.front());
  }
  return BatchRef{f.name, f.log_origin, batch};
}

Result<bool> RegisterFactory(log::EventLog& hq_log, LogAuthority& authority,
                             const FactoryRegistration& reg) {
  RETURN_IF_ERROR(authority.CatchUp(hq_log));
  ASSIGN_OR_RETURN(log::LogVerifier v, log::LogVerifier::Parse(reg.log_key));
  if (std::optional<FactoryScope> held = authority.Factory(v.name())) {
    if (held->removed) {
      return Status::FailedPrecondition("factory '" + held->name + "' was removed at HQ; it is not registered again "
                                        "by a restart or a config file");
    }
    bool same = held->name == reg.name && held->log_key == reg.log_key &&
                std::includes(held->sync_spki.begin(), held->sync_spki.end(), reg.sync_spki.begin(),
                              reg.sync_spki.end());
    for (const Bytes& der : reg.ca_certificates) {
      ASSIGN_OR_RETURN(Bytes id, CaIdOfCertificate(der));
      same = same && held->ca_ids.count(std::string(id.begin(), id.end())) != 0;
    }
    if (same) return false;
  }
  log::EventDraft d;
  auto r = d.event().getKind().initFactoryRegistered();
  r.setName(reg.name);
  r.setLogOrigin(v.name());
  r.setLogKey(reg.log_key);
  auto cas = r.initCaCertificates(static_cast<unsigned>(reg.ca_certificates.size()));
  for (size_t i = 0; i < reg.ca_certificates.size(); ++i) {
    cas.set(static_cast<unsigned>(i), capnp::Data::Reader(reg.ca_certificates[i].data(), reg.ca_certificates[i].size()));
  }
  auto spki = r.initSyncSpki(static_cast<unsigned>(reg.sync_spki.size()));
  unsigned i = 0;
  for (const std::string& s : reg.sync_spki) spki.set(i++, s);
  r.setCaKeyFingerprint(capnp::Data::Reader(reg.ca_key_fingerprint.data(), reg.ca_key_fingerprint.size()));
  if (std::optional<AuthorityViolation> v2 = authority.Check(hq_log.origin(), d.event().asReader())) {
    return Status::InvalidArgument("factory '" + reg.name + "' cannot be registered: " + v2->ToString());
  }
  std::vector<log::EventDraft> drafts;
  drafts.push_back(std::move(d));
  RETURN_IF_ERROR(hq_log.Append(std::move(drafts)).status());
  RETURN_IF_ERROR(authority.CatchUp(hq_log));
  return true;
}

Status RemoveFactory(log::EventLog& hq_log, LogAuthority& authority, const std::string& origin,
                     const std::string& reason) {
  RETURN_IF_ERROR(authority.CatchUp(hq_log));
  if (!authority.Factory(origin)) return Status::NotFound("no factory log '" + origin + "' is registered");
  log::EventDraft d;
  auto r = d.event().getKind().initFactoryRemoved();
  r.setLogOrigin(origin);
  r.setReason(reason);
  std::vector<log::EventDraft> drafts;
  drafts.push_back(std::move(d));
  RETURN_IF_ERROR(hq_log.Append(std::move(drafts)).status());
  return authority.CatchUp(hq_log);
}

}  // namespace mirrorca::engine
