// Owning smart pointers for the OpenSSL objects the CA layer handles
// (certificates, requests, names, extensions, BIOs), so that no path leaks
// them, plus the bridge from OpenSSL's error queue to Status (shared with
// log/).
//
// Thread-safety: the pointers follow OpenSSL's rules for the object they
// hold: an object is safe to read from many threads once built, never to
// mutate concurrently.
#ifndef MIRRORCA_CA_OPENSSL_TYPES_H_
#define MIRRORCA_CA_OPENSSL_TYPES_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "base/result.h"

#include "crypto/openssl_ptr.h"

namespace mirrorca::ca {

using crypto::EvpMdCtxPtr;
using crypto::EvpPkeyPtr;
using crypto::OpenSslDeleter;
using crypto::OpenSslError;
using crypto::OpenSslPtr;
using crypto::X509Ptr;

inline void FreeBio(BIO* b) { BIO_free_all(b); }

using X509ReqPtr = OpenSslPtr<X509_REQ, X509_REQ_free>;
using X509NamePtr = OpenSslPtr<X509_NAME, X509_NAME_free>;
using X509NameEntryPtr = OpenSslPtr<X509_NAME_ENTRY, X509_NAME_ENTRY_free>;
using X509ExtensionPtr = OpenSslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using BioPtr = OpenSslPtr<BIO, FreeBio>;
using BignumPtr = OpenSslPtr<BIGNUM, BN_free>;
using Asn1IntegerPtr = OpenSslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1ObjectPtr = OpenSslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
using Asn1OctetStringPtr = OpenSslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using Asn1TimePtr = OpenSslPtr<ASN1_TIME, ASN1_TIME_free>;
using GeneralNamesPtr = OpenSslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using GeneralNamePtr = OpenSslPtr<GENERAL_NAME, GENERAL_NAME_free>;
using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using X509StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;

inline void FreeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = OpenSslPtr<STACK_OF(X509), FreeX509Stack>;

// UpRef returns a second owning pointer to `p`.
inline X509Ptr UpRef(X509* p) {
  X509_up_ref(p);
  return X509Ptr(p);
}
inline EvpPkeyPtr UpRef(EVP_PKEY* p) {
  EVP_PKEY_up_ref(p);
  return EvpPkeyPtr(p);
}

// BioContents returns everything written to a memory BIO.
Result<std::string> BioContents(BIO* bio);

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_OPENSSL_TYPES_H_
