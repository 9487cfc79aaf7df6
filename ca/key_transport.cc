#include "ca/key_transport.h"

#include <openssl/pem.h>  // before cms.h: its PEM_*_CMS need pem.h
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/keys.h"
#include "ca/serial.h"
#include "crypto/spki.h"

namespace mirrorca::ca {
namespace {

struct CmsFree {
  void operator()(CMS_ContentInfo* c) const { CMS_ContentInfo_free(c); }
};
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;

Status AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return OpenSslError("transport certificate extension");
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status::Ok() : OpenSslError("transport certificate extension");
}

}  // namespace

Result<KeyAndCertificate> CreateTransportIdentity(const std::string& name, int64_t now, int days) {
  ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateKey(KeyType::kP256));
  ASSIGN_OR_RETURN(Bytes serial, RandomSerial());
  X509Ptr cert(X509_new());
  if (!cert) return OpenSslError("allocate transport certificate");
  BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!bn || X509_set_version(cert.get(), 2) != 1 ||
      BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(name.data()),
                                 static_cast<int>(name.size()), -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), subject) != 1 ||
      X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -300, &now) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &now) == nullptr ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return OpenSslError("build transport certificate");
  }
  RETURN_IF_ERROR(AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), NID_key_usage, "critical,keyAgreement"));
  RETURN_IF_ERROR(AddExtension(cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return OpenSslError("sign transport certificate");
  return KeyAndCertificate{std::move(key), std::move(cert)};
}

Result<std::string> SealPrivateKey(EVP_PKEY* key, X509* recipient) {
  BioPtr plain(BIO_new(BIO_s_mem()));
  if (!plain || i2d_PKCS8PrivateKey_bio(plain.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("encode the key to seal");
  }
  X509StackPtr recipients(sk_X509_new_null());
  if (!recipients || sk_X509_push(recipients.get(), UpRef(recipient).release()) <= 0) {
    return OpenSslError("recipient list");
  }
  CmsPtr cms(CMS_encrypt(recipients.get(), plain.get(), EVP_aes_256_gcm(), CMS_BINARY));
  if (!cms) return OpenSslError("seal the key (CMS AuthEnvelopedData)");
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_CMS(out.get(), cms.get()) != 1) return OpenSslError("write the sealed key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<EvpPkeyPtr> OpenSealedKey(std::string_view sealed_pem, X509* recipient_cert, EVP_PKEY* recipient_key) {
  BioPtr in(BIO_new_mem_buf(sealed_pem.data(), static_cast<int>(sealed_pem.size())));
  CmsPtr cms(in ? PEM_read_bio_CMS(in.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cms) return OpenSslError("the sealed key is not a PEM CMS message", StatusCode::kInvalidArgument);
  const int type = OBJ_obj2nid(CMS_get0_type(cms.get()));
  if (type != NID_id_smime_ct_authEnvelopedData) {
    return Status::InvalidArgument("the sealed key is not CMS AuthEnvelopedData");
  }
  BioPtr plain(BIO_new(BIO_s_mem()));
  if (!plain || CMS_decrypt(cms.get(), recipient_key, recipient_cert, nullptr, plain.get(), CMS_BINARY) != 1) {
    return OpenSslError("open the sealed key (not addressed to this transport key, or altered)",
                        StatusCode::kInvalidArgument);
  }
  EvpPkeyPtr key(d2i_PrivateKey_bio(plain.get(), nullptr));
  if (!key) return OpenSslError("the sealed key does not parse", StatusCode::kInvalidArgument);
  return key;
}

bool KeyMatchesCertificate(EVP_PKEY* key, X509* cert) {
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  return pub != nullptr && EVP_PKEY_eq(key, pub) == 1;
}

Result<Bytes> KeyFingerprint(EVP_PKEY* key) { return crypto::KeySpkiSha256(key); }

}  // namespace mirrorca::ca
