// Owning smart pointers for OpenSSL objects (OpenSslPtr for any object with a
// free function; named ones for the few the lower layers use), and the
// conversion of OpenSSL's thread-local error queue into a Status.
//
// Thread-safety: the pointers follow OpenSSL's rules for the object they hold;
// OpenSslError reads only the calling thread's error queue.
#ifndef MIRRORCA_CRYPTO_OPENSSL_PTR_H_
#define MIRRORCA_CRYPTO_OPENSSL_PTR_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string_view>

#include "base/status.h"

namespace mirrorca::crypto {

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

using X509Ptr = OpenSslPtr<X509, X509_free>;

// OpenSslError returns a Status of `code` whose message is `what` followed by
// every entry of the OpenSSL error queue, which it empties.
Status OpenSslError(std::string_view what, StatusCode code = StatusCode::kInternal);

}  // namespace mirrorca::crypto

#endif  // MIRRORCA_CRYPTO_OPENSSL_PTR_H_
