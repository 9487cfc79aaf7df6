#include "ca/issuing_ca.h"

#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/keys.h"
#include "crypto/key_store.h"

namespace mirrorca::ca {

Result<IssuingCa> IssuingCa::FromParts(X509Ptr cert, EvpPkeyPtr key, std::vector<X509Ptr> chain,
                                       IssuingCaUrls urls) {
  if (!cert || !key) return Status::InvalidArgument("issuing CA needs a certificate and a key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("the CA private key does not match the CA certificate");
  }
  if (X509_check_ca(cert.get()) == 0) {
    return Status::InvalidArgument("certificate " + SubjectText(cert.get()) + " is not a CA");
  }
  if (chain.empty() || X509_cmp(chain.front().get(), cert.get()) != 0) {
    chain.insert(chain.begin(), UpRef(cert.get()));
  }
  // The last element is the trust anchor; everything in between is untrusted.
  X509* anchor = chain.back().get();
  std::vector<X509*> intermediates;
  for (size_t i = 1; i + 1 < chain.size(); ++i) intermediates.push_back(chain[i].get());
  RETURN_IF_ERROR(VerifyChain(cert.get(), intermediates, anchor).WithContext("issuing CA"));
  for (const std::string* u : {&urls.crl_url, &urls.ocsp_url}) {
    if (!u->empty() && !IsSafeUrl(*u)) return Status::InvalidArgument("bad URL " + *u);
  }
  IssuingCa ca;
  ASSIGN_OR_RETURN(ca.ca_id_, CaId(cert.get()));
  ASSIGN_OR_RETURN(ca.chain_pem_, ChainPem(chain));
  ca.cert_ = std::move(cert);
  ca.key_ = std::move(key);
  ca.chain_ = std::move(chain);
  ca.urls_ = std::move(urls);
  return ca;
}

Result<IssuingCa> IssuingCa::Load(Env* env, const std::string& dir, IssuingCaUrls urls) {
  ASSIGN_OR_RETURN(X509Ptr cert, LoadCertificate(env, dir + "/ca.pem"));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, crypto::OpenKeyAt(env, dir + "/ca.key"));
  ASSIGN_OR_RETURN(std::vector<X509Ptr> chain, LoadCertificateChain(env, dir + "/chain.pem"));
  Result<IssuingCa> ca = FromParts(std::move(cert), std::move(key), std::move(chain), urls);
  if (!ca.ok()) return ca.status().WithContext(dir);
  return ca;
}

Result<X509Ptr> IssuingCa::Issue(const Profile& profile, const TemplateValues& values,
                                 EVP_PKEY* subject_key, const Bytes& serial, int64_t now,
                                 X509_PUBKEY* subject_spki) const {
  CertificateSpec spec;
  spec.profile = &profile;
  spec.values = values;
  spec.subject_key = subject_key;
  spec.subject_spki = subject_spki;
  spec.serial = serial;
  spec.now = now;
  spec.issuer_cert = cert_.get();
  spec.issuer_key = key_.get();
  spec.crl_url = urls_.crl_url;
  spec.ocsp_url = urls_.ocsp_url;
  return BuildCertificate(spec);
}

}  // namespace mirrorca::ca
