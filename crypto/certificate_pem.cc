#include "crypto/certificate_pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <string>

namespace mirrorca::crypto {

Result<std::vector<X509Ptr>> ParseCertificateChainPem(std::string_view pem) {
  if (pem.size() > kMaxCertificateChainPemBytes) {
    return Status::InvalidArgument("certificate chain too large: " + std::to_string(pem.size()) + " bytes");
  }
  ERR_clear_error();
  const OpenSslPtr<BIO, BIO_free_all> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("allocate BIO");
  std::vector<X509Ptr> chain;
  while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) chain.emplace_back(raw);
  // The text ends when no further PEM block starts; any other error is a
  // block that is there but broken, which must not shorten the chain silently.
  const unsigned long e = ERR_peek_last_error();
  if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
    return OpenSslError("certificate " + std::to_string(chain.size() + 1) + " of the PEM text",
                        StatusCode::kInvalidArgument);
  }
  ERR_clear_error();
  if (chain.empty()) return Status::InvalidArgument("no PEM certificate found");
  return chain;
}

}  // namespace mirrorca::crypto
