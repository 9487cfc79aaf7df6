#include "engine/factory_ca.h"

#include "engine/delivery_log.h"

#include <cstdio>
#include <regex>

#include "base/encoding.h"
#include "base/parallel_for.h"
#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/keys.h"
#include "ca/request_vetting.h"
#include "log/event_codec.h"
#include "crypto/sha256.h"
#include "crypto/spki.h"

namespace mirrorca::engine {
namespace {

using ca::EvpPkeyPtr;
using log::schema::Event;

bool ValidBatchId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

std::string Hex4(uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04X", v);
  return buf;
}

kj::ArrayPtr<const kj::byte> Data(const Bytes& b) { return {b.data(), b.size()}; }
kj::ArrayPtr<const kj::byte> Data(std::string_view s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}

EnrollError ErrorFor(RejectionReason r) {
  switch (r) {
    case RejectionReason::BAD_CSR:
    case RejectionReason::KEY_NOT_ALLOWED:
    case RejectionReason::SUBJECT_NOT_ALLOWED:
      return EnrollError::kBadRequest;
    case RejectionReason::PROOF_OF_POSSESSION:
    case RejectionReason::RA_NOT_AUTHORIZED:
    case RejectionReason::CERTIFICATE_REVOKED:
      return EnrollError::kForbidden;
    case RejectionReason::UNKNOWN_BATCH:
      return EnrollError::kNotFound;
    case RejectionReason::DUPLICATE_DEVICE:
    case RejectionReason::DUPLICATE_KEY:
    case RejectionReason::BATCH_CLOSED:
    case RejectionReason::BATCH_NOT_YET_VALID:
    case RejectionReason::BATCH_EXPIRED:
      return EnrollError::kConflict;
    case RejectionReason::QUOTA_EXHAUSTED:
      return EnrollError::kQuotaExhausted;
    default:
      return EnrollError::kUnavailable;
  }
}

RejectionReason ReasonFor(ca::VetFailure f) {
  switch (f) {
    case ca::VetFailure::kBadCsr: return RejectionReason::BAD_CSR;
    case ca::VetFailure::kProofOfPossession: return RejectionReason::PROOF_OF_POSSESSION;
    case ca::VetFailure::kKeyNotAllowed: return RejectionReason::KEY_NOT_ALLOWED;
    case ca::VetFailure::kSubjectNotAllowed: return RejectionReason::SUBJECT_NOT_ALLOWED;
    case ca::VetFailure::kNone: break;
  }
  return RejectionReason::UNSPECIFIED;
}

}  // namespace

std::string_view RejectionCode(RejectionReason r) {
  switch (r) {
    case RejectionReason::UNSPECIFIED: return "unspecified";
    case RejectionReason::BAD_CSR: return "bad-csr";
    case RejectionReason::PROOF_OF_POSSESSION: return "proof-of-possession";
    case RejectionReason::KEY_NOT_ALLOWED: return "key-not-allowed";
    case RejectionReason::SUBJECT_NOT_ALLOWED: return "subject-not-allowed";
    case RejectionReason::DUPLICATE_DEVICE: return "duplicate-device";
    case RejectionReason::UNKNOWN_BATCH: return "unknown-batch";
    case RejectionReason::BATCH_CLOSED: return "batch-closed";
    case RejectionReason::BATCH_NOT_YET_VALID: return "batch-not-yet-valid";
    case RejectionReason::BATCH_EXPIRED: return "batch-expired";
    case RejectionReason::QUOTA_EXHAUSTED: return "quota-exhausted";
    case RejectionReason::RA_NOT_AUTHORIZED: return "ra-not-authorized";
    case RejectionReason::INTERNAL_ERROR: return "internal-error";
    case RejectionReason::DUPLICATE_KEY: return "duplicate-key";
    case RejectionReason::CERTIFICATE_REVOKED: return "certificate-revoked";
  }
  return "unspecified";
}

struct FactoryCa::Work {
  const EnrollRequest* request = nullptr;
  bool keygen = false;
  bool unencrypted_key = false;
  std::string password;
  EnrollResult result;
  std::shared_ptr<const BatchTerms> terms;
  const ca::Profile* profile = nullptr;
  const ca::IssuingCa* issuer = nullptr;  // the CA the batch is authorized under
  EvpPkeyPtr public_key;  // the device's key (or the generated key)
  ca::X509ReqPtr csr;     // the parsed CSR (its SubjectPublicKeyInfo is copied), or
  ca::X509PubkeyPtr spki; // a P-256 CSR's SubjectPublicKeyInfo (read without a CSR object)
  std::optional<Reservation> reservation;
  crypto::Hash request_hash{};
  std::string key_hash;  // SHA-256 of the device key's SPKI
  int64_t now = 0;
  log::EventDraft draft;
  bool has_draft = false;
  bool refused = false;
};

FactoryCa::~FactoryCa() = default;

Result<std::unique_ptr<FactoryCa>> FactoryCa::Open(FactoryCaOptions options) {
  std::unique_ptr<FactoryCa> f(new FactoryCa());
  f->env_ = options.env != nullptr ? options.env : Env::Default();
  options.log_options.env = f->env_;
  ASSIGN_OR_RETURN(f->local_,
                   log::OpenLocalLog(f->env_, options.data_dir, /*with_key=*/true,
                                     options.log_options));
  // HQ's log: a verified mirror copy in the same store, created on first use.
  ASSIGN_OR_RETURN(log::LogVerifier hq, log::LogVerifier::Parse(options.hq_verifier_key));
  if (hq.name() != options.hq_origin) {
    return Status::InvalidArgument("HQ log key is for '" + hq.name() + "', config says '" +
                                   options.hq_origin + "'");
  }
  f->hq_verifier_ = hq;
  if (options.hq_delivery) {
    ASSIGN_OR_RETURN(log::LogVerifier delivery, DeliveryVerifier(hq, options.factory_name));
    ASSIGN_OR_RETURN(f->hq_log_, log::EventLog::OpenCopy(f->local_.store.get(), delivery, options.log_options));
  } else {
    ASSIGN_OR_RETURN(f->hq_log_, log::EventLog::OpenCopy(f->local_.store.get(), hq, options.log_options));
  }
  ASSIGN_OR_RETURN(ca::IssuingCa issuing, ca::IssuingCa::Load(f->env_, options.ca_dir, options.urls));
  f->issuing_ = std::make_unique<ca::IssuingCa>(std::move(issuing));
  for (const IssuingCaSource& p : options.previous_cas) {
    ASSIGN_OR_RETURN(ca::IssuingCa previous, ca::IssuingCa::Load(f->env_, p.dir, p.urls));
    if (f->IssuingCaFor(previous.ca_id()) != nullptr) {
      return Status::InvalidArgument(p.dir + " holds an issuing CA this factory already has");
    }
    f->previous_.push_back(std::make_unique<ca::IssuingCa>(std::move(previous)));
  }
  f->ledger_ = std::make_unique<BatchLedger>(f->local_.log->origin());
  f->options_ = std::move(options);
  RETURN_IF_ERROR(f->Replay());
  return f;
}

std::vector<const ca::IssuingCa*> FactoryCa::HeldCas() const {
  std::vector<const ca::IssuingCa*> out{issuing_.get()};
  for (const auto& p : previous_) out.push_back(p.get());
  return out;
}

const ca::IssuingCa* FactoryCa::IssuerOf(X509* cert, IssuerCheck check) const {
  const ca::IssuingCa* found = nullptr;
  for (const ca::IssuingCa* held : HeldCas()) {
    if (cert != nullptr && X509_check_issued(held->certificate(), cert) == X509_V_OK &&
        (check == IssuerCheck::kNameAndKeyId || X509_verify(cert, X509_get0_pubkey(held->certificate())) == 1)) {
      found = held;
      break;
    }
  }
  ERR_clear_error();
  return found;
}

Result<const ca::Profile*> FactoryCa::BatchProfile(const std::string& batch_id) {
  std::optional<BatchCounts> batch = ledger_->Batch(batch_id);
  if (!batch || !batch->terms) return Status::NotFound("batch '" + batch_id + "' is not authorized by HQ for this factory");
  return ProfileFor(batch->terms->profile);
}

const ca::IssuingCa* FactoryCa::IssuingCaFor(const Bytes& ca_id) const {
  if (ca_id.empty() || ca_id == issuing_->ca_id()) return issuing_.get();
  for (const auto& p : previous_) {
    if (p->ca_id() == ca_id) return p.get();
  }
  return nullptr;
}

Status FactoryCa::Replay() {
  auto apply = [](log::EventLog& l, const std::function<void(Event::Reader)>& fn) {
    return l.ForEach(0, l.Size(), [&](uint64_t seq, std::string_view bytes) -> Status {
      ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
      if (e.seq() != seq) return Status::Corruption("seq " + std::to_string(seq) + " mismatch");
      fn(e.event());
      return Status::Ok();
    });
  };
  RETURN_IF_ERROR(CatchUpHqLog().status().WithContext("replay HQ log"));
  return apply(*local_.log, [&](Event::Reader e) { ledger_->ApplyFactoryEvent(e); })
      .WithContext("replay factory log");
}

Result<uint64_t> FactoryCa::CatchUpHqLog() {
  std::lock_guard lock(hq_applied_mu_);
  const uint64_t from = hq_applied_, to = hq_log_->Size();
  RETURN_IF_ERROR(hq_log_->ForEach(from, to, [&](uint64_t seq, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    if (e.seq() != seq) return Status::Corruption("seq " + std::to_string(seq) + " mismatch");
    // Revocations reach the ledger only for this factory's own CAs (a
    // renewal must not name a revoked certificate).
    auto apply = [&](log::schema::Event::Reader event) {
      if (event.getKind().isCertificateRevoked()) {
        const auto id = event.getKind().getCertificateRevoked().getCaId();
        if (id.size() == 0 || IssuingCaFor(Bytes(id.begin(), id.end())) == nullptr) return;
      }
      ledger_->ApplyHqEvent(event);
    };
    if (options_.hq_delivery) {
      Result<RelayedEvent> r = Unwrap(e.event(), *hq_verifier_);
      if (!r.ok()) return Status::Corruption("delivery log seq " + std::to_string(seq) + ": " + r.status().message());
      apply(r->event.event());
    } else {
      apply(e.event());
    }
    hq_applied_ = seq + 1;
    return Status::Ok();
  }));
  return to - from;
}

Result<const ca::Profile*> FactoryCa::ProfileFor(const std::string& name) {
  std::lock_guard lock(profiles_mu_);
  auto it = profiles_.find(name);
  if (it != profiles_.end()) return it->second.get();
  Result<ca::Profile> p = Status::NotFound("");
  auto file = options_.profile_files.find(name);
  if (file != options_.profile_files.end()) {
    ASSIGN_OR_RETURN(std::string text, env_->ReadFile(file->second, 1 << 20));
    p = ca::ParseProfile(text, file->second);
  } else {
    p = ca::BuiltinProfile(name);
  }
  RETURN_IF_ERROR(p.status());
  if (p->is_ca) return Status::InvalidArgument("profile " + name + " is a CA profile");
  auto owned = std::make_unique<ca::Profile>(std::move(*p));
  const ca::Profile* raw = owned.get();
  profiles_.emplace(name, std::move(owned));
  return raw;
}

Result<const ca::CertificateTemplate*> FactoryCa::TemplateFor(const ca::IssuingCa& issuer,
                                                              const ca::Profile& profile) {
  const auto key = std::make_pair(&issuer, &profile);
  {
    std::shared_lock lock(templates_mu_);
    auto it = templates_.find(key);
    if (it != templates_.end()) return it->second.get();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ca::CertificateTemplate> made, ca::CertificateTemplate::Create(profile, issuer));
  std::unique_lock lock(templates_mu_);
  auto it = templates_.try_emplace(key, std::move(made)).first;  // a racing thread's may have won
  return it->second.get();
}

void FactoryCa::Refuse(Work& w, RejectionReason reason, std::string detail) {
  w.refused = true;
  w.result.error = ErrorFor(reason);
  w.result.reason = reason;
  w.result.detail = detail;
  auto r = w.draft.event().getKind().initIssuanceRejected();
  r.setBatchId(w.request->batch_id.substr(0, 64));
  r.setDeviceSerial(w.request->device_serial.substr(0, 64));
  r.setRaId(w.request->ra_id);
  r.setReason(reason);
  r.setDetail(detail);
  r.setRequestHash(kj::ArrayPtr<const kj::byte>(w.request_hash.data(), w.request_hash.size()));
  r.setProductionLine(options_.production_line);
  w.has_draft = true;
}

void FactoryCa::Vet(Work& w) {
  const EnrollRequest& req = *w.request;
  w.now = env_->NowMicros();
  w.result.device_serial = req.device_serial;
  w.request_hash = w.keygen ? crypto::Sha256({AsBytes("keygen"), AsBytes(req.batch_id),
                                           AsBytes(req.device_serial)})
                            : crypto::Sha256(AsBytes(req.public_key_der.empty() ? req.csr : req.public_key_der));
  if (!ValidBatchId(req.batch_id)) {
    return Refuse(w, RejectionReason::UNKNOWN_BATCH, "malformed batch id");
  }
  if (req.by_device && (!req.renews_serial || !req.ra_id.empty())) {
    return Refuse(w, RejectionReason::INTERNAL_ERROR, "a renewal by the device names the certificate it renews and no RA");
  }
  auto ra = options_.ra_batches.find(req.ra_id);
  if (!req.by_device && (ra == options_.ra_batches.end() ||
                         !(ra->second.contains("*") || ra->second.contains(req.batch_id)))) {
    return Refuse(w, RejectionReason::RA_NOT_AUTHORIZED,
                  "RA '" + req.ra_id + "' may not enroll in batch '" + req.batch_id + "'");
  }
  std::optional<BatchCounts> batch = ledger_->Batch(req.batch_id);
  if (!batch) {
    return Refuse(w, RejectionReason::UNKNOWN_BATCH,
                  "batch '" + req.batch_id + "' is not authorized by HQ for this factory");
  }
  w.terms = std::move(batch->terms);
  w.issuer = IssuingCaFor(w.terms->ca_id);
  if (w.issuer == nullptr) {
    return Refuse(w, RejectionReason::INTERNAL_ERROR,
                  "batch '" + req.batch_id + "' is authorized for issuing CA " + HexEncode(w.terms->ca_id).substr(0, 16) +
                      "…, which this factory does not hold (install it with `mirrorca pki ca-join`)");
  }
  Result<const ca::Profile*> profile = ProfileFor(w.terms->profile);
  if (!profile.ok()) {
    return Refuse(w, RejectionReason::INTERNAL_ERROR,
                  "profile '" + w.terms->profile + "': " + profile.status().message());
  }
  w.profile = *profile;
  if (w.profile->requires_vendor_id && w.terms->vendor_id == 0) {
    return Refuse(w, RejectionReason::SUBJECT_NOT_ALLOWED,
                  "profile " + w.profile->name + " needs a vendor id in the batch");
  }
  ca::VetOutcome serial = ca::VetDeviceSerial(req.device_serial, *w.profile);
  if (!serial.ok()) return Refuse(w, ReasonFor(serial.failure), serial.detail);
  if (w.keygen) return;  // the key is generated in Sign, after the reservation
  if (!req.public_key_der.empty()) {  // possession proved by the protocol (CMP)
    ca::VetOutcome key = ca::VetPublicKey(req.public_key_der, *w.profile);
    if (!key.ok()) return Refuse(w, ReasonFor(key.failure), key.detail);
    w.public_key = std::move(key.public_key);
    // The key as OpenSSL encodes it again: one key, one device, however it was sent.
    Result<Bytes> spki_hash = crypto::KeySpkiSha256(w.public_key.get());
    if (!spki_hash.ok()) return Refuse(w, RejectionReason::BAD_CSR, "the requested public key does not encode");
    w.key_hash.assign(spki_hash->begin(), spki_hash->end());
    return;
  }
  // The certificate is built from the request's SPKI: no key object needed.
  ca::VetOutcome vet = ca::VetRequest(req.csr, *w.profile, ca::RequestKey::kSpkiOnly);
  if (!vet.ok()) return Refuse(w, ReasonFor(vet.failure), vet.detail);
  w.public_key = std::move(vet.public_key);
  w.csr = std::move(vet.request);
  w.spki = std::move(vet.spki);
  // The key as the CSR encodes it: one key, one device.
  const crypto::Hash h = crypto::Sha256(AsBytes(vet.spki_der));
  w.key_hash.assign(reinterpret_cast<const char*>(h.data()), h.size());
}

void FactoryCa::Reserve(Work& w) {
  if (w.refused) return;
  auto r = ledger_->Reserve(w.request->batch_id, w.request->device_serial, w.request->ra_id, w.now, w.key_hash,
                            w.profile->allow_shared_keys,
                            w.request->renews_serial ? &*w.request->renews_serial : nullptr);
  if (auto* refusal = std::get_if<Refusal>(&r)) {
    return Refuse(w, refusal->reason, refusal->detail);
  }
  w.reservation = std::move(std::get<Reservation>(r));
}

void FactoryCa::Sign(Work& w) {
  if (w.refused) return;
  auto release = [&](const std::string& detail) {
    ledger_->Release(*w.reservation);
    w.reservation.reset();
    Refuse(w, RejectionReason::INTERNAL_ERROR, detail);
  };
  if (w.keygen) {
    Result<EvpPkeyPtr> key = ca::GenerateKey(w.profile->keys.front());
    if (!key.ok()) return release("key generation failed");
    if (w.unencrypted_key) {
      Result<std::string> der = ca::Pkcs8Der(key->get());
      if (!der.ok()) return release(der.status().message());
      w.result.private_key_der = std::move(*der);
    } else {
      Result<std::string> pem = ca::EncryptedPkcs8Pem(key->get(), w.password);
      if (!pem.ok()) return release(pem.status().message());
      w.result.private_key_pem = std::move(*pem);
    }
    w.public_key = std::move(*key);
  }
  ca::TemplateValues values{{"device_serial", w.request->device_serial},
                            {"product", w.terms->product},
                            {"batch", w.terms->batch_id},
                            {"organization", options_.organization},
                            {"factory", options_.factory_name}};
  if (w.terms->vendor_id != 0) {
    values["vid"] = Hex4(w.terms->vendor_id);
    values["pid"] = Hex4(w.terms->product_id);
  }
  Result<const ca::CertificateTemplate*> tmpl = TemplateFor(*w.issuer, *w.profile);
  if (!tmpl.ok()) return release("certificate template could not be built: " + tmpl.status().message());
  Result<ca::TemplatedCertificate> cert =
      (*tmpl)->Issue(values, w.public_key.get(),
                     w.spki ? w.spki.get() : w.csr ? X509_REQ_get_X509_PUBKEY(w.csr.get()) : nullptr,
                     w.reservation->serial, w.now / 1000000);
  if (!cert.ok()) return release("certificate could not be built: " + cert.status().message());
  const std::string& der = cert->der;

  auto c = w.draft.event().getKind().initCertificateIssued();
  c.setCaId(Data(w.issuer->ca_id()));
  c.setSerial(Data(w.reservation->serial));
  c.setDeviceSerial(w.request->device_serial);
  c.setBatchId(w.request->batch_id);
  c.setProfile(w.profile->name);
  c.setCertificate(Data(der));
  c.setNotBefore(cert->not_before * 1000000);
  c.setNotAfter(cert->not_after * 1000000);
  c.setRaId(w.request->ra_id);
  c.setRequestHash(kj::ArrayPtr<const kj::byte>(w.request_hash.data(), w.request_hash.size()));
  c.setServerGeneratedKey(w.keygen);
  c.setProductionLine(options_.production_line);
  if (w.reservation->reissue_of) c.setReissueOf(Data(*w.reservation->reissue_of));
  // The device key's SPKI hash: from the request's own encoding (Vet), or
  // for a key made here encoded once (an OpenSSL 3.0 encoder per call: only
  // when there is no request to take it from).
  if (w.key_hash.empty()) {
    if (Result<Bytes> key = crypto::KeySpkiSha256(w.public_key.get()); key.ok()) c.setPublicKeyHash(Data(*key));
  } else {
    c.setPublicKeyHash(Data(w.key_hash));
  }
  w.has_draft = true;
  w.result.serial_hex = HexEncode(w.reservation->serial);
  w.result.certificate_pem = ca::PemBlock(der, "CERTIFICATE");
  w.result.chain_pem.reserve(w.result.certificate_pem.size() + w.issuer->chain_pem().size());
  w.result.chain_pem.append(w.result.certificate_pem).append(w.issuer->chain_pem());
}

void FactoryCa::Record(std::vector<Work*>& works) {
  std::vector<log::EventDraft> drafts;
  std::vector<Work*> recorded;
  for (Work* w : works) {
    if (!w->has_draft) continue;
    drafts.push_back(std::move(w->draft));
    recorded.push_back(w);
  }
  Result<log::AppendResult> appended = local_.log->Append(std::move(drafts));
  std::vector<std::string> closed_batches;
  for (size_t i = 0; i < recorded.size(); ++i) {
    Work& w = *recorded[i];
    if (!appended.ok()) {
      if (w.reservation) ledger_->Release(*w.reservation);
      w.result = EnrollResult{};
      w.result.error = EnrollError::kUnavailable;
      w.result.reason = RejectionReason::INTERNAL_ERROR;
      w.result.detail = "the factory log cannot record events: " + appended.status().message();
      w.result.device_serial = w.request->device_serial;
      metrics_.append_failures++;
      continue;
    }
    w.result.log_seq = appended->first_seq + i;
    if (w.reservation) {
      if (ledger_->Commit(*w.reservation)) closed_batches.push_back(w.reservation->batch_id);
      metrics_.issued++;
      if (w.keygen) metrics_.keygen++;
    } else {
      ledger_->CountRejection(w.request->batch_id);
      metrics_.rejected++;
      metrics_.rejected_by_reason[static_cast<size_t>(w.result.reason) % 16]++;
    }
  }
  // The slot that used up a quota closes the batch (exactly one request can).
  for (const std::string& id : closed_batches) {
    std::optional<BatchCounts> b = ledger_->Batch(id);
    if (!b) continue;
    log::EventDraft d;
    auto c = d.event().getKind().initBatchClosed();
    c.setBatchId(id);
    c.setIssuedCount(b->issued);
    c.setRejectedCount(b->rejected);
    c.setReason("quota reached");
    std::vector<log::EventDraft> one;
    one.push_back(std::move(d));
    if (local_.log->Append(std::move(one)).ok()) ledger_->MarkClosed(id);
  }
}

EnrollResult FactoryCa::Process(Work& w) {
  Vet(w);
  Reserve(w);
  Sign(w);
  std::vector<Work*> works{&w};
  Record(works);
  return std::move(w.result);
}

EnrollResult FactoryCa::Enroll(const EnrollRequest& request) {
  metrics_.requests++;
  Work w;
  w.request = &request;
  return Process(w);
}

EnrollResult FactoryCa::RecordRefusal(const EnrollRequest& request, RejectionReason reason, std::string detail) {
  metrics_.requests++;
  Work w;
  w.request = &request;
  w.now = env_->NowMicros();
  w.result.device_serial = request.device_serial;
  w.request_hash = crypto::Sha256({AsBytes("refused"), AsBytes(request.csr), AsBytes(request.public_key_der)});
  Refuse(w, reason, std::move(detail));
  std::vector<Work*> works{&w};
  Record(works);
  return std::move(w.result);
}

std::vector<EnrollResult> FactoryCa::EnrollBulk(const std::vector<EnrollRequest>& requests) {
  metrics_.requests += requests.size();
  std::vector<Work> works(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) works[i].request = &requests[i];
  const unsigned threads = requests.size() >= 16 ? HardwareThreads() : 1;
  ParallelFor(works.size(), threads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) Vet(works[i]);
  });
  for (Work& w : works) Reserve(w);
  ParallelFor(works.size(), threads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) Sign(works[i]);
  });
  std::vector<Work*> ptrs;
  for (Work& w : works) ptrs.push_back(&w);
  Record(ptrs);
  std::vector<EnrollResult> out;
  out.reserve(works.size());
  for (Work& w : works) out.push_back(std::move(w.result));
  return out;
}

EnrollResult FactoryCa::Keygen(const KeygenRequest& request) {
  metrics_.requests++;
  EnrollRequest as_enroll{request.batch_id, request.device_serial, "", request.ra_id};
  Work w;
  w.request = &as_enroll;
  w.keygen = true;
  w.password = request.password;
  w.unencrypted_key = request.unencrypted_key;
  if (!request.unencrypted_key && (request.password.size() < 8 || request.password.size() > 1024)) {
    EnrollResult r;
    r.error = EnrollError::kBadRequest;
    r.reason = RejectionReason::SUBJECT_NOT_ALLOWED;
    r.detail = "password must have 8 to 1024 characters";
    r.device_serial = request.device_serial;
    return r;  // a client error about transport of the key, not an issuance decision
  }
  return Process(w);
}

void FactoryCa::WriteMetrics(mirrorca::PrometheusText& m) const {
  auto n = [](uint64_t v) { return static_cast<double>(v); };
  m.Counter("mirrorca_certificates_issued_total", "Certificates issued since start.", n(metrics_.issued));
  m.Counter("mirrorca_keygen_total", "Certificates issued with a server-generated key.", n(metrics_.keygen));
  for (int r = 0; r <= static_cast<int>(RejectionReason::CERTIFICATE_REVOKED); ++r) {  // the last reason
    m.Counter("mirrorca_issuance_rejected_total", "Requests refused since start, by reason.",
              n(metrics_.rejected_by_reason[r]), {{"reason", std::string(RejectionCode(static_cast<RejectionReason>(r)))}});
  }
  m.Counter("mirrorca_enroll_requests_total", "Enrollment items received.", n(metrics_.requests));
  m.Counter("mirrorca_log_append_failures_total", "Items refused because the log failed.", n(metrics_.append_failures));
  log::EventLog& log = *local_.log;
  m.Gauge("mirrorca_log_size", "Events in the log.", n(log.Size()), {{"log", log.origin()}});
  m.Gauge("mirrorca_log_size", "Events in the log.", n(hq_log_->Size()), {{"log", hq_log_->origin()}});
  m.Histogram("mirrorca_log_commit_group_events", "Events per durable commit (one fsync each).", log.GroupSizes());
  m.Histogram("mirrorca_log_commit_seconds", "Time to write and fsync one durable commit.", log.CommitLatency());
  if (Result<uint64_t> free_bytes = log.store()->FreeBytes(); free_bytes.ok()) {
    m.Gauge("mirrorca_disk_free_bytes", "Space left where the factory store is.", n(*free_bytes));
  }
  m.Gauge("mirrorca_disk_min_free_bytes", "Below this, appends are refused (min_free_mb).",
          n(log.store()->min_free_bytes()));
  // From the batch ledger (the logs), so they survive a restart.
  for (const BatchCounts& b : ledger_->Batches()) {
    const std::string id = b.terms ? b.terms->batch_id : std::string();
    if (id.empty()) continue;
    m.Gauge("mirrorca_batch_certificates", "Certificates per batch, by outcome (from the log).", n(b.issued),
            {{"batch", id}, {"outcome", "issued"}});
    m.Gauge("mirrorca_batch_certificates", "Certificates per batch, by outcome (from the log).", n(b.rejected),
            {{"batch", id}, {"outcome", "rejected"}});
    m.Gauge("mirrorca_batch_certificates", "Certificates per batch, by outcome (from the log).", n(b.reserved),
            {{"batch", id}, {"outcome", "in-flight"}});
    m.Gauge("mirrorca_batch_quota", "Quota per batch.", n(b.terms->quota), {{"batch", id}});
    m.Gauge("mirrorca_batch_closed", "Whether the batch is closed.", b.closed ? 1 : 0, {{"batch", id}});
  }
}

}  // namespace mirrorca::engine
