#include "validation/ocsp_responder.h"

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <chrono>

#include "base/status_macros.h"
#include "base/encoding.h"
#include "ca/certificate.h"
#include "crypto/sha256.h"
#include "validation/ocsp_internal.h"

namespace mirrorca::validation {

std::string ToDer(OCSP_RESPONSE* r) {
  int len = i2d_OCSP_RESPONSE(r, nullptr);
  if (len <= 0) return "";
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_OCSP_RESPONSE(r, &p);
  return der;
}

std::string Digest(const EVP_MD* md, bool of_name, X509* cert) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  int ok = of_name ? X509_NAME_digest(X509_get_subject_name(cert), md, buf, &len)
                   : X509_pubkey_digest(cert, md, buf, &len);
  return ok == 1 ? std::string(reinterpret_cast<char*>(buf), len) : std::string();
}

std::string_view OctetView(const ASN1_OCTET_STRING* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                              static_cast<size_t>(ASN1_STRING_length(s)))
           : std::string_view();
}

std::optional<ByteSpan> SerialMagnitude(const ASN1_INTEGER* serial) {
  if (serial == nullptr || ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) return std::nullopt;
  const unsigned char* p = ASN1_STRING_get0_data(serial);
  size_t n = static_cast<size_t>(std::max(0, ASN1_STRING_length(serial)));
  while (n > 0 && *p == 0) {
    ++p;
    --n;
  }
  return ByteSpan(p, n);
}

std::string StatusResponse(int status) {
  OcspResponsePtr r(OCSP_response_create(status, nullptr));
  return r ? ToDer(r.get()) : std::string();
}

bool AddExtendedRevoke(OCSP_BASICRESP* bs) {
  // id-pkix-ocsp-extended-revoke (1.3.6.1.5.5.7.48.1.9), value NULL.
  ca::OpenSslPtr<ASN1_NULL, ASN1_NULL_free> null_value(ASN1_NULL_new());
  unsigned char* der = nullptr;
  int len = null_value ? i2d_ASN1_NULL(null_value.get(), &der) : -1;
  ca::Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
  bool ok = len > 0 && value && ASN1_OCTET_STRING_set(value.get(), der, len) == 1;
  OPENSSL_free(der);
  X509_EXTENSION* ext =
      ok ? X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_extendedStatus, 0, value.get()) : nullptr;
  ok = ext != nullptr && OCSP_BASICRESP_add_ext(bs, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

std::string MalformedResponse() {
  OcspResponsePtr r(OCSP_response_create(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, nullptr));
  return r ? ToDer(r.get()) : std::string();
}

OcspResponder::~OcspResponder() = default;

Result<std::unique_ptr<OcspResponder>> OcspResponder::Create(std::vector<OcspIssuer> issuers,
                                                             engine::CertStatus* status,
                                                             OcspOptions options) {
  std::unique_ptr<OcspResponder> r(new OcspResponder());
  r->status_ = status;
  r->options_ = std::move(options);
  r->cache_ = std::make_unique<AnswerCache>(r->options_.max_cache_bytes);
  for (OcspIssuer& i : issuers) RETURN_IF_ERROR(r->AddIssuer(std::move(i)));
  return r;
}

Status OcspResponder::AddIssuer(OcspIssuer i) {
  auto is = std::make_unique<Issuer>();
  ASSIGN_OR_RETURN(is->ca_id, ca::CaId(i.cert.get()));
  if (X509_check_issued(i.cert.get(), i.responder.get()) != X509_V_OK) {
    return Status::InvalidArgument("OCSP responder certificate of " + i.name +
                                   " is not issued by its CA");
  }
  if (X509_check_private_key(i.responder.get(), i.responder_key.get()) != 1) {
    return Status::InvalidArgument("OCSP responder key of " + i.name + " does not match");
  }
  is->sha1_name = Digest(EVP_sha1(), true, i.cert.get());
  is->sha1_key = Digest(EVP_sha1(), false, i.cert.get());
  is->sha256_name = Digest(EVP_sha256(), true, i.cert.get());
  is->sha256_key = Digest(EVP_sha256(), false, i.cert.get());
  auto signer = std::make_shared<Signer>();
  signer->cert = ca::UpRef(i.responder.get());
  signer->key = ca::UpRef(i.responder_key.get());
  is->signer = std::move(signer);
  is->id = std::move(i);
  std::unique_lock lock(issuers_mu_);
  for (const auto& other : issuers_) {
    if (other->id.name == is->id.name || other->ca_id == is->ca_id) {
      return Status::AlreadyExists("OCSP already answers for CA " + other->id.name);
    }
  }
  issuers_.push_back(std::move(is));
  lock.unlock();
  Invalidate();  // "unknown issuer" answers cached for it are wrong now
  return Status::Ok();
}

Status OcspResponder::ReplaceResponder(const std::string& name, ca::X509Ptr responder,
                                       ca::EvpPkeyPtr key) {
  std::shared_lock issuers(issuers_mu_);
  for (auto& is : issuers_) {
    if (is->id.name != name) continue;
    if (X509_check_issued(is->id.cert.get(), responder.get()) != X509_V_OK ||
        X509_check_private_key(responder.get(), key.get()) != 1) {
      ERR_clear_error();
      return Status::InvalidArgument("renewed OCSP responder of " + name + " does not fit its CA");
    }
    auto s = std::make_shared<Signer>();
    s->cert = std::move(responder);
    s->key = std::move(key);
    {
      std::lock_guard lock(signer_mu_);
      is->signer = std::move(s);
    }
    Invalidate();
    return Status::Ok();
  }
  return Status::NotFound("no CA named " + name);
}

int64_t OcspResponder::Now() const {
  if (options_.now) return options_.now();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* OcspOutcomeName(OcspOutcome o) {
  switch (o) {
    case OcspOutcome::kGood: return "good";
    case OcspOutcome::kRevoked: return "revoked";
    case OcspOutcome::kUnknown: return "unknown";
    case OcspOutcome::kMalformedRequest: return "malformedRequest";
    case OcspOutcome::kUnauthorized: return "unauthorized";
    case OcspOutcome::kInternalError: return "internalError";
  }
  return "internalError";
}

OcspAnswer OcspResponder::Respond(ByteSpan request_der) {
  const auto start = std::chrono::steady_clock::now();
  OcspAnswer a = Answer(request_der, Now());
  by_outcome_[static_cast<size_t>(a.outcome)].fetch_add(1, std::memory_order_relaxed);
  latency_.Observe(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()));
  return a;
}

void OcspResponder::WriteMetrics(PrometheusText& m) const {
  for (size_t i = 0; i < kOcspOutcomes; ++i) {
    m.Counter("mirrorca_ocsp_responses_total", "OCSP answers, by the first CertID's status or the response status.",
              static_cast<double>(by_outcome_[i].load()), {{"status", OcspOutcomeName(static_cast<OcspOutcome>(i))}});
  }
  m.Histogram("mirrorca_ocsp_response_seconds", "Time to answer one OCSP request (lookup or signature).",
              latency_.Snapshot());
  m.Counter("mirrorca_ocsp_signatures_total", "OCSP responses signed, by when.", static_cast<double>(signed_.load()),
            {{"when", "on-demand"}});
  m.Counter("mirrorca_ocsp_signatures_total", "OCSP responses signed, by when.", static_cast<double>(presigned_.load()),
            {{"when", "ahead"}});
  m.Counter("mirrorca_ocsp_presigned_hits_total", "OCSP requests answered from the pre-signed store.",
            static_cast<double>(store_hits_.load()));
  m.Counter("mirrorca_ocsp_try_later_total", "OCSP requests answered tryLater: the on-demand signing budget was spent.",
            static_cast<double>(try_later_.load()));
  if (presigned_store_ != nullptr) {
    m.Gauge("mirrorca_ocsp_presigned_answers", "Answers in the pre-signed store (RocksDB's estimate).",
            static_cast<double>(presigned_store_->EstimatedCount()));
  }
  m.Counter("mirrorca_ocsp_cache_hits_total", "OCSP requests answered from the pre-signed cache.",
            static_cast<double>(hits_.load()));
  m.Gauge("mirrorca_ocsp_cache_entries", "Pre-signed answers held in memory.", static_cast<double>(cache_entries()));
  m.Gauge("mirrorca_ocsp_cache_bytes", "Bytes the pre-signed answers hold (budget: ocsp_cache_mb).",
          static_cast<double>(cache_bytes()));
  m.Gauge("mirrorca_ocsp_cache_budget_bytes", "The cache's byte budget.", static_cast<double>(options_.max_cache_bytes));
}

OcspAnswer OcspResponder::Answer(ByteSpan request_der, const int64_t now) {
  const std::string_view bytes = AsChars(request_der);
  // The pre-signed answer to these very bytes, while fresh.
  if (bytes.size() <= kMaxCachedRequestBytes) {
    if (std::optional<OcspAnswer> hit =
            cache_->Find(bytes, {generation_.load(), now, options_.refresh_seconds})) {
      hits_++;
      return std::move(*hit);
    }
  }
  auto malformed = [] {
    static const std::string der = MalformedResponse();
    OcspAnswer a;
    a.der = der;
    return a;
  };
  if (request_der.empty() || request_der.size() > options_.max_request_bytes) return malformed();
  const unsigned char* p = request_der.data();
  OcspRequestPtr req(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(request_der.size())));
  if (!req || p != request_der.data() + request_der.size()) {
    ERR_clear_error();
    return malformed();
  }
  const int n = OCSP_request_onereq_count(req.get());
  if (n <= 0 || static_cast<size_t>(n) > options_.max_cert_ids) return malformed();
  const bool has_nonce = OCSP_REQUEST_get_ext_by_NID(req.get(), NID_id_pkix_OCSP_Nonce, -1) >= 0;
  const uint64_t generation = generation_.load();
  bool token_taken = false;
  if (n == 1) {
    // Signed ahead of time: a lookup, no signature.
    std::optional<OcspAnswer> stored =
        FromStore(OCSP_onereq_get0_id(OCSP_request_onereq_get0(req.get(), 0)), now, has_nonce, &token_taken);
    if (stored) {
      // A lookup away already: held in memory only when asked for again soon.
      if (stored->successful && !has_nonce && bytes.size() <= kMaxCachedRequestBytes && cache_->Admit(bytes)) {
        cache_->Put(bytes, *stored, generation);
      }
      return std::move(*stored);
    }
  }
  // Signed on demand (a nonce echoed, a serial no log issued, an unknown
  // issuer, several CertIDs): within the budget only.
  if (!token_taken && !TakeSigningToken()) return TryLater();
  OcspAnswer a = Build(req.get(), now);
  // One CertID and no nonce: the same bytes get the same answer until it is
  // refreshed or the projection changes.
  if (n == 1 && !has_nonce && a.successful) {
    crypto::Hash h = crypto::Sha256(AsBytes(a.der));
    a.etag = HexEncode(ByteSpan(h.data(), 16));
    if (bytes.size() <= kMaxCachedRequestBytes) cache_->Put(bytes, a, generation);
  }
  return a;
}

size_t OcspResponder::cache_bytes() const { return cache_->bytes(); }

size_t OcspResponder::cache_entries() const { return cache_->entries(); }

SerialStatus StatusOf(const OcspIssuer& issuer, const std::optional<engine::CertRecord>& rec) {
  SerialStatus st;
  if ((!rec.has_value() || !rec->issued) && issuer.unseen_unknown) {
    st.status = V_OCSP_CERTSTATUS_UNKNOWN;  // not seen yet: the factory may not have synced
  } else if (!rec.has_value() || !rec->issued) {
    // Never issued by any log: revoked (RFC 6960 §2.2).
    st.status = V_OCSP_CERTSTATUS_REVOKED;
    st.reason = OCSP_REVOKED_STATUS_CERTIFICATEHOLD;
    st.revoked_at = 0;
    st.never_issued = true;
  } else if (rec->state == engine::CertState::kGood) {
    st.status = V_OCSP_CERTSTATUS_GOOD;
  } else {
    st.status = V_OCSP_CERTSTATUS_REVOKED;
    st.reason = rec->state == engine::CertState::kHold ? OCSP_REVOKED_STATUS_CERTIFICATEHOLD
                : rec->reason == 0                     ? OCSP_REVOKED_STATUS_NOSTATUS
                                                       : rec->reason;
    st.revoked_at = rec->revocation_time / 1000000;
  }
  return st;
}

OcspAnswer OcspResponder::Build(OCSP_REQUEST* req, int64_t now) {
  OcspAnswer out;
  out.this_update = now;
  out.next_update = now + options_.validity_seconds;
  OcspBasicPtr bs(OCSP_BASICRESP_new());
  ca::Asn1TimePtr this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now)));
  ca::Asn1TimePtr next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(out.next_update)));
  ca::Asn1TimePtr epoch(ASN1_TIME_set(nullptr, 0));
  auto internal_error = [] {
    OcspAnswer e;
    e.outcome = OcspOutcome::kInternalError;
    OcspResponsePtr r(OCSP_response_create(OCSP_RESPONSE_STATUS_INTERNALERROR, nullptr));
    e.der = r ? ToDer(r.get()) : "";
    ERR_clear_error();
    return e;
  };
  if (!bs || !this_update || !next_update || !epoch) return internal_error();
  std::shared_lock issuers(issuers_mu_);  // AddIssuer may grow the list
  const Issuer* signer = nullptr;
  bool extended_revoke = false;
  auto unauthorized = [] {
    OcspAnswer e;
    e.outcome = OcspOutcome::kUnauthorized;
    OcspResponsePtr r(OCSP_response_create(OCSP_RESPONSE_STATUS_UNAUTHORIZED, nullptr));
    e.der = r ? ToDer(r.get()) : "";
    return e;
  };
  for (int i = 0; i < OCSP_request_onereq_count(req); ++i) {
    OCSP_CERTID* cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
    ASN1_OCTET_STRING* name_hash = nullptr;
    ASN1_OCTET_STRING* key_hash = nullptr;
    ASN1_OBJECT* md = nullptr;
    ASN1_INTEGER* serial = nullptr;
    if (OCSP_id_get0_info(&name_hash, &md, &key_hash, &serial, cid) != 1 || serial == nullptr) {
      return internal_error();
    }
    const int nid = OBJ_obj2nid(md);
    const std::string_view nh = OctetView(name_hash), kh = OctetView(key_hash);
    const Issuer* issuer = nullptr;
    for (const auto& is : issuers_) {
      if ((nid == NID_sha1 && nh == is->sha1_name && kh == is->sha1_key) ||
          (nid == NID_sha256 && nh == is->sha256_name && kh == is->sha256_key)) {
        issuer = is.get();
        break;
      }
    }
    int status = V_OCSP_CERTSTATUS_UNKNOWN;
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    ca::Asn1TimePtr revoked_at;
    if (issuer != nullptr) {
      if (signer == nullptr) signer = issuer;
      // Each responder speaks only for its own CA: no response can carry
      // answers of two served issuers.
      if (signer != issuer) return unauthorized();
      // A negative serial names no certificate (RFC 5280 §4.1.2.2): never issued.
      const std::optional<ByteSpan> serial_bytes = SerialMagnitude(serial);
      Result<std::optional<engine::CertRecord>> rec =
          serial_bytes ? status_->Get(issuer->ca_id, *serial_bytes)
                       : Result<std::optional<engine::CertRecord>>(std::optional<engine::CertRecord>());
      if (!rec.ok()) return internal_error();
      const SerialStatus st = StatusOf(issuer->id, *rec);
      status = st.status;
      reason = st.reason;
      if (st.status == V_OCSP_CERTSTATUS_REVOKED) revoked_at.reset(ASN1_TIME_set(nullptr, static_cast<time_t>(st.revoked_at)));
      extended_revoke = extended_revoke || st.never_issued;
    }
    if (i == 0) {
      out.outcome = status == V_OCSP_CERTSTATUS_GOOD      ? OcspOutcome::kGood
                    : status == V_OCSP_CERTSTATUS_REVOKED ? OcspOutcome::kRevoked
                                                          : OcspOutcome::kUnknown;
    }
    if (OCSP_basic_add1_status(bs.get(), cid, status, reason, revoked_at.get(), this_update.get(),
                               next_update.get()) == nullptr) {
      return internal_error();
    }
  }
  if (extended_revoke && !AddExtendedRevoke(bs.get())) return internal_error();
  if (OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1) >= 0) {
    if (OCSP_copy_nonce(bs.get(), req) != 1) return internal_error();
    out.has_nonce = true;
  }
  if (signer == nullptr && issuers_.empty()) return unauthorized();  // no CA served yet
  if (signer == nullptr) signer = issuers_.front().get();
  std::shared_ptr<const Signer> key;
  {
    std::lock_guard lock(signer_mu_);
    key = signer->signer;
  }
  if (OCSP_basic_sign(bs.get(), key->cert.get(), key->key.get(), EVP_sha256(), nullptr,
                      OCSP_RESPID_KEY) != 1) {
    return internal_error();
  }
  signed_++;
  OcspResponsePtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));
  if (!resp) return internal_error();
  out.der = ToDer(resp.get());
  out.successful = !out.der.empty();
  return out;
}

}  // namespace mirrorca::validation
