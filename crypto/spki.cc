#include "crypto/spki.h"

#include "base/encoding.h"
#include "base/status_macros.h"
#include "crypto/openssl_ptr.h"
#include "crypto/sha256.h"

namespace mirrorca::crypto {
namespace {

Result<Bytes> HashOfDer(X509_PUBKEY* pub, const char* what) {
  if (pub == nullptr) return OpenSslError(std::string(what) + " has no public key", StatusCode::kInvalidArgument);
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(pub, &der);
  if (len <= 0) return OpenSslError(std::string("encode the public key of ") + what);
  Hash h = Sha256(ByteSpan(der, static_cast<size_t>(len)));
  OPENSSL_free(der);
  return Bytes(h.begin(), h.end());
}

}  // namespace

Result<Bytes> SpkiSha256(X509* cert) { return HashOfDer(X509_get_X509_PUBKEY(cert), "the certificate"); }

Result<std::string> SpkiSha256Hex(X509* cert) {
  ASSIGN_OR_RETURN(Bytes h, SpkiSha256(cert));
  return HexEncode(h);
}

Result<Bytes> KeySpkiSha256(EVP_PKEY* key) {
  X509_PUBKEY* pub = nullptr;
  if (X509_PUBKEY_set(&pub, key) != 1) return OpenSslError("the key's public half");
  Result<Bytes> out = HashOfDer(pub, "the key");
  X509_PUBKEY_free(pub);
  return out;
}

}  // namespace mirrorca::crypto
