// Test helpers: an in-memory root + issuing CA and device CSRs.
//
// Thread-safety: test-only; not thread-safe.
#ifndef MIRRORCA_CA_TEST_PKI_H_
#define MIRRORCA_CA_TEST_PKI_H_

#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "ca/issuing_ca.h"
#include "ca/keys.h"

namespace mirrorca::ca::testing {

inline int64_t NowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

// MakeTestCa returns an issuing CA (profile `ca_profile`) under a new root.
inline IssuingCa MakeTestCa(const std::string& ca_profile = "issuing-ca",
                            KeyType key_type = KeyType::kP256) {
  CaSubject subject{.organization = "Example OEM", .factory = "F1", .vendor_id = "FFF1"};
  Result<KeyAndCertificate> root = CreateRoot(subject, key_type, NowSeconds());
  EXPECT_TRUE(root.ok()) << root.status();
  Result<Profile> profile = BuiltinProfile(ca_profile);
  EXPECT_TRUE(profile.ok()) << profile.status();
  Result<EvpPkeyPtr> key = GenerateKey(key_type);
  EXPECT_TRUE(key.ok());
  Result<X509ReqPtr> req = CreateCaRequest(key->get(), *profile, subject);
  EXPECT_TRUE(req.ok()) << req.status();
  Result<std::string> pem = RequestPem(req->get());
  Result<X509Ptr> cert = SignCaRequest(*pem, *profile, subject, root->cert.get(), root->key.get(),
                                       {"http://127.0.0.1:1/crl/root.crl", ""}, NowSeconds());
  EXPECT_TRUE(cert.ok()) << cert.status();
  std::vector<X509Ptr> chain;
  chain.push_back(UpRef(cert->get()));
  chain.push_back(std::move(root->cert));
  Result<IssuingCa> ca =
      IssuingCa::FromParts(std::move(*cert), std::move(*key), std::move(chain),
                           {"http://127.0.0.1:1/crl/f1.crl", "http://127.0.0.1:1/ocsp"});
  EXPECT_TRUE(ca.ok()) << ca.status();
  return std::move(*ca);
}

// MakeCsr returns a PEM CSR signed by `key` with an arbitrary subject.
inline std::string MakeCsr(EVP_PKEY* key, const std::string& cn = "whatever the device says") {
  X509ReqPtr req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.data()),
                             static_cast<int>(cn.size()), -1, 0);
  X509_REQ_set_pubkey(req.get(), key);
  const EVP_MD* md = ClassifyKey(key) == KeyType::kEd25519 ? nullptr : EVP_sha256();
  EXPECT_GT(X509_REQ_sign(req.get(), key, md), 0);
  Result<std::string> pem = RequestPem(req.get());
  EXPECT_TRUE(pem.ok());
  return *pem;
}

}  // namespace mirrorca::ca::testing

#endif  // MIRRORCA_CA_TEST_PKI_H_
