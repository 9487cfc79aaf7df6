#include "ca/p256_request.h"

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <map>
#include <mutex>

#include "ca/certificate.h"

// CertificationRequest (RFC 2986) with the key left as its raw parts and
// the encodings of the SubjectPublicKeyInfo and of the signed info kept
// (ASN1_SEQUENCE_enc): the generic X509_REQ item decodes the key through
// OSSL_DECODER, this one does not.
typedef struct MirrorcaRawSpki_st {
  ASN1_ENCODING enc;
  X509_ALGOR* algor;
  ASN1_BIT_STRING* public_key;
} MIRRORCA_RAW_SPKI;

ASN1_SEQUENCE_enc(MIRRORCA_RAW_SPKI, enc, 0) = {
    ASN1_SIMPLE(MIRRORCA_RAW_SPKI, algor, X509_ALGOR),
    ASN1_SIMPLE(MIRRORCA_RAW_SPKI, public_key, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END_enc(MIRRORCA_RAW_SPKI, MIRRORCA_RAW_SPKI)

typedef struct MirrorcaRawCri_st {
  ASN1_ENCODING enc;
  ASN1_INTEGER* version;
  X509_NAME* subject;
  MIRRORCA_RAW_SPKI* spki;
  STACK_OF(X509_ATTRIBUTE) * attributes;
} MIRRORCA_RAW_CRI;

// Attributes are [0] IMPLICIT SET OF, optional as OpenSSL's X509_REQ_INFO has them.
ASN1_SEQUENCE_enc(MIRRORCA_RAW_CRI, enc, 0) = {
    ASN1_SIMPLE(MIRRORCA_RAW_CRI, version, ASN1_INTEGER),
    ASN1_SIMPLE(MIRRORCA_RAW_CRI, subject, X509_NAME),
    ASN1_SIMPLE(MIRRORCA_RAW_CRI, spki, MIRRORCA_RAW_SPKI),
    ASN1_IMP_SET_OF_OPT(MIRRORCA_RAW_CRI, attributes, X509_ATTRIBUTE, 0),
} ASN1_SEQUENCE_END_enc(MIRRORCA_RAW_CRI, MIRRORCA_RAW_CRI)

typedef struct MirrorcaRawReq_st {
  MIRRORCA_RAW_CRI* info;
  X509_ALGOR* sig_alg;
  ASN1_BIT_STRING* signature;
} MIRRORCA_RAW_REQ;

ASN1_SEQUENCE(MIRRORCA_RAW_REQ) = {
    ASN1_SIMPLE(MIRRORCA_RAW_REQ, info, MIRRORCA_RAW_CRI),
    ASN1_SIMPLE(MIRRORCA_RAW_REQ, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(MIRRORCA_RAW_REQ, signature, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(MIRRORCA_RAW_REQ)

DECLARE_ASN1_FUNCTIONS(MIRRORCA_RAW_REQ)
IMPLEMENT_ASN1_FUNCTIONS(MIRRORCA_RAW_REQ)

namespace mirrorca::ca {
namespace {

using RawReqPtr = OpenSslPtr<MIRRORCA_RAW_REQ, MIRRORCA_RAW_REQ_free>;
using PkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;

constexpr size_t kP256PointBytes = 65;  // 0x04 || X || Y

// Der: the DER of `in` (a PEM block of `CERTIFICATE REQUEST`, or DER as is).
bool Der(std::string_view in, std::string* out) {
  if (in.size() > kMaxObjectBytes) return false;
  if (in.find("-----BEGIN ") == std::string_view::npos) {
    out->assign(in);
    return true;
  }
  BioPtr bio(BIO_new_mem_buf(in.data(), static_cast<int>(in.size())));
  unsigned char* der = nullptr;
  long len = 0;
  if (!bio || PEM_bytes_read_bio(&der, &len, nullptr, PEM_STRING_X509_REQ, bio.get(), nullptr, nullptr) != 1) {
    ERR_clear_error();
    return false;
  }
  out->assign(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return true;
}

bool IsOid(const X509_ALGOR* a, int nid, int* ptype, const void** pval) {
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, ptype, pval, a);
  return OBJ_obj2nid(obj) == nid;
}

// P256Parameters: per library context, a key holding only the P-256
// group, made once (contexts live as long as the process, so do these).
// A request's key is a copy with its point set: EVP_PKEY_fromdata builds the
// group anew for every key, three quarters of the import's cost (measured
// 19 us against 5 us). (EVP_DigestVerifyInit with a prefetched digest was
// measured too: it fetches the signature in the default context and exports
// the key there, 16 us more per request than EVP_DigestVerifyInit_ex in the
// key's context.)
EVP_PKEY* P256Parameters(OSSL_LIB_CTX* libctx) {
  static std::mutex mu;
  static auto* keys = new std::map<OSSL_LIB_CTX*, EVP_PKEY*>();  // never freed, like the contexts
  std::lock_guard lock(mu);
  auto it = keys->find(libctx);
  if (it != keys->end()) return it->second;
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                         OSSL_PARAM_construct_end()};
  PkeyCtxPtr make(EVP_PKEY_CTX_new_from_name(libctx, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!make || EVP_PKEY_fromdata_init(make.get()) != 1 ||
      EVP_PKEY_fromdata(make.get(), &key, EVP_PKEY_KEY_PARAMETERS, params) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  keys->emplace(libctx, key);
  return key;
}

EVP_PKEY* CopyOfParameters(OSSL_LIB_CTX* libctx) {
  EVP_PKEY* params = P256Parameters(libctx);
  return params == nullptr ? nullptr : EVP_PKEY_dup(params);
}

// Scratch: this thread's key for `libctx`, whose point each request
// overwrites (setting it changes the key in place), and an ECDSA
// verification context initialized once for that key (with SHA-256, so a
// digest of another length is refused). Used only within one
// ReadP256Request call on this thread.
struct Scratch {
  EvpPkeyPtr key;
  PkeyCtxPtr verify;
  OpenSslPtr<EVP_MD, EVP_MD_free> sha256;
};
Scratch* ScratchFor(OSSL_LIB_CTX* libctx) {
  thread_local std::map<OSSL_LIB_CTX*, Scratch> scratch;
  Scratch& s = scratch[libctx];
  if (!s.verify) {
    s.key.reset(CopyOfParameters(libctx));
    if (s.key) s.verify.reset(EVP_PKEY_CTX_new_from_pkey(libctx, s.key.get(), nullptr));
    s.sha256.reset(EVP_MD_fetch(libctx, "SHA256", nullptr));
    if (!s.verify || !s.sha256 || EVP_PKEY_verify_init(s.verify.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(s.verify.get(), s.sha256.get()) != 1) {
      s.verify.reset();
      ERR_clear_error();
      return nullptr;
    }
  }
  return &s;
}

// VerifyWithScratch: the signature over `signed_bytes` under the scratch
// key (its point already set).
bool VerifyWithScratch(Scratch& s, const ASN1_BIT_STRING* sig, const unsigned char* signed_bytes, size_t len) {
  unsigned char digest[32];
  unsigned int digest_len = 0;
  if (EVP_Digest(signed_bytes, len, digest, &digest_len, s.sha256.get(), nullptr) != 1 || digest_len != 32) {
    return false;
  }
  return EVP_PKEY_verify(s.verify.get(), ASN1_STRING_get0_data(sig), static_cast<size_t>(ASN1_STRING_length(sig)),
                         digest, digest_len) == 1;
}

bool NoUnusedBits(const ASN1_BIT_STRING* s) { return (s->flags & ASN1_STRING_FLAG_BITS_LEFT) == 0 || (s->flags & 0x07) == 0; }

}  // namespace

P256Request ReadP256Request(std::string_view pem_or_der, OSSL_LIB_CTX* libctx, P256Key key_use) {
  P256Request out;
  std::string der;
  if (!Der(pem_or_der, &der)) return out;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  RawReqPtr req(d2i_MIRRORCA_RAW_REQ(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  // Not DER, or trailing bytes: the generic path says so in its words.
  if (!req || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return out;
  // The shape: id-ecPublicKey with the named curve P-256, an uncompressed
  // point; ecdsa-with-SHA256 without parameters. Anything else: generic.
  int ptype = 0;
  const void* pval = nullptr;
  const MIRRORCA_RAW_SPKI* spki = req->info->spki;
  if (!IsOid(spki->algor, NID_X9_62_id_ecPublicKey, &ptype, &pval) || ptype != V_ASN1_OBJECT ||
      OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(pval)) != NID_X9_62_prime256v1) {
    return out;
  }
  const ASN1_BIT_STRING* point = spki->public_key;
  if (!NoUnusedBits(point) || static_cast<size_t>(ASN1_STRING_length(point)) != kP256PointBytes ||
      ASN1_STRING_get0_data(point)[0] != 0x04) {
    return out;
  }
  if (!IsOid(req->sig_alg, NID_ecdsa_with_SHA256, &ptype, &pval) || ptype != V_ASN1_UNDEF) return out;
  if (req->info->enc.enc == nullptr || req->info->enc.len <= 0 || spki->enc.enc == nullptr) return out;
  // The key: the group-only key with the point set, which checks that the
  // point is on the curve — a copy the caller keeps, or this thread's
  // scratch key when only the verdict is wanted (no copy per request).
  out.verdict = P256Request::Verdict::kBadKey;
  Scratch* scratch = key_use == P256Key::kVerifyOnly ? ScratchFor(libctx) : nullptr;
  EVP_PKEY* key = scratch != nullptr ? scratch->key.get() : CopyOfParameters(libctx);
  if (key == nullptr || EVP_PKEY_set1_encoded_public_key(key, ASN1_STRING_get0_data(point), kP256PointBytes) != 1) {
    if (scratch == nullptr) EVP_PKEY_free(key);
    ERR_clear_error();
    return out;
  }
  if (scratch == nullptr) out.key.reset(key);
  // Proof of possession: the signature over the exact signed bytes.
  out.verdict = P256Request::Verdict::kBadSignature;
  const ASN1_BIT_STRING* sig = req->signature;
  const unsigned char* signed_bytes = req->info->enc.enc;
  const auto signed_len = static_cast<size_t>(req->info->enc.len);
  bool verified = NoUnusedBits(sig);
  if (verified && scratch != nullptr) {
    verified = VerifyWithScratch(*scratch, sig, signed_bytes, signed_len);
  } else if (verified) {
    MdCtxPtr md(EVP_MD_CTX_new());
    verified = md && EVP_DigestVerifyInit_ex(md.get(), nullptr, "SHA256", libctx, nullptr, key, nullptr) == 1 &&
               EVP_DigestVerify(md.get(), ASN1_STRING_get0_data(sig), static_cast<size_t>(ASN1_STRING_length(sig)),
                                signed_bytes, signed_len) == 1;
  }
  if (!verified) {
    ERR_clear_error();
    return out;
  }
  // The key as the request encodes it, for the certificate and its hash.
  X509PubkeyPtr pub(X509_PUBKEY_new());
  auto* bits = static_cast<unsigned char*>(OPENSSL_memdup(ASN1_STRING_get0_data(point), kP256PointBytes));
  if (!pub || bits == nullptr ||
      X509_PUBKEY_set0_param(pub.get(), OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
                             OBJ_nid2obj(NID_X9_62_prime256v1), bits, static_cast<int>(kP256PointBytes)) != 1) {
    OPENSSL_free(bits);
    ERR_clear_error();
    out.verdict = P256Request::Verdict::kOtherShape;  // let the generic path try
    out.key.reset();
    return out;
  }
  out.spki = std::move(pub);
  out.spki_der.assign(reinterpret_cast<const char*>(spki->enc.enc), static_cast<size_t>(spki->enc.len));
  out.verdict = P256Request::Verdict::kValid;
  return out;
}

}  // namespace mirrorca::ca
