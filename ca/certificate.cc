#include "ca/certificate.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "crypto/sha256.h"
#include "crypto/spki.h"

namespace mirrorca::ca {
namespace {

bool LooksLikePem(std::string_view s) { return s.find("-----BEGIN ") != std::string_view::npos; }

template <typename T, int (*I2d)(const T*, unsigned char**)>
Result<std::string> Der(const T* obj, std::string_view what) {
  int len = I2d(obj, nullptr);
  if (len <= 0) return OpenSslError("encode " + std::string(what));
  std::string out(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (I2d(obj, &p) != len) return OpenSslError("encode " + std::string(what));
  return out;
}

Status CheckSize(std::string_view in, std::string_view what) {
  if (in.empty()) return Status::InvalidArgument(std::string(what) + " is empty");
  if (in.size() > kMaxObjectBytes) {
    return Status::InvalidArgument(std::string(what) + " is larger than " +
                                   std::to_string(kMaxObjectBytes) + " bytes");
  }
  return Status::Ok();
}

// ParsePemOrDer decodes one PEM (block `pem_name`) or DER object of ASN.1
// type `item` in library context `libctx` (null: the default); DER must end
// exactly at the end of `in`.
template <typename T, void (*Free)(T*)>
Result<OpenSslPtr<T, Free>> ParsePemOrDer(std::string_view in, const std::string& what,
                                          const ASN1_ITEM* item, const char* pem_name,
                                          OSSL_LIB_CTX* libctx) {
  RETURN_IF_ERROR(CheckSize(in, what));
  const auto* der = reinterpret_cast<const unsigned char*>(in.data());
  long der_len = static_cast<long>(in.size());
  unsigned char* pem_der = nullptr;
  if (LooksLikePem(in)) {
    BioPtr bio(BIO_new_mem_buf(in.data(), static_cast<int>(in.size())));
    if (!bio) return OpenSslError("allocate BIO");
    if (PEM_bytes_read_bio(&pem_der, &der_len, nullptr, pem_name, bio.get(), nullptr, nullptr) !=
        1) {
      return OpenSslError("parse " + what, StatusCode::kInvalidArgument);
    }
    der = pem_der;
  }
  const unsigned char* p = der;
  T* raw = reinterpret_cast<T*>(ASN1_item_d2i_ex(nullptr, &p, der_len, item, libctx, nullptr));
  const bool trailing = raw != nullptr && pem_der == nullptr && p != der + der_len;
  OPENSSL_free(pem_der);
  if (trailing) {
    Free(raw);
    return Status::InvalidArgument(what + " DER has trailing bytes");
  }
  if (raw == nullptr) return OpenSslError("parse " + what, StatusCode::kInvalidArgument);
  return OpenSslPtr<T, Free>(raw);
}

}  // namespace

Result<X509Ptr> ParseCertificate(std::string_view in) {
  return ParsePemOrDer<X509, X509_free>(in, "certificate", ASN1_ITEM_rptr(X509), PEM_STRING_X509,
                                        nullptr);
}

Result<X509Ptr> LoadCertificate(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, env->ReadFile(path, kMaxObjectBytes));
  Result<X509Ptr> cert = ParseCertificate(data);
  if (!cert.ok()) return cert.status().WithContext(path);
  return cert;
}

Result<std::vector<X509Ptr>> LoadCertificateChain(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, env->ReadFile(path, 16 * kMaxObjectBytes));
  Result<std::vector<X509Ptr>> chain = ParseCertificateChainPem(data);
  if (!chain.ok()) return chain.status().WithContext(path);
  return chain;
}

std::string PemBlock(std::string_view der, std::string_view label) {
  std::string out;
  out.reserve(der.size() * 4 / 3 + der.size() / 48 + 2 * label.size() + 40);
  out.append("-----BEGIN ").append(label).append("-----\n");
  // EVP_EncodeBlock: 48 input bytes make one 64-character line.
  unsigned char line[65];
  for (size_t at = 0; at < der.size(); at += 48) {
    const int n = EVP_EncodeBlock(line, reinterpret_cast<const unsigned char*>(der.data()) + at,
                                  static_cast<int>(std::min<size_t>(48, der.size() - at)));
    out.append(reinterpret_cast<const char*>(line), static_cast<size_t>(n)).push_back('\n');
  }
  out.append("-----END ").append(label).append("-----\n");
  return out;
}

Result<std::string> CertificatePem(X509* cert) {
  ASSIGN_OR_RETURN(std::string der, CertificateDer(cert));
  return PemBlock(der, "CERTIFICATE");
}

Result<std::string> CertificateDer(X509* cert) { return Der<X509, i2d_X509>(cert, "certificate"); }

Result<std::string> ChainPem(const std::vector<X509Ptr>& chain) {
  std::string out;
  for (const X509Ptr& c : chain) {
    ASSIGN_OR_RETURN(std::string pem, CertificatePem(c.get()));
    out += pem;
  }
  return out;
}

Result<X509ReqPtr> ParseRequest(std::string_view in, OSSL_LIB_CTX* libctx) {
  return ParsePemOrDer<X509_REQ, X509_REQ_free>(in, "CSR", ASN1_ITEM_rptr(X509_REQ),
                                                PEM_STRING_X509_REQ, libctx);
}

Result<std::string> RequestPem(X509_REQ* req) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req) != 1) return OpenSslError("encode CSR");
  return BioContents(bio.get());
}

Result<std::string> RequestDer(X509_REQ* req) { return Der<X509_REQ, i2d_X509_REQ>(req, "CSR"); }

Result<Bytes> CaId(X509* cert) { return crypto::SpkiSha256(cert); }

Bytes SerialBytes(X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return {};
  Bytes out(static_cast<size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), out.data());
  return out;
}

std::string SerialHex(X509* cert) { return HexEncode(SerialBytes(cert)); }

std::string SubjectText(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "?";
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  Result<std::string> s = BioContents(bio.get());
  return s.ok() ? *s : "?";
}

Status VerifyChain(X509* leaf, const std::vector<X509*>& intermediates, X509* anchor,
                   int64_t at_time) {
  X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx || X509_STORE_add_cert(store.get(), anchor) != 1) {
    return OpenSslError("set up chain verification");
  }
  for (X509* c : intermediates) {
    if (sk_X509_push(untrusted.get(), UpRef(c).release()) == 0) return OpenSslError("push");
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
    return OpenSslError("init chain verification");
  }
  if (at_time != 0) X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at_time));
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return Status::InvalidArgument(std::string("certificate chain does not verify: ") +
                                   X509_verify_cert_error_string(err));
  }
  return Status::Ok();
}

}  // namespace mirrorca::ca
