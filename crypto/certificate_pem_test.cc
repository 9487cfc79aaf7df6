#include "crypto/certificate_pem.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <string>

namespace mirrorca::crypto {
namespace {

// SelfSigned: a throwaway Ed25519 certificate named `cn`, as PEM.
std::string SelfSigned(const std::string& cn) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.data()),
                             static_cast<int>(cn.size()), -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  EXPECT_GT(X509_sign(cert.get(), key.get(), nullptr), 0);
  OpenSslPtr<BIO, BIO_free_all> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string CommonName(X509* cert) {
  char buf[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

TEST(CertificatePemTest, ReadsEveryCertificateInOrderIgnoringTextAround) {
  const std::string pem = "issuer chain\n" + SelfSigned("a") + "between\n" + SelfSigned("b") + "trailer\n";
  Result<std::vector<X509Ptr>> chain = ParseCertificateChainPem(pem);
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ(CommonName((*chain)[0].get()), "a");
  EXPECT_EQ(CommonName((*chain)[1].get()), "b");
  EXPECT_EQ(ERR_peek_error(), 0u);  // the end-of-text error is not left behind
}

TEST(CertificatePemTest, RefusesTextWithoutACertificate) {
  for (const std::string& text : {std::string(), std::string("hello"),
                                  std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}) {
    Result<std::vector<X509Ptr>> chain = ParseCertificateChainPem(text);
    ASSERT_FALSE(chain.ok()) << text;
    EXPECT_EQ(chain.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(CertificatePemTest, ABrokenCertificateIsRefusedNotDropped) {
  // A reader that stops at the first failure would return a one-certificate
  // chain for each of these.
  const std::string good = SelfSigned("a");
  for (const std::string& broken :
       {std::string("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),           // DER cut short
        std::string("-----BEGIN CERTIFICATE-----\n!!!!not base64!!!!\n-----END CERTIFICATE-----\n"),
        std::string("-----BEGIN CERTIFICATE-----\nAAAAAAAA\n")}) {  // no end line
    Result<std::vector<X509Ptr>> chain = ParseCertificateChainPem(good + broken);
    ASSERT_FALSE(chain.ok()) << broken;
    EXPECT_EQ(chain.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(chain.status().message().find("certificate 2"), std::string::npos) << chain.status();
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(CertificatePemTest, RefusesTextOverTheLimitUnread) {
  std::string pem = SelfSigned("a");
  pem.resize(kMaxCertificateChainPemBytes + 1, '\n');
  Result<std::vector<X509Ptr>> chain = ParseCertificateChainPem(pem);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(chain.status().message().find("too large"), std::string::npos);
}

}  // namespace
}  // namespace mirrorca::crypto
