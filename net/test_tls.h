// Test helper: TLS identities (a CA, a server, clients) written to a temp dir.
//
// Thread-safety: test-only.
#ifndef MIRRORCA_NET_TEST_TLS_H_
#define MIRRORCA_NET_TEST_TLS_H_

#include <gtest/gtest.h>

#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "ca/keys.h"
#include "ca/test_pki.h"
#include "log/test_util.h"
#include "net/tls.h"

namespace mirrorca::net::testing {

struct TestTls {
  log::testing::TempDir dir;
  ca::KeyAndCertificate root;

  TestTls() {
    root = std::move(*ca::CreateRoot({.organization = "TLS Test"}, ca::KeyType::kP256,
                                     ca::testing::NowSeconds()));
    Write("ca.pem", root.cert.get(), nullptr);
  }

  void Write(const std::string& name, X509* cert, EVP_PKEY* key) {
    ASSERT_TRUE(Env::Default()->WriteFileAtomic(Path(name), *ca::CertificatePem(cert), 0644).ok());
    if (key != nullptr) {
      ASSERT_TRUE(ca::SavePrivateKeyPem(Env::Default(), Path(name + ".key"), key).ok());
    }
  }
  std::string Path(const std::string& name) const { return dir.path() + "/" + name; }

  // Issue writes NAME.pem / NAME.pem.key and returns its SPKI pin.
  std::string Issue(const std::string& name, bool server, int64_t now = 0,
                    ca::KeyAndCertificate* from = nullptr) {
    ca::KeyAndCertificate* issuer = from ? from : &root;
    auto id = ca::IssueTlsIdentity(name, server, "TLS Test", issuer->cert.get(),
                                   issuer->key.get(), now ? now : ca::testing::NowSeconds());
    EXPECT_TRUE(id.ok()) << id.status();
    Write(name + ".pem", id->cert.get(), id->key.get());
    return *ca::SpkiSha256Hex(id->cert.get());
  }

  TlsIdentity Identity(const std::string& name) const {
    return TlsIdentity{Path(name + ".pem"), Path(name + ".pem.key"), Path("ca.pem")};
  }
};

}  // namespace mirrorca::net::testing

#endif  // MIRRORCA_NET_TEST_TLS_H_
