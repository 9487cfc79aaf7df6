// IssuingCa: a CA that signs certificates — its certificate, its private key,
// the chain up to (and including) its root, and the URLs it writes into the
// certificates it issues (CRL distribution point, AIA OCSP).
//
// Files of an issuing CA directory (written by hierarchy.h):
//   ca.pem     the CA certificate
//   ca.key     its private key (PKCS#8 PEM, 0600)
//   chain.pem  the CA certificate followed by its issuers up to the root
//
// Thread-safety: immutable after Load; Issue is safe from any thread.
#ifndef MIRRORCA_CA_ISSUING_CA_H_
#define MIRRORCA_CA_ISSUING_CA_H_

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/env.h"
#include "base/result.h"
#include "ca/cert_builder.h"
#include "ca/openssl_types.h"
#include "ca/profile.h"

namespace mirrorca::ca {

struct IssuingCaUrls {
  std::string crl_url;
  std::string ocsp_url;
};

class IssuingCa {
 public:
  // Load reads DIR/ca.pem, DIR/ca.key and DIR/chain.pem and checks that the
  // key matches the certificate and that the chain verifies to its root.
  static Result<IssuingCa> Load(Env* env, const std::string& dir, IssuingCaUrls urls);
  // FromParts builds one in memory (quickstart, tests).
  static Result<IssuingCa> FromParts(X509Ptr cert, EvpPkeyPtr key, std::vector<X509Ptr> chain,
                                     IssuingCaUrls urls);

  IssuingCa(IssuingCa&&) = default;
  IssuingCa& operator=(IssuingCa&&) = default;

  // Issue signs a certificate for `subject_key` as `profile` says.
  // `subject_spki`, when given, is `subject_key` as parsed from the CSR.
  Result<X509Ptr> Issue(const Profile& profile, const TemplateValues& values,
                        EVP_PKEY* subject_key, const Bytes& serial, int64_t now,
                        X509_PUBKEY* subject_spki = nullptr) const;

  X509* certificate() const { return cert_.get(); }
  EVP_PKEY* key() const { return key_.get(); }
  // chain() is this CA's certificate followed by its issuers, root last.
  const std::vector<X509Ptr>& chain() const { return chain_; }
  const std::string& chain_pem() const { return chain_pem_; }
  const Bytes& ca_id() const { return ca_id_; }
  const IssuingCaUrls& urls() const { return urls_; }

 private:
  IssuingCa() = default;

  X509Ptr cert_;
  EvpPkeyPtr key_;
  std::vector<X509Ptr> chain_;
  std::string chain_pem_;
  Bytes ca_id_;
  IssuingCaUrls urls_;
};

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_ISSUING_CA_H_
