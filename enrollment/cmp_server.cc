#include "enrollment/cmp_server.h"

#include <openssl/asn1t.h>
#include <openssl/cmp.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/encoding.h"
#include "ca/certificate.h"
#include "enrollment/crmf_template.h"

// SEQUENCE OF Certificate (id-it-caCerts, RFC 9483 §4.3.1), encoded by OpenSSL's ASN.1 codec.
ASN1_ITEM_TEMPLATE(MIRRORCA_CERTIFICATE_SEQUENCE) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, MirrorcaCertificates, X509)
ASN1_ITEM_TEMPLATE_END(MIRRORCA_CERTIFICATE_SEQUENCE)

namespace mirrorca::enrollment {
namespace {

using CmpMsgPtr = ca::OpenSslPtr<OSSL_CMP_MSG, OSSL_CMP_MSG_free>;

// PKIBody choices (RFC 4210 §5.1.2), as OSSL_CMP_MSG_get_bodytype numbers
// them (OpenSSL 3.0 keeps its names internal).
constexpr int kBodyIR = 0, kBodyIP = 1, kBodyCR = 2, kBodyCP = 3, kBodyP10CR = 4, kBodyKUR = 7, kBodyKUP = 8,
              kBodyRR = 11, kBodyGENM = 21, kBodyERROR = 23;
using SrvCtxPtr = ca::OpenSslPtr<OSSL_CMP_SRV_CTX, OSSL_CMP_SRV_CTX_free>;
using CmpCtxPtr = ca::OpenSslPtr<OSSL_CMP_CTX, OSSL_CMP_CTX_free>;

CmpReply Plain(int status, std::string text) {
  CmpReply r;
  r.http_status = status;
  r.content_type = "text/plain";
  r.body = std::move(text);
  return r;
}

Result<CmpMsgPtr> Decode(std::string_view der) {
  ca::BioPtr bio(BIO_new_mem_buf(der.data(), static_cast<int>(der.size())));
  CmpMsgPtr msg(bio ? d2i_OSSL_CMP_MSG_bio(bio.get(), nullptr) : nullptr);
  if (!msg) {
    ERR_clear_error();
    return Status::InvalidArgument("not a CMP message (DER PKIMessage)");
  }
  return msg;
}

Result<std::string> Encode(const OSSL_CMP_MSG* msg) {
  ca::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || i2d_OSSL_CMP_MSG_bio(bio.get(), msg) <= 0) {
    ERR_clear_error();
    return Status::Internal("the CMP answer does not encode");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string TransactionId(const OSSL_CMP_MSG* msg) {
  const ASN1_OCTET_STRING* id = OSSL_CMP_HDR_get0_transactionID(OSSL_CMP_MSG_get0_header(msg));
  if (id == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(id)),
                     static_cast<size_t>(ASN1_STRING_length(id)));
}

bool IsError(const OSSL_CMP_MSG* m) { return OSSL_CMP_MSG_get_bodytype(m) == kBodyERROR; }

bool StartsTransaction(int body) {
  return body == kBodyIR || body == kBodyCR || body == kBodyP10CR ||
         body == kBodyKUR || body == kBodyGENM || body == kBodyRR;
}

OSSL_CMP_PKISI* Status(int status, int fail_bit, const std::string& text) {
  return OSSL_CMP_STATUSINFO_new(status, fail_bit < 0 ? 0 : (1 << fail_bit), text.c_str());
}

// FailBitFor: the PKIFailureInfo a client can act on, for a refusal.
int FailBitFor(const engine::EnrollResult& r) {
  switch (r.reason) {
    case engine::RejectionReason::BAD_CSR: return OSSL_CMP_PKIFAILUREINFO_badCertTemplate;
    case engine::RejectionReason::PROOF_OF_POSSESSION: return OSSL_CMP_PKIFAILUREINFO_badPOP;
    case engine::RejectionReason::KEY_NOT_ALLOWED: return OSSL_CMP_PKIFAILUREINFO_badAlg;
    case engine::RejectionReason::SUBJECT_NOT_ALLOWED: return OSSL_CMP_PKIFAILUREINFO_badCertTemplate;
    case engine::RejectionReason::DUPLICATE_DEVICE:
    case engine::RejectionReason::DUPLICATE_KEY: return OSSL_CMP_PKIFAILUREINFO_duplicateCertReq;
    case engine::RejectionReason::CERTIFICATE_REVOKED: return OSSL_CMP_PKIFAILUREINFO_certRevoked;
    case engine::RejectionReason::UNKNOWN_BATCH:
    case engine::RejectionReason::BATCH_CLOSED:
    case engine::RejectionReason::BATCH_NOT_YET_VALID:
    case engine::RejectionReason::BATCH_EXPIRED:
    case engine::RejectionReason::QUOTA_EXHAUSTED:
    case engine::RejectionReason::RA_NOT_AUTHORIZED: return OSSL_CMP_PKIFAILUREINFO_notAuthorized;
    case engine::RejectionReason::INTERNAL_ERROR: return OSSL_CMP_PKIFAILUREINFO_systemFailure;
    default: break;
  }
  return r.error == engine::EnrollError::kUnavailable ? OSSL_CMP_PKIFAILUREINFO_systemUnavail
                                                      : OSSL_CMP_PKIFAILUREINFO_badRequest;
}

ca::X509StackPtr StackOf(const std::vector<ca::X509Ptr>& certs, size_t from = 0) {
  ca::X509StackPtr sk(sk_X509_new_null());
  for (size_t i = from; sk && i < certs.size(); ++i) {
    X509_up_ref(certs[i].get());
    sk_X509_push(sk.get(), certs[i].get());
  }
  return sk;
}

}  // namespace

struct CmpServer::Transaction {
  CmpServer* server = nullptr;
  std::string batch;
  std::string ra_id;
  SrvCtxPtr srv;
  ca::X509Ptr issued;  // the certificate the client is to confirm
  std::chrono::steady_clock::time_point deadline;
  std::mutex mu;       // one message of the transaction at a time
};

namespace {

using Transaction = CmpServer::Transaction;

Transaction* Of(OSSL_CMP_SRV_CTX* srv) { return static_cast<Transaction*>(OSSL_CMP_SRV_CTX_get0_custom_ctx(srv)); }

}  // namespace

// The OpenSSL callbacks: each gets its transaction through the custom context.
struct CmpCallbacks {
  static OSSL_CMP_PKISI* CertRequest(OSSL_CMP_SRV_CTX* srv, const OSSL_CMP_MSG* req, int /*cert_req_id*/,
                                     const OSSL_CRMF_MSG* crm, const X509_REQ* p10cr, X509** cert_out,
                                     STACK_OF(X509)** chain_out, STACK_OF(X509)** ca_pubs) {
    Transaction& t = *Of(srv);
    engine::FactoryCa& ca = *t.server->ca_;
    engine::EnrollRequest er;
    er.batch_id = t.batch;
    er.ra_id = t.ra_id;
    const bool kur = OSSL_CMP_MSG_get_bodytype(req) == kBodyKUR;
    if (kur) {
      // The device's current certificate protects the kur: of the
      // certificates the message carries (OpenSSL keeps them as "untrusted"),
      // the one of this factory's CA whose key signed the message.
      X509* old = SignerOfKur(OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv), req, ca.issuing_ca().certificate());
      if (old == nullptr) {
        engine::EnrollResult r = ca.RecordRefusal(
            er, engine::RejectionReason::SUBJECT_NOT_ALLOWED,
            "CMP kur: the protection certificate is not a valid certificate of this factory's CA");
        return Status(OSSL_CMP_PKISTATUS_rejection, OSSL_CMP_PKIFAILUREINFO_badCertId, r.detail);
      }
      const ASN1_INTEGER* serial = X509_get0_serialNumber(old);
      er.renews_serial = Bytes(ASN1_STRING_get0_data(serial), ASN1_STRING_get0_data(serial) + ASN1_STRING_length(serial));
      er.device_serial = SubjectSerial(X509_get_subject_name(old));
    }
    if (p10cr != nullptr) {
      Result<std::string> csr = ca::RequestDer(const_cast<X509_REQ*>(p10cr));
      er.csr = csr.ok() ? std::move(*csr) : std::string();  // empty: refused as a bad CSR
      er.device_serial = SubjectSerial(X509_REQ_get_subject_name(p10cr));
    } else {
      Result<CertTemplateRequest> tmpl = ReadCertTemplate(OSSL_CRMF_MSG_get0_tmpl(crm));
      if (!tmpl.ok()) {
        engine::EnrollResult r = ca.RecordRefusal(er, engine::RejectionReason::BAD_CSR, tmpl.status().message());
        return Status(OSSL_CMP_PKISTATUS_rejection, OSSL_CMP_PKIFAILUREINFO_badCertTemplate, r.detail);
      }
      if (tmpl->public_key_der.empty()) {
        engine::EnrollResult r = ca.RecordRefusal(
            er, engine::RejectionReason::BAD_CSR,
            "the certificate template names no public key (central key generation is EST serverkeygen)");
        return Status(OSSL_CMP_PKISTATUS_rejection, OSSL_CMP_PKIFAILUREINFO_badCertTemplate, r.detail);
      }
      er.public_key_der = std::move(tmpl->public_key_der);
      if (!kur) {
        er.device_serial = std::move(tmpl->subject_serial);
      } else if (!tmpl->subject_serial.empty() && tmpl->subject_serial != er.device_serial) {
        engine::EnrollResult r = ca.RecordRefusal(er, engine::RejectionReason::SUBJECT_NOT_ALLOWED,
                                                  "CMP kur: the template names device '" + tmpl->subject_serial +
                                                      "', the certificate to renew '" + er.device_serial + "'");
        return Status(OSSL_CMP_PKISTATUS_rejection, OSSL_CMP_PKIFAILUREINFO_badCertTemplate, r.detail);
      }
    }
    engine::EnrollResult r = ca.Enroll(er);
    if (!r.ok()) {
      return Status(OSSL_CMP_PKISTATUS_rejection, FailBitFor(r),
                    std::string(engine::RejectionCode(r.reason)) + ": " + r.detail);
    }
    Result<ca::X509Ptr> cert = ca::ParseCertificate(r.certificate_pem);
    if (!cert.ok()) return Status(OSSL_CMP_PKISTATUS_rejection, OSSL_CMP_PKIFAILUREINFO_systemFailure, "internal error");
    // The chain of the CA that issued it (the batch's: perhaps one the
    // current replaced), from the CA's parsed certificates.
    const ca::IssuingCa* issuer = ca.IssuerOf(cert->get(), engine::FactoryCa::IssuerCheck::kNameAndKeyId);
    X509_up_ref(cert->get());
    t.issued.reset(cert->get());
    *cert_out = cert->release();
    *chain_out = issuer != nullptr ? StackOf(issuer->chain()).release() : nullptr;
    *ca_pubs = nullptr;
    return Status(OSSL_CMP_PKISTATUS_accepted, -1, "issued, event " + std::to_string(r.log_seq));
  }

  static OSSL_CMP_PKISI* Revocation(OSSL_CMP_SRV_CTX* srv, const OSSL_CMP_MSG*, const X509_NAME*,
                                    const ASN1_INTEGER* serial) {
    Transaction& t = *Of(srv);
    engine::EnrollRequest er;
    er.batch_id = t.batch;
    er.ra_id = t.ra_id;
    std::string hex;
    if (serial != nullptr) {
      hex = HexEncode(ByteSpan(ASN1_STRING_get0_data(serial), static_cast<size_t>(ASN1_STRING_length(serial))));
    }
    engine::EnrollResult r = t.server->ca_->RecordRefusal(
        er, engine::RejectionReason::UNSPECIFIED,
        "CMP rr for serial " + hex + " refused: revocation belongs to HQ (mirrorca revoke)");
    return Status(OSSL_CMP_PKISTATUS_rejection, OSSL_CMP_PKIFAILUREINFO_notAuthorized, r.detail);
  }

  static int GeneralMessage(OSSL_CMP_SRV_CTX* srv, const OSSL_CMP_MSG*, const STACK_OF(OSSL_CMP_ITAV) * in,
                            STACK_OF(OSSL_CMP_ITAV) * *out) {
    Transaction& t = *Of(srv);
    bool ca_certs = sk_OSSL_CMP_ITAV_num(in) <= 0;
    for (int i = 0; i < sk_OSSL_CMP_ITAV_num(in); ++i) {
      ca_certs = ca_certs || OBJ_obj2nid(OSSL_CMP_ITAV_get0_type(sk_OSSL_CMP_ITAV_value(in, i))) == NID_id_it_caCerts;
    }
    *out = sk_OSSL_CMP_ITAV_new_null();
    if (*out == nullptr) return 0;
    if (!ca_certs) return 1;  // nothing else is offered: an empty genp
    // id-it-caCerts: SEQUENCE OF Certificate, the issuing CA first, root last.
    Result<std::string> seq = CertificateSequenceDer(t.server->ca_->issuing_ca().chain());
    if (!seq.ok()) return 0;
    const auto* p = reinterpret_cast<const unsigned char*>(seq->data());
    ca::OpenSslPtr<ASN1_TYPE, ASN1_TYPE_free> value(d2i_ASN1_TYPE(nullptr, &p, static_cast<long>(seq->size())));
    OSSL_CMP_ITAV* itav = value ? OSSL_CMP_ITAV_create(OBJ_nid2obj(NID_id_it_caCerts), value.get()) : nullptr;
    if (itav == nullptr) return 0;
    value.release();  // owned by the ITAV
    sk_OSSL_CMP_ITAV_push(*out, itav);
    return 1;
  }

  static void Error(OSSL_CMP_SRV_CTX*, const OSSL_CMP_MSG*, const OSSL_CMP_PKISI*, const ASN1_INTEGER*,
                    const OSSL_CMP_PKIFREETEXT*) {}

  static int CertConf(OSSL_CMP_SRV_CTX* srv, const OSSL_CMP_MSG*, int, const ASN1_OCTET_STRING* cert_hash,
                      const OSSL_CMP_PKISI*) {
    Transaction& t = *Of(srv);
    if (!t.issued || cert_hash == nullptr) return 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    // RFC 9483 §4.1.1: the hash algorithm of the certificate's signature (SHA-256 for ours).
    if (X509_digest(t.issued.get(), EVP_sha256(), md, &n) != 1) return 0;
    return static_cast<unsigned int>(ASN1_STRING_length(cert_hash)) == n &&
           CRYPTO_memcmp(ASN1_STRING_get0_data(cert_hash), md, n) == 0;
  }

  static int PollRequest(OSSL_CMP_SRV_CTX*, const OSSL_CMP_MSG*, int, OSSL_CMP_MSG**, int64_t*) {
    return 0;  // every answer is immediate: nothing to poll for
  }

  static Result<std::string> CertificateSequenceDer(const std::vector<ca::X509Ptr>& certs);

  // SignerOfKur: the certificate, issued by `issuer` and valid now, whose key
  // protects `req` (checked again with that certificate pinned, so that
  // another device's certificate sent along cannot be renewed); null if none.
  static X509* SignerOfKur(OSSL_CMP_CTX* ctx, const OSSL_CMP_MSG* req, X509* issuer) {
    STACK_OF(X509)* carried = OSSL_CMP_CTX_get0_untrusted(ctx);
    for (int i = 0; i < sk_X509_num(carried); ++i) {
      X509* c = sk_X509_value(carried, i);
      if (X509_check_issued(issuer, c) != X509_V_OK || X509_verify(c, X509_get0_pubkey(issuer)) != 1 ||
          X509_cmp_current_time(X509_get0_notAfter(c)) <= 0 || X509_cmp_current_time(X509_get0_notBefore(c)) >= 0) {
        continue;
      }
      CmpCtxPtr probe(OSSL_CMP_CTX_new(nullptr, nullptr));
      if (!probe) break;
      OSSL_CMP_CTX_set_log_verbosity(probe.get(), OSSL_CMP_LOG_EMERG);
      if (OSSL_CMP_CTX_set1_srvCert(probe.get(), c) == 1 && OSSL_CMP_validate_msg(probe.get(), req) == 1) {
        ERR_clear_error();
        return c;
      }
    }
    ERR_clear_error();
    return nullptr;
  }
};

Result<std::string> CmpCallbacks::CertificateSequenceDer(const std::vector<ca::X509Ptr>& certs) {
  ca::X509StackPtr sk = StackOf(certs);
  unsigned char* der = nullptr;
  const int n = sk ? ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(sk.get()), &der,
                                   ASN1_ITEM_rptr(MIRRORCA_CERTIFICATE_SEQUENCE))
                   : -1;
  if (n <= 0) return Status::Internal("the CA certificates do not encode");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

CmpServer::CmpServer(engine::FactoryCa* ca, CmpServerOptions options) : ca_(ca), options_(std::move(options)) {}

CmpServer::~CmpServer() = default;

size_t CmpServer::open_transactions() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

void CmpServer::ExpireLocked(std::chrono::steady_clock::time_point now) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    it = it->second->deadline <= now ? waiting_.erase(it) : std::next(it);
  }
}

std::unique_ptr<Transaction> CmpServer::Begin(const std::string& batch, const std::string& ra_id,
                                               OSSL_CMP_MSG* request) {
  auto t = std::make_unique<Transaction>();
  t->server = this;
  t->batch = batch;
  t->ra_id = ra_id;
  t->deadline = std::chrono::steady_clock::now() + options_.transaction_timeout;
  t->srv.reset(OSSL_CMP_SRV_CTX_new(nullptr, nullptr));
  if (!t->srv ||
      OSSL_CMP_SRV_CTX_init(t->srv.get(), t.get(), &CmpCallbacks::CertRequest, &CmpCallbacks::Revocation,
                            &CmpCallbacks::GeneralMessage, &CmpCallbacks::Error, &CmpCallbacks::CertConf,
                            &CmpCallbacks::PollRequest) != 1) {
    return nullptr;
  }
  OSSL_CMP_SRV_CTX_set_accept_unprotected(t->srv.get(), 0);
  OSSL_CMP_SRV_CTX_set_send_unprotected_errors(t->srv.get(), 0);
  // The RA is authenticated twice (its pinned TLS key, its protection
  // certificate): it may vouch for a device's key (raVerified POPO).
  OSSL_CMP_SRV_CTX_set_accept_raverified(t->srv.get(), 1);
  OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(t->srv.get(), 1);
  OSSL_CMP_CTX* ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(t->srv.get());
  OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_ERR);
  // MAC protection with the batch's secret, when the request carries one
  // that the secret verifies; else signature protection.
  bool mac = false;
  if (options_.batch_secret) {
    if (std::optional<std::string> secret = options_.batch_secret(batch); secret && !secret->empty()) {
      CmpCtxPtr probe(OSSL_CMP_CTX_new(nullptr, nullptr));
      if (probe && OSSL_CMP_CTX_set1_secretValue(probe.get(), reinterpret_cast<const unsigned char*>(secret->data()),
                                                 static_cast<int>(secret->size())) == 1) {
        OSSL_CMP_CTX_set_log_verbosity(probe.get(), OSSL_CMP_LOG_EMERG);
        mac = OSSL_CMP_validate_msg(probe.get(), request) == 1;
      }
      ERR_clear_error();
      if (mac) {
        OSSL_CMP_CTX_set1_secretValue(ctx, reinterpret_cast<const unsigned char*>(secret->data()),
                                      static_cast<int>(secret->size()));
        // The answer's sender: the server's name (there is no certificate to name it).
        OSSL_CMP_CTX_set1_subjectName(ctx, X509_get_subject_name(options_.protection_cert.get()));
      }
      OPENSSL_cleanse(secret->data(), secret->size());
    }
  }
  if (!mac) {
    if (OSSL_CMP_CTX_set1_cert(ctx, options_.protection_cert.get()) != 1 ||
        OSSL_CMP_CTX_set1_pkey(ctx, options_.protection_key.get()) != 1) {
      return nullptr;
    }
    ca::X509StackPtr chain = StackOf(options_.protection_chain);
    if (chain && sk_X509_num(chain.get()) > 0) OSSL_CMP_CTX_set1_extraCertsOut(ctx, chain.get());
    X509_STORE* trust = X509_STORE_new();
    if (trust == nullptr) return nullptr;
    // A kur is signed by the device with the certificate it renews (anchored
    // at this factory's CA chain); everything else by an RA.
    if (OSSL_CMP_MSG_get_bodytype(request) == kBodyKUR) {
      for (const ca::X509Ptr& c : ca_->issuing_ca().chain()) X509_STORE_add_cert(trust, c.get());
    } else {
      for (const ca::X509Ptr& c : options_.ra_trust) X509_STORE_add_cert(trust, c.get());
    }
    OSSL_CMP_CTX_set0_trustedStore(ctx, trust);
  }
  return t;
}

CmpReply CmpServer::Handle(const std::string& batch, std::string_view der, const std::string& ra_id) {
  if (der.empty() || der.size() > options_.max_message_bytes) {
    return Plain(413, "a CMP message of 1 to " + std::to_string(options_.max_message_bytes) + " bytes\n");
  }
  Result<CmpMsgPtr> request = Decode(der);
  if (!request.ok()) return Plain(400, request.status().message() + "\n");
  const int body = OSSL_CMP_MSG_get_bodytype(request->get());
  const std::string id = TransactionId(request->get());
  if (id.empty()) return Plain(400, "a CMP message without a transactionID\n");
  std::unique_ptr<Transaction> owned;
  Transaction* t = nullptr;
  {
    std::lock_guard lock(mu_);
    ExpireLocked(std::chrono::steady_clock::now());
    auto it = waiting_.find(id);
    if (StartsTransaction(body)) {
      if (it != waiting_.end()) return Plain(409, "this transactionID is in use\n");
    } else {
      if (it == waiting_.end() || it->second->batch != batch || it->second->ra_id != ra_id) {
        return Plain(400, "no open CMP transaction with this ID for this batch and client\n");
      }
      owned = std::move(it->second);
      waiting_.erase(it);
      t = owned.get();
    }
  }
  if (t == nullptr) {
    owned = Begin(batch, ra_id, request->get());
    if (!owned) {
      ERR_clear_error();
      return Plain(500, "the CMP server could not be set up\n");
    }
    t = owned.get();
  }
  CmpMsgPtr response;
  {
    std::lock_guard lock(t->mu);
    response.reset(OSSL_CMP_SRV_process_request(t->srv.get(), request->get()));
  }
  // OpenSSL's reason, for the record of a refusal (never a secret: a name of what failed).
  const char* why = ERR_peek_error() != 0 ? ERR_reason_error_string(ERR_peek_error()) : nullptr;
  const std::string reason = why != nullptr ? why : "refused";
  ERR_clear_error();
  if (!response) return Plain(500, "the CMP request could not be answered\n");
  Result<std::string> out = Encode(response.get());
  if (!out.ok()) return Plain(500, out.status().message() + "\n");
  // A new request refused before it reached the CA (protection, proof of
  // possession, format): the same issuanceRejected event as every refusal.
  if (IsError(response.get()) && StartsTransaction(body) && body != kBodyGENM) {
    engine::EnrollRequest er;
    er.batch_id = batch;
    er.ra_id = ra_id;
    (void)ca_->RecordRefusal(er, engine::RejectionReason::UNSPECIFIED,
                             "CMP request refused before issuance: " + reason);
  }
  // An issued certificate not yet confirmed (no implicit confirmation):
  // the transaction waits for the client's certConf.
  const int answer = OSSL_CMP_MSG_get_bodytype(response.get());
  const bool awaits_conf = (answer == kBodyIP || answer == kBodyCP ||
                            answer == kBodyKUP) &&
                           t->issued != nullptr && StartsTransaction(body);
  if (awaits_conf) {
    std::lock_guard lock(mu_);
    // Full: the oldest transaction gives way. Implicitly confirmed ones
    // (which OpenSSL 3.0 cannot tell apart) never send a certConf, so they
    // are the ones that age; a client confirms within moments.
    if (waiting_.size() >= options_.max_transactions && !waiting_.empty()) {
      auto oldest = waiting_.begin();
      for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
        if (it->second->deadline < oldest->second->deadline) oldest = it;
      }
      waiting_.erase(oldest);
    }
    if (options_.max_transactions > 0) waiting_.emplace(id, std::move(owned));
  }
  CmpReply r;
  r.body = std::move(*out);
  return r;
}

}  // namespace mirrorca::enrollment
