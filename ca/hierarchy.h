// CA hierarchy operations — the key ceremony steps:
//   1. CreateRoot: the OEM root (offline, at HQ), self-signed.
//   2. CreateCaRequest: a CSR for a factory issuing CA (its key is generated
//      at the ceremony; HQ keeps a mirror copy for CRL signing only).
//   3. SignCaRequest: the root signs the CSR with a CA profile (issuing-ca,
//      matter-pai), after checking proof of possession and the key type.
//   4. WriteCaDir: the issuing CA directory the factory imports (issuing_ca.h).
// Also IssueTlsIdentity for the loopback TLS identities of quickstart.
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_CA_HIERARCHY_H_
#define MIRRORCA_CA_HIERARCHY_H_

#include <string>
#include <vector>

#include "base/env.h"
#include "base/result.h"
#include "ca/issuing_ca.h"
#include "ca/openssl_types.h"
#include "ca/profile.h"

namespace mirrorca::ca {

struct CaSubject {
  std::string organization;
  std::string factory;    // factory name, for issuing CA subjects
  std::string vendor_id;  // 4 upper-case hex digits (Matter PAI/PAA), else empty
};

struct KeyAndCertificate {
  EvpPkeyPtr key;
  X509Ptr cert;
};

Result<KeyAndCertificate> CreateRoot(const CaSubject& subject, KeyType key_type, int64_t now);
// CreateRoot with a key made elsewhere (e.g. inside a token, crypto/key_store.h).
Result<KeyAndCertificate> CreateRoot(const CaSubject& subject, EvpPkeyPtr key, int64_t now);

Result<X509ReqPtr> CreateCaRequest(EVP_PKEY* key, const Profile& ca_profile,
                                   const CaSubject& subject);

// SignCaRequest signs `csr` (PEM or DER) as a CA certificate of `ca_profile`
// under `issuer_cert`/`issuer_key`. The subject comes from `subject`, not
// from the CSR.
Result<X509Ptr> SignCaRequest(std::string_view csr, const Profile& ca_profile,
                              const CaSubject& subject, X509* issuer_cert, EVP_PKEY* issuer_key,
                              const IssuingCaUrls& issuer_urls, int64_t now);

// WriteCaDir writes DIR/ca.pem, DIR/ca.key (0600) and DIR/chain.pem; with no
// key (nullptr) it leaves DIR/ca.key alone (the key store wrote it).
Status WriteCaDir(Env* env, const std::string& dir, X509* cert, EVP_PKEY* key,
                  const std::vector<X509*>& issuers);

// IssueTlsIdentity issues a TLS server or client certificate (profiles
// tls-server / tls-client) named `name`, with loopback SANs for servers.
Result<KeyAndCertificate> IssueTlsIdentity(const std::string& name, bool server,
                                           const std::string& organization, X509* issuer_cert,
                                           EVP_PKEY* issuer_key, int64_t now);
// IssueTlsIdentity for a key made elsewhere (a token key).
Result<KeyAndCertificate> IssueTlsIdentity(const std::string& name, bool server,
                                           const std::string& organization, X509* issuer_cert,
                                           EVP_PKEY* issuer_key, int64_t now, EvpPkeyPtr key);

// CreateTlsRequest: a CSR for a TLS key made where it stays (a factory's
// sync identity); IssueTlsIdentityFromRequest certifies such a key (proof
// of possession and key type checked) as the TLS identity `name`.
Result<X509ReqPtr> CreateTlsRequest(EVP_PKEY* key, const std::string& name);
Result<X509Ptr> IssueTlsIdentityFromRequest(std::string_view csr, const std::string& name,
                                            bool server, const std::string& organization,
                                            X509* issuer_cert, EVP_PKEY* issuer_key, int64_t now);

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_HIERARCHY_H_
