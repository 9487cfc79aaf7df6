// CertificateTemplate against the generic builder: for every shipped
// device profile, under P-256, P-384 and RSA issuers, with a request's SPKI
// and with a bare key, at the issuer's start and later, the two
// certificates agree field by field and their to-be-signed bytes are
// identical; refusals are the same too.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "ca/cert_fields.h"
#include "ca/cert_template.h"
#include "ca/der_parts.h"
#include "ca/serial.h"
#include "ca/test_pki.h"

namespace mirrorca::ca {
namespace {

using testing::MakeCsr;
using testing::MakeTestCa;

// What OpenSSL's i2d functions write (I2d, ca/der_parts.h).
std::string Der(X509_NAME* name) { return I2d(name, i2d_X509_NAME); }
std::string Tbs(X509* cert) { return I2d(cert, i2d_re_X509_tbs); }
std::string SpkiDer(X509* cert) { return I2d(X509_get_X509_PUBKEY(cert), i2d_X509_PUBKEY); }

// Content: the bytes of a string (times, extension values).
std::string Content(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s)));
}

// ExpectSameCertificate: every field, then the whole TBS, then both signatures.
void ExpectSameCertificate(X509* generic, X509* templated, EVP_PKEY* issuer_key, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(X509_get_version(generic), X509_get_version(templated));
  EXPECT_EQ(ASN1_INTEGER_cmp(X509_get0_serialNumber(generic), X509_get0_serialNumber(templated)), 0);
  EXPECT_EQ(Der(X509_get_subject_name(generic)), Der(X509_get_subject_name(templated)));
  EXPECT_EQ(Der(X509_get_issuer_name(generic)), Der(X509_get_issuer_name(templated)));
  EXPECT_EQ(Content(X509_get0_notBefore(generic)), Content(X509_get0_notBefore(templated)));
  EXPECT_EQ(Content(X509_get0_notAfter(generic)), Content(X509_get0_notAfter(templated)));
  EXPECT_EQ(SpkiDer(generic), SpkiDer(templated));
  EXPECT_EQ(X509_get_signature_nid(generic), X509_get_signature_nid(templated));
  ASSERT_EQ(X509_get_ext_count(generic), X509_get_ext_count(templated));
  for (int i = 0; i < X509_get_ext_count(generic); ++i) {
    X509_EXTENSION* a = X509_get_ext(generic, i);
    X509_EXTENSION* b = X509_get_ext(templated, i);
    const char* name = OBJ_nid2sn(OBJ_obj2nid(X509_EXTENSION_get_object(a)));
    EXPECT_EQ(OBJ_cmp(X509_EXTENSION_get_object(a), X509_EXTENSION_get_object(b)), 0) << "extension " << i;
    EXPECT_EQ(X509_EXTENSION_get_critical(a), X509_EXTENSION_get_critical(b)) << name;
    EXPECT_EQ(Content(X509_EXTENSION_get_data(a)), Content(X509_EXTENSION_get_data(b))) << name;
  }
  EXPECT_EQ(Tbs(generic), Tbs(templated));
  EXPECT_EQ(X509_verify(generic, issuer_key), 1);
  EXPECT_EQ(X509_verify(templated, issuer_key), 1);
}

// Seconds: a certificate time as seconds since the epoch.
int64_t Seconds(const ASN1_TIME* t) {
  Result<int64_t> s = SecondsOf(t, "a certificate time");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : 0;
}
int64_t StartOf(X509* cert) { return Seconds(X509_get0_notBefore(cert)); }
int64_t EndOf(X509* cert) { return Seconds(X509_get0_notAfter(cert)); }

X509Ptr Parse(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return nullptr;
  return cert;
}

struct Case {
  std::string issuer_profile, leaf_profile;
  KeyType issuer_key;
};

TEST(CertificateTemplateTest, EveryDeviceProfileMatchesTheGenericBuilder) {
  const std::vector<Case> cases = {
      {"matter-pai", "matter-dac", KeyType::kP256},     {"issuing-ca", "idevid", KeyType::kP256},
      {"issuing-ca", "idevid", KeyType::kP384},         {"issuing-ca", "iec62443", KeyType::kP256},
      {"issuing-ca", "iec62443", KeyType::kRsa2048},    {"issuing-ca", "ocsp-responder", KeyType::kP256},
      {"issuing-ca", "tls-client", KeyType::kP256},     {"issuing-ca", "tls-server", KeyType::kP384},
  };
  // Every shipped profile that is not a CA profile is covered.
  std::set<std::string> covered;
  for (const Case& c : cases) covered.insert(c.leaf_profile);
  for (const std::string& name : BuiltinProfileNames()) {
    if (!BuiltinProfile(name)->is_ca) {
      EXPECT_TRUE(covered.contains(name)) << name << " has no case";
    }
  }
  for (const Case& c : cases) {
    IssuingCa issuer = MakeTestCa(c.issuer_profile, c.issuer_key);
    Result<Profile> profile = BuiltinProfile(c.leaf_profile);
    ASSERT_TRUE(profile.ok());
    Result<std::unique_ptr<CertificateTemplate>> t = CertificateTemplate::Create(*profile, issuer);
    ASSERT_TRUE(t.ok()) << t.status();
    Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
    Result<X509ReqPtr> csr = ParseRequest(MakeCsr(key->get()));
    ASSERT_TRUE(csr.ok());
    const time_t issuer_start = StartOf(issuer.certificate());
    for (X509_PUBKEY* spki : {X509_REQ_get_X509_PUBKEY(csr->get()), static_cast<X509_PUBKEY*>(nullptr)}) {
      for (int64_t now : {static_cast<int64_t>(issuer_start) + 1, static_cast<int64_t>(issuer_start) + 86400}) {
        TemplateValues v{{"device_serial", "SN-" + std::to_string(now % 100000)},
                         {"product", "Widget"}, {"organization", "Example OEM"}, {"factory", "F1"},
                         {"vid", "FFF1"}, {"pid", "8000"}, {"batch", "B1"}};
        const Bytes serial = *RandomSerial();
        Result<X509Ptr> generic = issuer.Issue(*profile, v, key->get(), serial, now, spki);
        Result<TemplatedCertificate> templated = (*t)->Issue(v, key->get(), spki, serial, now);
        ASSERT_TRUE(generic.ok()) << generic.status();
        ASSERT_TRUE(templated.ok()) << templated.status();
        X509Ptr parsed = Parse(templated->der);
        ASSERT_TRUE(parsed);
        const std::string what = c.leaf_profile + " under " + c.issuer_profile +
                                 (spki ? " (request SPKI)" : " (key)") + " at +" +
                                 std::to_string(now - issuer_start) + " s";
        ExpectSameCertificate(generic->get(), parsed.get(), issuer.key(), what);
        // The whole DER is the generic certificate's but for the signature
        // (ECDSA and PSS are randomized); a second DER encoding of the
        // parsed certificate is byte for byte the one the template wrote.
        EXPECT_EQ(I2d(parsed.get(), i2d_X509), templated->der) << what;
        EXPECT_EQ(templated->not_before, StartOf(generic->get())) << what;
        EXPECT_EQ(templated->not_after, EndOf(generic->get())) << what;
      }
    }
  }
}

TEST(CertificateTemplateTest, RefusesWhatTheGenericBuilderRefuses) {
  IssuingCa issuer = MakeTestCa("matter-pai");
  Result<Profile> dac = BuiltinProfile("matter-dac");
  Result<std::unique_ptr<CertificateTemplate>> t = CertificateTemplate::Create(*dac, issuer);
  ASSERT_TRUE(t.ok()) << t.status();
  Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
  const int64_t now = StartOf(issuer.certificate()) + 60;
  // No vendor id for a profile that names one; a subject value too long.
  TemplateValues no_vid{{"device_serial", "SN-1"}, {"product", "Widget"}, {"organization", "Example OEM"}};
  TemplateValues too_long{{"device_serial", std::string(65, 'A')}, {"product", "Widget"},
                          {"organization", "Example OEM"}, {"vid", "FFF1"}, {"pid", "8000"}};
  for (const TemplateValues& v : {no_vid, too_long}) {
    Result<X509Ptr> generic = issuer.Issue(*dac, v, key->get(), Bytes{1}, now);
    Result<TemplatedCertificate> templated = (*t)->Issue(v, key->get(), nullptr, Bytes{1}, now);
    EXPECT_FALSE(generic.ok());
    ASSERT_FALSE(templated.ok());
    EXPECT_EQ(templated.status().code(), generic.status().code());
  }
  // A CA profile has no template.
  EXPECT_FALSE(CertificateTemplate::Create(*BuiltinProfile("issuing-ca"), issuer).ok());
}

TEST(DerPartsTest, SplitsAndFramesAsOpenSslEncodes) {
  IssuingCa issuer = MakeTestCa("issuing-ca");
  const std::string tbs = Tbs(issuer.certificate());
  Result<std::vector<std::string>> parts = DerSequenceElements(tbs);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 8u);
  EXPECT_EQ((*parts)[3], Der(X509_get_issuer_name(issuer.certificate())));
  EXPECT_EQ((*parts)[6], SpkiDer(issuer.certificate()));
  std::vector<std::string_view> views(parts->begin(), parts->end());
  EXPECT_EQ(DerConstructed(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, views), tbs);
  // Long content (a 3-byte length) and a context tag.
  const std::string big(70000, 'x');
  const std::string framed = DerConstructed(3, V_ASN1_CONTEXT_SPECIFIC, {big});
  EXPECT_EQ(framed.substr(0, 5), std::string("\xa3\x83\x01\x11\x70", 5));
  EXPECT_EQ(framed.size(), big.size() + 5);
  // Not one SEQUENCE: refused.
  EXPECT_FALSE(DerSequenceElements(tbs + "x").ok());
  EXPECT_FALSE(DerSequenceElements(tbs.substr(0, tbs.size() - 1)).ok());
  EXPECT_FALSE(DerSequenceElements((*parts)[1]).ok());
  EXPECT_FALSE(DerSequenceElements("").ok());
}

}  // namespace
}  // namespace mirrorca::ca
