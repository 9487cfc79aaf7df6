#include "validation/validation_authority.h"

#include "log/local_log.h"
#include "base/parallel_for.h"

#include <openssl/x509.h>

#include <algorithm>
#include <ctime>
#include <limits>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/issuing_ca.h"
#include "ca/keys.h"
#include "ca/profile.h"
#include "ca/serial.h"
#include "crypto/key_store.h"
#include "log/event_draft.h"
#include "crypto/sha256.h"
#include "validation/crl_builder.h"
#include "validation/crl_http.h"
#include "validation/ocsp_http.h"

namespace mirrorca::validation {
namespace {

constexpr int64_t kMicros = 1000000;

// ResponderFor loads DIR/ocsp-responder.{pem,key}, issuing a new one from
// the CA when it is missing or has less than a third of its life left.
Result<std::pair<ca::X509Ptr, ca::EvpPkeyPtr>> ResponderFor(Env* env, const ca::IssuingCa& issuing,
                                                             const VaIssuer& is,
                                                             const std::string& organization,
                                                             int64_t now) {
  const std::string cert_path = is.ca_dir + "/ocsp-responder.pem";
  const std::string key_path = is.ca_dir + "/ocsp-responder.key";
  if (env->FileExists(cert_path) && env->FileExists(key_path)) {
    Result<std::string> pem = env->ReadFile(cert_path, 1 << 20);
    Result<ca::X509Ptr> cert = pem.ok() ? ca::ParseCertificate(*pem) : pem.status();
    // A key that is there but cannot be used (mode 0644, a token that does
    // not answer) is the operator's to fix: replacing it would hide that.
    Result<ca::EvpPkeyPtr> key = crypto::OpenKeyAt(env, key_path);
    if (!key.ok()) return key.status().WithContext("the OCSP responder key of CA '" + is.name + "'");
    if (cert.ok()) {
      const ASN1_TIME* nb = X509_get0_notBefore(cert->get());
      const ASN1_TIME* na = X509_get0_notAfter(cert->get());
      std::tm b{}, a{};
      if (ASN1_TIME_to_tm(nb, &b) == 1 && ASN1_TIME_to_tm(na, &a) == 1 &&
          X509_check_issued(issuing.certificate(), cert->get()) == X509_V_OK) {
        const int64_t start = timegm(&b), end = timegm(&a);
        if (now < end - (end - start) / 3) return std::make_pair(std::move(*cert), std::move(*key));
      }
    }
  }
  ASSIGN_OR_RETURN(ca::Profile profile, ca::BuiltinProfile("ocsp-responder"));
  // The responder key goes where the CA key is (its token, or a PEM file).
  ASSIGN_OR_RETURN(crypto::KeyStore keys, crypto::StoreOfKeyAt(env, is.ca_dir + "/ca.key"));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr key, crypto::CreateKey(env, keys, key_path, crypto::TokenKeyType::kP256));
  ASSIGN_OR_RETURN(Bytes serial, ca::RandomSerial());
  ASSIGN_OR_RETURN(ca::X509Ptr cert,
                   issuing.Issue(profile, {{"organization", organization},
                                           {"device_serial", "ocsp-" + is.name}},
                                 key.get(), serial, now));
  ASSIGN_OR_RETURN(std::string pem, ca::CertificatePem(cert.get()));
  RETURN_IF_ERROR(env->WriteFileAtomic(cert_path, pem, 0644));
  return std::make_pair(std::move(cert), std::move(key));
}

// RemoteResponderFor loads <ca_dir>/ocsp-responder-<name>.pem when it
// certifies `spki_der` under `issuing` with more than a third of its life
// left, else issues a new one for that key and writes it there.
Result<ca::X509Ptr> RemoteResponderFor(Env* env, const ca::IssuingCa& issuing, const VaIssuer& is,
                                       const RemoteResponder& remote, const std::string& organization,
                                       int64_t now, bool* issued) {
  *issued = false;
  const std::string cert_path = is.ca_dir + "/ocsp-responder-" + remote.name + ".pem";
  const unsigned char* p = remote.spki_der.data();
  ca::EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(remote.spki_der.size())));
  if (!key) return Status::InvalidArgument("the responder key of VA '" + remote.name + "' does not parse");
  if (Result<std::string> pem = env->ReadFile(cert_path, 1 << 20); pem.ok()) {
    Result<ca::X509Ptr> cert = ca::ParseCertificate(*pem);
    if (cert.ok() && X509_check_issued(issuing.certificate(), cert->get()) == X509_V_OK &&
        EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key.get()) == 1) {
      std::tm b{}, a{};
      if (ASN1_TIME_to_tm(X509_get0_notBefore(cert->get()), &b) == 1 &&
          ASN1_TIME_to_tm(X509_get0_notAfter(cert->get()), &a) == 1) {
        const int64_t start = timegm(&b), end = timegm(&a);
        if (now < end - (end - start) / 3) return std::move(*cert);
      }
    }
  }
  ASSIGN_OR_RETURN(ca::Profile profile, ca::BuiltinProfile("ocsp-responder"));
  ASSIGN_OR_RETURN(Bytes serial, ca::RandomSerial());
  ASSIGN_OR_RETURN(ca::X509Ptr cert,
                   issuing.Issue(profile, {{"organization", organization},
                                           {"device_serial", "ocsp-" + remote.name + "-" + is.name}},
                                 key.get(), serial, now));
  ASSIGN_OR_RETURN(std::string pem, ca::CertificatePem(cert.get()));
  RETURN_IF_ERROR(env->WriteFileAtomic(cert_path, pem, 0644));
  *issued = true;
  return cert;
}

// RenewAt returns when a third of `cert`'s validity remains (seconds).
int64_t RenewAt(X509* cert) {
  std::tm b{}, a{};
  if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &b) != 1 ||
      ASN1_TIME_to_tm(X509_get0_notAfter(cert), &a) != 1) {
    return 0;
  }
  const int64_t start = timegm(&b), end = timegm(&a);
  return end - (end - start) / 3;
}

// PublishedPath: where a CA's latest published CRL is kept (its CA folder).
std::string PublishedPath(const VaIssuer& is, bool delta) {
  return is.ca_dir + (delta ? "/published-delta.crl" : "/published-full.crl");
}

// LoadPublished reads a CRL this VA published before a restart: number,
// base, validity and entries from the DER. nullopt when absent or unreadable.
std::optional<CrlInfo> LoadPublished(Env* env, const VaIssuer& is, bool delta) {
  Result<std::string> der = env->ReadFile(PublishedPath(is, delta), 64 << 20);
  if (!der.ok()) return std::nullopt;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  ca::OpenSslPtr<X509_CRL, X509_CRL_free> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der->size())));
  if (!crl) {
    ERR_clear_error();
    return std::nullopt;
  }
  auto integer = [&](int nid) -> std::optional<uint64_t> {
    ca::Asn1IntegerPtr n(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), nid, nullptr, nullptr)));
    uint64_t v = 0;
    if (!n || ASN1_INTEGER_get_uint64(&v, n.get()) != 1) return std::nullopt;
    return v;
  };
  std::tm a{}, b{};
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
  if (next == nullptr || ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(crl.get()), &a) != 1 ||
      ASN1_TIME_to_tm(next, &b) != 1 || !integer(NID_crl_number)) {
    return std::nullopt;
  }
  CrlInfo info;
  info.issuer = is.name;
  info.delta = delta;
  info.number = *integer(NID_crl_number);
  info.base = delta ? integer(NID_delta_crl).value_or(0) : 0;
  info.this_update = timegm(&a);
  info.next_update = timegm(&b);
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  info.entries = revoked ? static_cast<uint64_t>(sk_X509_REVOKED_num(revoked)) : 0;
  info.der = std::move(*der);
  return info;
}

}  // namespace

struct ValidationAuthority::Ca {
  VaIssuer config;
  std::unique_ptr<ca::IssuingCa> issuing;
  int64_t responder_renew_at = 0;  // seconds; when a third of its life remains
  std::map<std::string, int64_t> remote_renew_at;  // by remote VA name; guarded by mu_
  int64_t changed_since = 0;       // seconds; when Maintain first saw a revocation without CRL
  std::optional<CrlInfo> full, delta;  // latest published; guarded by mu_
};

ValidationAuthority::~ValidationAuthority() = default;

Result<std::unique_ptr<ValidationAuthority>> ValidationAuthority::Open(
    log::EventLog* hq_log, std::vector<log::EventLog*> logs, std::vector<VaIssuer> issuers,
    VaOptions options) {
  if (options.authority == nullptr || options.authority->hq_origin() != hq_log->origin()) {
    return Status::InvalidArgument("the VA needs the log authority of '" + hq_log->origin() + "'");
  }
  std::unique_ptr<ValidationAuthority> va(new ValidationAuthority());
  va->env_ = options.env != nullptr ? options.env : Env::Default();
  va->hq_log_ = hq_log;
  va->logs_ = std::move(logs);
  va->options_ = std::move(options);
  ASSIGN_OR_RETURN(va->status_, engine::CertStatus::Open(hq_log->store()));
  ASSIGN_OR_RETURN(va->crl_number_floor_, log::RestoredAtMillis(hq_log->store()));
  RETURN_IF_ERROR(va->CatchUpLocked().status());  // LogResponder asks the projection
  ASSIGN_OR_RETURN(va->ocsp_, OcspResponder::Create({}, va->status_.get(), va->options_.ocsp));
  ASSIGN_OR_RETURN(va->presigned_, PresignedStore::Open(hq_log->store()));
  va->ocsp_->AttachPresigned(va->presigned_.get(), /*writable=*/true);
  for (VaIssuer& is : issuers) RETURN_IF_ERROR(va->AddIssuerLocked(std::move(is)));
  RETURN_IF_ERROR(va->Refresh().status());
  return va;
}

Status ValidationAuthority::AddIssuer(VaIssuer is, log::EventLog* log) {
  std::lock_guard lock(mu_);
  if (log != nullptr && std::find(logs_.begin(), logs_.end(), log) == logs_.end()) logs_.push_back(log);
  RETURN_IF_ERROR(AddIssuerLocked(std::move(is)));
  return CatchUpLocked().status();
}

Status ValidationAuthority::AddIssuerLocked(VaIssuer is) {
  for (const auto& c : cas_) {
    if (c->config.name == is.name) return Status::AlreadyExists("the VA already serves CA '" + is.name + "'");
  }
  auto c = std::make_unique<Ca>();
  ASSIGN_OR_RETURN(ca::IssuingCa issuing, ca::IssuingCa::Load(env_, is.ca_dir, {}));
  c->issuing = std::make_unique<ca::IssuingCa>(std::move(issuing));
  if (is.crl_only) {  // the root: CRLs for -crl_check_all, no OCSP
    c->responder_renew_at = std::numeric_limits<int64_t>::max();
  } else {
    const int64_t now = env_->NowMicros() / kMicros;
    ASSIGN_OR_RETURN(auto responder, ResponderFor(env_, *c->issuing, is, options_.organization, now));
    c->config = is;
    RETURN_IF_ERROR(LogResponder(*c, responder.first.get(), "ocsp-" + is.name));
    c->responder_renew_at = RenewAt(responder.first.get());
    RETURN_IF_ERROR(ocsp_->AddIssuer({is.name, ca::UpRef(c->issuing->certificate()), std::move(responder.first),
                                      std::move(responder.second), is.unseen_unknown}));
  }
  c->config = std::move(is);
  const engine::CrlState st = status_->Crl(c->issuing->ca_id());
  if (std::optional<CrlInfo> full = LoadPublished(env_, c->config, false);
      full && st.has_full && full->number == st.last_full_number) {
    c->full = std::move(full);
  }
  if (std::optional<CrlInfo> delta = LoadPublished(env_, c->config, true);
      delta && c->full && delta->base == c->full->number && delta->number == st.last_number) {
    c->delta = std::move(delta);
  }
  cas_.push_back(std::move(c));
  return Status::Ok();
}

std::vector<ValidationAuthority::Ca*> ValidationAuthority::CasSnapshot() {
  std::lock_guard lock(mu_);
  std::vector<Ca*> out;
  for (const auto& c : cas_) out.push_back(c.get());
  return out;
}

std::vector<std::string> ValidationAuthority::IssuerNames() {
  std::vector<std::string> out;
  for (const Ca* c : CasSnapshot()) out.push_back(c->config.name);
  return out;
}

Result<uint64_t> ValidationAuthority::CatchUpLocked() {
  RETURN_IF_ERROR(options_.authority->CatchUp(*hq_log_));  // what each log may say, before any is projected
  uint64_t applied = 0;
  for (log::EventLog* l : logs_) {
    ASSIGN_OR_RETURN(uint64_t n, status_->CatchUp(*l, *options_.authority));
    applied += n;
  }
  return applied;
}

Result<uint64_t> ValidationAuthority::Refresh() {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(uint64_t applied, CatchUpLocked());
  if (applied > 0) ocsp_->Invalidate();
  // A changed status is signed again at once: the stored answer of a
  // revoked certificate says so before Refresh returns.
  RETURN_IF_ERROR(PresignLocked(/*urgent=*/true, std::chrono::steady_clock::time_point::max()).status());
  return applied;
}

Result<size_t> ValidationAuthority::PresignLocked(bool urgent, std::chrono::steady_clock::time_point deadline) {
  return ocsp_->SignPending(urgent, deadline, env_->NowMicros() / kMicros, std::max(1u, HardwareThreads()));
}

Result<size_t> ValidationAuthority::PresignStep(std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(size_t urgent, PresignLocked(true, std::chrono::steady_clock::time_point::max()));
  ASSIGN_OR_RETURN(size_t fresh, PresignLocked(false, deadline));
  ASSIGN_OR_RETURN(std::vector<engine::CertChange> left, status_->PendingChanges(false, 1));
  presign_caught_up_ = left.empty();
  size_t refreshed = 0;
  const unsigned threads = std::max(1u, HardwareThreads());
  while (std::chrono::steady_clock::now() < deadline) {
    ASSIGN_OR_RETURN(size_t n, ocsp_->RefreshDue(env_->NowMicros() / kMicros, 2048, threads));
    refreshed += n;
    if (n == 0) break;
  }
  return urgent + fresh + refreshed;
}

void ValidationAuthority::SetRemoteResponders(std::vector<RemoteResponder> responders) {
  std::lock_guard lock(mu_);
  options_.remote_responders = std::move(responders);
  for (const auto& c : cas_) c->remote_renew_at.clear();  // looked at again by the next Maintain
}

Status ValidationAuthority::MaintainRemote(Ca& c, int64_t now) {
  std::lock_guard lock(mu_);
  for (const RemoteResponder& remote : options_.remote_responders) {
    auto due = c.remote_renew_at.find(remote.name);
    if (due != c.remote_renew_at.end() && now < due->second) continue;
    bool issued = false;
    ASSIGN_OR_RETURN(ca::X509Ptr cert, RemoteResponderFor(env_, *c.issuing, c.config, remote, options_.organization,
                                                          now, &issued));
    // Recorded in HQ's log (unless the projection has it): the remote VA
    // takes its certificates from there.
    RETURN_IF_ERROR(LogResponder(c, cert.get(), "ocsp-" + remote.name + "-" + c.config.name));
    c.remote_renew_at[remote.name] = RenewAt(cert.get());
  }
  return Status::Ok();
}

Status ValidationAuthority::LogResponder(const Ca& c, X509* cert, const std::string& device_serial) {
  const Bytes serial = ca::SerialBytes(cert);
  ASSIGN_OR_RETURN(std::optional<engine::CertRecord> held, status_->Get(c.issuing->ca_id(), serial));
  if (held && held->issued) return Status::Ok();
  ASSIGN_OR_RETURN(std::string der, ca::CertificateDer(cert));
  std::tm b{}, a{};
  if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &b) != 1 || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &a) != 1) {
    return Status::InvalidArgument("responder certificate validity does not parse");
  }
  log::EventDraft d;
  auto e = d.event().getKind().initCertificateIssued();
  const Bytes& ca_id = c.issuing->ca_id();
  e.setCaId(capnp::Data::Reader(ca_id.data(), ca_id.size()));
  e.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
  e.setDeviceSerial(device_serial);
  e.setProfile("ocsp-responder");
  e.setCertificate(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(der.data()), der.size()));
  e.setNotBefore(static_cast<int64_t>(timegm(&b)) * kMicros);
  e.setNotAfter(static_cast<int64_t>(timegm(&a)) * kMicros);
  e.setRaId("hq");
  e.setServerGeneratedKey(true);
  crypto::Hash h = crypto::Sha256(AsBytes(der));
  e.setRequestHash(capnp::Data::Reader(h.data(), h.size()));
  std::vector<log::EventDraft> drafts;
  drafts.push_back(std::move(d));
  RETURN_IF_ERROR(hq_log_->Append(std::move(drafts)).status());  // durable before it signs anything
  return CatchUpLocked().status();
}

Result<engine::RevocationResult> ValidationAuthority::Revoke(const engine::RevocationRequest& r) {
  RETURN_IF_ERROR(Refresh().status());
  std::vector<Bytes> ca_ids;
  for (const Ca* c : CasSnapshot()) ca_ids.push_back(c->issuing->ca_id());
  Result<engine::RevocationResult> result = Status::Internal("");
  {
    std::lock_guard lock(mu_);
    result = engine::Revoke(*hq_log_, *status_, ca_ids, r, env_->NowMicros());
  }
  if (!result.ok()) return result;
  // OCSP answers change at once; the CRLs follow within seconds (Maintain
  // publishes one delta for the revocations of a few seconds, debounced).
  RETURN_IF_ERROR(Refresh().status());
  return result;
}

Result<CrlInfo> ValidationAuthority::PublishCrl(const std::string& issuer, bool delta) {
  RETURN_IF_ERROR(Refresh().status());
  std::lock_guard lock(mu_);
  Ca* c = nullptr;
  for (const auto& x : cas_) {
    if (x->config.name == issuer) c = x.get();
  }
  if (c == nullptr) return Status::NotFound("no issuing CA named '" + issuer + "'");
  const Bytes& ca_id = c->issuing->ca_id();
  const engine::CrlState st = status_->Crl(ca_id);
  if (delta && !st.has_full) return Status::FailedPrecondition("a delta CRL needs a full CRL first");
  CrlInfo info;
  info.issuer = issuer;
  info.delta = delta;
  info.number = std::max(st.last_number + 1, crl_number_floor_);
  info.base = st.last_full_number;
  info.this_update = env_->NowMicros() / kMicros;
  info.next_update = info.this_update + options_.crl_validity_seconds;
  std::vector<CrlEntry> entries;
  Status bad_serial = Status::Ok();
  auto add = [&](ByteSpan serial, const engine::CertRecord& r) -> Status {
    CrlEntry e;
    if (!e.SetSerial(serial)) {  // not a serial we issue: never listed
      bad_serial = Status::Corruption("a revoked serial longer than 20 octets");
      return Status::Ok();
    }
    if (r.state == engine::CertState::kGood) {
      if (!delta) return Status::Ok();  // a released hold: gone from full CRLs
      e.reason = 8;                     // removeFromCRL (RFC 5280 §5.3.1)
      e.revocation_time = r.revocation_time / kMicros;
      entries.push_back(e);
      return Status::Ok();
    }
    // Entries stay until one CRL after the certificate expired.
    if (r.not_after != 0 &&
        r.not_after / kMicros + options_.crl_validity_seconds < info.this_update) {
      return Status::Ok();
    }
    e.reason = r.state == engine::CertState::kHold ? 6 : r.reason;
    e.revocation_time = r.revocation_time / kMicros;
    e.invalidity_date = r.invalidity_date / kMicros;
    entries.push_back(e);
    return Status::Ok();
  };
  if (delta) {
    // What changed since the base: the tail of HQ's log, not the whole table.
    RETURN_IF_ERROR(status_->ForEachRevokedSince(*hq_log_, ca_id, st.last_full_seq, add));
  } else {
    RETURN_IF_ERROR(status_->ForEachRevoked(ca_id, add));
  }
  RETURN_IF_ERROR(bad_serial);
  CrlSpec spec;
  spec.number = info.number;
  spec.this_update = info.this_update;
  spec.next_update = info.next_update;
  if (delta) spec.delta_base = st.last_full_number;
  // The same issuing distribution point on full and delta CRLs: a relying
  // party applies a delta only to a base of the same scope (RFC 5280 §5.2.4).
  spec.distribution_point = c->config.crl_url;
  if (!delta && c->config.crl_url.ends_with(".crl")) {
    spec.freshest_crl =
        c->config.crl_url.substr(0, c->config.crl_url.size() - 4) + "-delta.crl";
  }
  ASSIGN_OR_RETURN(info.der, BuildCrl(c->issuing->certificate(), c->issuing->key(), spec, entries));
  info.entries = entries.size();
  log::EventDraft d;
  auto e = d.event().getKind().initCrlPublished();
  e.setCaId(capnp::Data::Reader(ca_id.data(), ca_id.size()));
  e.setCrlNumber(info.number);
  e.setThisUpdate(info.this_update * kMicros);
  e.setNextUpdate(info.next_update * kMicros);
  e.setIsDelta(delta);
  e.setBaseCrlNumber(delta ? st.last_full_number : 0);
  crypto::Hash h = crypto::Sha256(AsBytes(info.der));
  e.setCrlHash(capnp::Data::Reader(h.data(), h.size()));
  e.setEntryCount(info.entries);
  std::vector<log::EventDraft> drafts;
  drafts.push_back(std::move(d));
  RETURN_IF_ERROR(hq_log_->Append(std::move(drafts)).status());
  RETURN_IF_ERROR(options_.authority->CatchUp(*hq_log_));
  RETURN_IF_ERROR(status_->CatchUp(*hq_log_, *options_.authority).status());
  (delta ? c->delta : c->full) = info;
  // The published bytes, so that a restarted node serves them without
  // signing again (the public side never makes a CA key sign).
  if (Status saved = env_->WriteFileAtomic(PublishedPath(c->config, delta), info.der, 0644); !saved.ok()) {
    return saved.WithContext("CRL " + std::to_string(info.number) + " is recorded but not saved");
  }
  return info;
}

void ValidationAuthority::WriteMetrics(PrometheusText& m) {
  ocsp_->WriteMetrics(m);
  m.Gauge("mirrorca_ocsp_presign_caught_up",
          "1 once every issued certificate's answer is signed ahead (the change journal is empty).",
          presign_caught_up_.load() ? 1 : 0);
  const int64_t now = env_->NowMicros() / kMicros;
  std::lock_guard lock(mu_);
  for (const auto& c : cas_) {
    const MetricLabels ca = {{"ca", c->config.name}};
    if (!c->full) {
      m.Gauge("mirrorca_crl_published", "Whether the CA has a full CRL published.", 0, ca);
      continue;
    }
    m.Gauge("mirrorca_crl_published", "Whether the CA has a full CRL published.", 1, ca);
    m.Gauge("mirrorca_crl_age_seconds", "Seconds since the latest full CRL's thisUpdate.",
            static_cast<double>(now - c->full->this_update), ca);
    m.Gauge("mirrorca_crl_seconds_to_next_update", "Seconds until the latest full CRL's nextUpdate (negative: expired).",
            static_cast<double>(c->full->next_update - now), ca);
    m.Gauge("mirrorca_crl_number", "CRL number of the latest CRL (full or delta).",
            static_cast<double>(std::max(c->full->number, c->delta ? c->delta->number : 0)), ca);
    m.Gauge("mirrorca_crl_entries", "Revoked serials on the latest full CRL.", static_cast<double>(c->full->entries), ca);
  }
}

Result<CrlInfo> ValidationAuthority::PublishedCrl(const std::string& issuer, bool delta) {
  std::lock_guard lock(mu_);
  for (const auto& c : cas_) {
    if (c->config.name != issuer) continue;
    const auto& latest = delta ? c->delta : c->full;
    if (!latest) return Status::Unavailable("no " + std::string(delta ? "delta " : "") + "CRL of " + issuer + " is published yet");
    if (latest->next_update <= env_->NowMicros() / kMicros) {
      return Status::Unavailable("the latest CRL of " + issuer + " has expired; the next is not published yet");
    }
    return *latest;
  }
  return Status::NotFound("no issuing CA named '" + issuer + "'");
}

Result<CrlInfo> ValidationAuthority::LatestCrl(const std::string& issuer, bool delta) {
  {
    std::lock_guard lock(mu_);
    for (const auto& c : cas_) {
      if (c->config.name != issuer) continue;
      const auto& latest = delta ? c->delta : c->full;
      if (latest && latest->next_update > env_->NowMicros() / kMicros) return *latest;
    }
  }
  if (delta) {
    bool has_full = false;
    {
      std::lock_guard lock(mu_);
      for (const auto& c : cas_) {
        if (c->config.name == issuer) has_full = c->full.has_value();
      }
    }
    if (!has_full) RETURN_IF_ERROR(PublishCrl(issuer, false).status());
  }
  return PublishCrl(issuer, delta);
}

Status ValidationAuthority::Maintain() {
  const int64_t now = env_->NowMicros() / kMicros;
  Status remote_failure;
  for (Ca* c : CasSnapshot()) {
    if (now >= c->responder_renew_at) {
      ASSIGN_OR_RETURN(auto responder, ResponderFor(env_, *c->issuing, c->config,
                                                    options_.organization, now));
      {
        std::lock_guard lock(mu_);
        RETURN_IF_ERROR(LogResponder(*c, responder.first.get(), "ocsp-" + c->config.name));
      }
      c->responder_renew_at = RenewAt(responder.first.get());
      RETURN_IF_ERROR(ocsp_->ReplaceResponder(c->config.name, std::move(responder.first),
                                              std::move(responder.second)));
    }
    // A remote VA's certificate that cannot be made does not hold up the CRLs.
    if (!c->config.crl_only) {
      if (Status r = MaintainRemote(*c, now); !r.ok() && remote_failure.ok()) remote_failure = r;
    }
    // Revocations reach the CRLs debounced: once the first one without a
    // CRL is crl_debounce_seconds old, one delta (the first full CRL when
    // the CA has none) carries all of them. Otherwise a CA that has CRLs
    // gets a new full one when half the last one's validity has passed.
    // No CRL is written unasked for a CA that never revoked.
    const engine::CrlState st = status_->Crl(c->issuing->ca_id());
    bool has_full = false;
    {
      std::lock_guard lock(mu_);
      has_full = c->full.has_value() && c->full->next_update > now;
    }
    if (!has_full) {  // none yet (or not kept across a restart): relying parties need one
      RETURN_IF_ERROR(PublishCrl(c->config.name, false).status());
      c->changed_since = 0;
      continue;
    }
    if (st.ChangedSinceLastCrl()) {
      if (c->changed_since == 0) c->changed_since = now;
      if (now - c->changed_since >= options_.crl_debounce_seconds) {
        RETURN_IF_ERROR(PublishCrl(c->config.name, /*delta=*/st.has_full).status());
        c->changed_since = 0;
      }
    } else {
      c->changed_since = 0;
      if (st.has_full &&
          now >= st.last_full_this_update / kMicros + options_.crl_validity_seconds / 2) {
        RETURN_IF_ERROR(PublishCrl(c->config.name, false).status());
      }
    }
  }
  return remote_failure;
}

net::HttpResponse ValidationAuthority::Handle(const net::HttpRequest& q) {
  auto text = [](int status, std::string body) {
    net::HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  };
  if (auto ocsp = HandleOcspHttp(*ocsp_, q, env_->NowMicros() / kMicros)) return std::move(*ocsp);
  if (q.path.rfind("/crl/", 0) == 0 && q.method == "GET") {
    std::optional<CrlRoute> route = ParseCrlPath(q.path);
    if (!route) return text(404, "not found\n");
    // Only what the node published: an anonymous request never makes a CA
    // key sign or the log grow.
    Result<CrlInfo> crl = PublishedCrl(route->name, route->delta);
    if (!crl.ok()) {
      net::HttpResponse r = text(crl.status().code() == StatusCode::kNotFound ? 404 : 503, crl.status().message() + "\n");
      if (r.status == 503) r.headers = {{"Retry-After", "5"}};
      return r;
    }
    return CrlResponse(crl->der, crl->this_update, crl->next_update, env_->NowMicros() / kMicros);
  }
  return text(404, "not found\n");
}

}  // namespace mirrorca::validation
