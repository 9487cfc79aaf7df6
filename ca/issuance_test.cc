// Certificate issuance against each shipped profile, checked field by field
// with OpenSSL's parser, and CSR vetting failures.
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <set>

#include "ca/cert_builder.h"
#include "ca/request_vetting.h"
#include "ca/serial.h"
#include "ca/test_pki.h"

namespace mirrorca::ca {
namespace {

using testing::MakeCsr;
using testing::MakeTestCa;
using testing::NowSeconds;

std::string NameEntry(X509* cert, const char* oid) {
  X509_NAME* name = X509_get_subject_name(cert);
  Asn1ObjectPtr obj(OBJ_txt2obj(oid, 0));
  int i = X509_NAME_get_index_by_OBJ(name, obj.get(), -1);
  if (i < 0) return "";
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

struct Issued {
  X509Ptr cert;
  Profile profile;
};

Issued IssueWith(const IssuingCa& ca, const std::string& profile_name, EVP_PKEY* key,
                 const std::string& device_serial = "SN-0001") {
  Result<Profile> profile = BuiltinProfile(profile_name);
  EXPECT_TRUE(profile.ok());
  TemplateValues v{{"device_serial", device_serial}, {"product", "Widget"},
                   {"organization", "Example OEM"},  {"vid", "FFF1"},
                   {"pid", "8000"},                  {"batch", "B1"}};
  Result<Bytes> serial = RandomSerial();
  Result<X509Ptr> cert = ca.Issue(*profile, v, key, *serial, NowSeconds());
  EXPECT_TRUE(cert.ok()) << cert.status();
  return {std::move(*cert), std::move(*profile)};
}

void ExpectChains(const IssuingCa& ca, X509* leaf) {
  std::vector<X509*> mid{ca.certificate()};
  EXPECT_TRUE(VerifyChain(leaf, mid, ca.chain().back().get()).ok());
}

// A forked child does not draw the serials its parent draws next (each
// thread keeps a pool of random bytes; the child's copy is emptied).
TEST(SerialTest, AForkedChildDrawsOtherSerialsThanItsParent) {
  ASSERT_TRUE(RandomSerial().ok());  // the pool now holds unused bytes
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Result<Bytes> s = RandomSerial();
    const bool wrote = s.ok() && write(fds[1], s->data(), s->size()) == static_cast<ssize_t>(s->size());
    _exit(wrote ? 0 : 1);
  }
  Bytes from_child(kSerialBytes);
  ASSERT_EQ(read(fds[0], from_child.data(), from_child.size()), static_cast<ssize_t>(kSerialBytes));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(fds[0]);
  close(fds[1]);
  Result<Bytes> parent = RandomSerial();
  ASSERT_TRUE(parent.ok());
  EXPECT_NE(*parent, from_child);
}

TEST(IssuanceTest, IdevidProfile) {
  IssuingCa ca = MakeTestCa();
  Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
  Issued is = IssueWith(ca, "idevid", key->get());
  X509* c = is.cert.get();
  ExpectChains(ca, c);
  EXPECT_EQ(NameEntry(c, "2.5.4.5"), "SN-0001");
  // notAfter 99991231235959Z as GeneralizedTime.
  const ASN1_TIME* na = X509_get0_notAfter(c);
  EXPECT_EQ(ASN1_STRING_type(na), V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(na))),
            "99991231235959Z");
  // KU critical digitalSignature; no basic constraints.
  int crit = -1;
  EXPECT_EQ(X509_get_extension_flags(c) & EXFLAG_CA, 0u);
  EXPECT_EQ(X509_get_ext_d2i(c, NID_basic_constraints, &crit, nullptr), nullptr);
  EXPECT_EQ(X509_get_key_usage(c), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_GE(X509_get_ext_by_critical(c, 1, -1), 0);
  // SAN otherName hardwareModuleName.
  GeneralNamesPtr san(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c, NID_subject_alt_name, nullptr, nullptr)));
  ASSERT_TRUE(san);
  ASSERT_EQ(sk_GENERAL_NAME_num(san.get()), 1);
  GENERAL_NAME* gn = sk_GENERAL_NAME_value(san.get(), 0);
  ASSERT_EQ(gn->type, GEN_OTHERNAME);
  char oid[64];
  OBJ_obj2txt(oid, sizeof(oid), gn->d.otherName->type_id, 1);
  EXPECT_STREQ(oid, "1.3.6.1.5.5.7.8.4");
  EXPECT_EQ(gn->d.otherName->value->type, V_ASN1_SEQUENCE);
  // SKID and AKID present, AKID = issuer SKID.
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(c);
  const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(c);
  ASSERT_NE(skid, nullptr);
  ASSERT_NE(akid, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(akid, X509_get0_subject_key_id(ca.certificate())), 0);
  // CRL DP and AIA OCSP from the CA's URLs.
  EXPECT_NE(X509_get_ext_by_NID(c, NID_crl_distribution_points, -1), -1);
  EXPECT_NE(X509_get_ext_by_NID(c, NID_info_access, -1), -1);
}

TEST(IssuanceTest, MatterDacProfile) {
  IssuingCa ca = MakeTestCa("matter-pai");
  Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
  Issued is = IssueWith(ca, "matter-dac", key->get());
  X509* c = is.cert.get();
  ExpectChains(ca, c);
  EXPECT_EQ(NameEntry(c, "1.3.6.1.4.1.37244.2.1"), "FFF1");
  EXPECT_EQ(NameEntry(c, "1.3.6.1.4.1.37244.2.2"), "8000");
  EXPECT_EQ(X509_get_signature_nid(c), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_get_key_usage(c), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  int crit = 0;
  BASIC_CONSTRAINTS* bc =
      static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(c, NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(bc->ca, 0);
  EXPECT_EQ(crit, 1);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_EQ(ASN1_STRING_length(X509_get0_subject_key_id(c)), 20);
  EXPECT_EQ(ASN1_STRING_length(X509_get0_authority_key_id(c)), 20);
  // The PAI: CA:true pathLen 0, keyCertSign + cRLSign, VID in the subject.
  X509* pai = ca.certificate();
  EXPECT_EQ(X509_get_pathlen(pai), 0);
  EXPECT_EQ(X509_get_key_usage(pai), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(NameEntry(pai, "1.3.6.1.4.1.37244.2.1"), "FFF1");
}

TEST(IssuanceTest, Iec62443AndRsaAndP384Issuers) {
  for (KeyType t : {KeyType::kP256, KeyType::kP384, KeyType::kRsa2048}) {
    IssuingCa ca = MakeTestCa("issuing-ca", t);
    Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
    Issued is = IssueWith(ca, "iec62443", key->get(), "DEV-42");
    ExpectChains(ca, is.cert.get());
    EXPECT_EQ(NameEntry(is.cert.get(), "CN"), "DEV-42");
    EXPECT_EQ(X509_get_extended_key_usage(is.cert.get()),
              static_cast<uint32_t>(XKU_SSL_CLIENT | XKU_SSL_SERVER));
    if (t == KeyType::kP384) {
      EXPECT_EQ(X509_get_signature_nid(is.cert.get()), NID_ecdsa_with_SHA384);
    }
  }
}

int64_t NotBeforeOf(X509* cert) {
  std::tm t{};
  EXPECT_EQ(ASN1_TIME_to_tm(X509_get0_notBefore(cert), &t), 1);
  return static_cast<int64_t>(timegm(&t));
}

// No certificate starts before its issuer: a leaf issued seconds after its
// CA was made (a line that starts at once) would otherwise be backdated to
// before the CA, and fail for a relying party that checks the chain at the
// leaf's notBefore (a Matter commissioner: openssl verify -attime).
TEST(IssuanceTest, NoCertificateStartsBeforeItsIssuer) {
  for (const auto& [ca_profile, leaf] : std::vector<std::pair<std::string, std::string>>{
           {"matter-pai", "matter-dac"}, {"issuing-ca", "idevid"}, {"issuing-ca", "iec62443"},
           {"issuing-ca", "ocsp-responder"}, {"issuing-ca", "tls-client"}}) {
    IssuingCa ca = MakeTestCa(ca_profile);
    const int64_t ca_start = NotBeforeOf(ca.certificate());
    Result<Profile> profile = BuiltinProfile(leaf);
    ASSERT_TRUE(profile.ok());
    ASSERT_GT(profile->backdate_seconds, 0) << leaf;  // the case that mattered
    Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
    TemplateValues v{{"device_serial", "SN-0001"}, {"product", "Widget"}, {"organization", "Example OEM"},
                     {"vid", "FFF1"}, {"pid", "8000"}, {"batch", "B1"}};
    Result<X509Ptr> cert = ca.Issue(*profile, v, key->get(), *RandomSerial(), ca_start + 1);
    ASSERT_TRUE(cert.ok()) << leaf << ": " << cert.status();
    EXPECT_GE(NotBeforeOf(cert->get()), ca_start) << leaf;
    std::vector<X509*> mid{ca.certificate()};
    EXPECT_TRUE(VerifyChain(cert->get(), mid, ca.chain().back().get(), NotBeforeOf(cert->get())).ok())
        << leaf << " does not verify at its own notBefore";
    // Later, the usual backdate applies.
    Result<X509Ptr> later = ca.Issue(*profile, v, key->get(), *RandomSerial(), ca_start + 3600);
    ASSERT_TRUE(later.ok());
    EXPECT_EQ(NotBeforeOf(later->get()), ca_start + 3600 - profile->backdate_seconds) << leaf;
  }
}

TEST(IssuanceTest, SerialsArePositiveRandomAndSixteenOctets) {
  std::set<Bytes> seen;
  for (int i = 0; i < 1000; ++i) {
    Result<Bytes> s = RandomSerial();
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(s->size(), 16u);
    EXPECT_GE((*s)[0], 1);
    EXPECT_LE((*s)[0], 0x7f);
    EXPECT_TRUE(seen.insert(*s).second);
  }
  IssuingCa ca = MakeTestCa();
  Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
  Issued is = IssueWith(ca, "idevid", key->get());
  EXPECT_EQ(SerialBytes(is.cert.get()).size(), 16u);
  EXPECT_EQ(ASN1_INTEGER_get_int64(nullptr, X509_get0_serialNumber(is.cert.get())), 0);
}

TEST(VettingTest, AcceptsAGoodCsrAndIgnoresItsSubject) {
  Result<Profile> p = BuiltinProfile("idevid");
  Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
  std::string csr = MakeCsr(key->get(), "CN=evil, O=Other OEM");
  VetOutcome o = VetRequest(csr, *p);
  ASSERT_TRUE(o.ok()) << o.detail;
  EXPECT_EQ(EVP_PKEY_eq(o.public_key.get(), key->get()), 1);
  // The old "NEW CERTIFICATE REQUEST" PEM label and DER work too.
  std::string old_label = csr;
  for (const char* edge : {"BEGIN ", "END "}) {
    size_t at = old_label.find(std::string(edge) + "CERTIFICATE REQUEST");
    ASSERT_NE(at, std::string::npos);
    old_label.insert(at + strlen(edge), "NEW ");
  }
  EXPECT_TRUE(VetRequest(old_label, *p).ok());
  Result<X509ReqPtr> req = ParseRequest(csr);
  Result<std::string> der = RequestDer(req->get());
  EXPECT_TRUE(VetRequest(*der, *p).ok());
}

// Vetting for the SPKI alone (the factory's path): the same verdicts and
// SPKI, no key object for a P-256 request, and the key rules still apply.
TEST(VettingTest, SpkiOnlyVettingAgreesWithKeptKeyVetting) {
  Result<Profile> idevid = BuiltinProfile("idevid");
  Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
  const std::string csr = MakeCsr(key->get());
  VetOutcome kept = VetRequest(csr, *idevid);
  VetOutcome spki_only = VetRequest(csr, *idevid, RequestKey::kSpkiOnly);
  ASSERT_TRUE(kept.ok() && spki_only.ok()) << spki_only.detail;
  EXPECT_TRUE(kept.public_key);
  EXPECT_FALSE(spki_only.public_key);
  ASSERT_TRUE(spki_only.spki);
  EXPECT_EQ(spki_only.spki_der, kept.spki_der);
  // A profile without P-256: refused alike, in the same words.
  Profile p384_only = *idevid;
  p384_only.keys = {KeyType::kP384};
  VetOutcome refused_kept = VetRequest(csr, p384_only);
  VetOutcome refused = VetRequest(csr, p384_only, RequestKey::kSpkiOnly);
  EXPECT_EQ(refused.failure, VetFailure::kKeyNotAllowed);
  EXPECT_EQ(refused.detail, refused_kept.detail);
  // A bad signature and other shapes: as before.
  std::string forged = *RequestDer(ParseRequest(csr)->get());
  forged[forged.size() - 5] ^= 0x01;
  EXPECT_EQ(VetRequest(forged, *idevid, RequestKey::kSpkiOnly).failure, VetFailure::kProofOfPossession);
  Result<EvpPkeyPtr> p384 = GenerateKey(KeyType::kP384);
  VetOutcome other = VetRequest(MakeCsr(p384->get()), *idevid, RequestKey::kSpkiOnly);
  ASSERT_TRUE(other.ok()) << other.detail;
  EXPECT_TRUE(other.public_key);  // the generic path keeps its key
}

TEST(VettingTest, RefusesGarbageForgedAndDisallowedRequests) {
  Result<Profile> idevid = BuiltinProfile("idevid");
  Result<Profile> matter = BuiltinProfile("matter-dac");
  EXPECT_EQ(VetRequest("", *idevid).failure, VetFailure::kBadCsr);
  EXPECT_EQ(VetRequest("not a csr", *idevid).failure, VetFailure::kBadCsr);
  EXPECT_EQ(VetRequest("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                       *idevid).failure,
            VetFailure::kBadCsr);
  EXPECT_EQ(VetRequest(std::string(70000, 'A'), *idevid).failure, VetFailure::kBadCsr);

  // Proof of possession: flip a bit of the signature.
  Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
  Result<X509ReqPtr> req = ParseRequest(MakeCsr(key->get()));
  Result<std::string> der = RequestDer(req->get());
  std::string forged = *der;
  forged[forged.size() - 5] ^= 0x01;
  EXPECT_EQ(VetRequest(forged, *idevid).failure, VetFailure::kProofOfPossession);
  // Trailing bytes after the DER.
  EXPECT_EQ(VetRequest(*der + "x", *idevid).failure, VetFailure::kBadCsr);

  Result<EvpPkeyPtr> p384 = GenerateKey(KeyType::kP384);
  VetOutcome o = VetRequest(MakeCsr(p384->get()), *matter);
  EXPECT_EQ(o.failure, VetFailure::kKeyNotAllowed);
  EXPECT_NE(o.detail.find("p384"), std::string::npos);
  Result<EvpPkeyPtr> ed = GenerateKey(KeyType::kEd25519);
  EXPECT_EQ(VetRequest(MakeCsr(ed->get()), *idevid).failure, VetFailure::kKeyNotAllowed);
  // A key no profile lists is named for what it is, not "other".
  EVP_PKEY* rsa1024 = EVP_RSA_gen(1024);
  ASSERT_NE(rsa1024, nullptr);
  EvpPkeyPtr weak(rsa1024);
  VetOutcome w = VetRequest(MakeCsr(weak.get()), *idevid);
  EXPECT_EQ(w.failure, VetFailure::kKeyNotAllowed);
  EXPECT_NE(w.detail.find("RSA 1024-bit"), std::string::npos) << w.detail;
  EXPECT_EQ(w.detail.find("other"), std::string::npos) << w.detail;
  EvpPkeyPtr k1(EVP_EC_gen("secp256k1"));
  ASSERT_TRUE(k1);
  VetOutcome c = VetRequest(MakeCsr(k1.get()), *idevid);
  EXPECT_NE(c.detail.find("EC secp256k1"), std::string::npos) << c.detail;
}

TEST(VettingTest, DeviceSerialMustMatchTheProfile) {
  Result<Profile> p = BuiltinProfile("idevid");
  EXPECT_TRUE(VetDeviceSerial("SN-0001", *p).ok());
  for (const char* bad : {"", "-leading", "has space", "a,b", "x/../y", "CN=evil"}) {
    EXPECT_EQ(VetDeviceSerial(bad, *p).failure, VetFailure::kSubjectNotAllowed) << bad;
  }
  EXPECT_FALSE(VetDeviceSerial(std::string(65, 'a'), *p).ok());
}

// Every device serial vetting accepts can be issued: the subject's
// serialNumber is a PrintableString, so "A_B" (which the idevid pattern
// admits) is a vetting refusal naming the encoding, never an internal error
// when the certificate is built. Exhaustive over the pattern's alphabet.
TEST(VettingTest, EveryAcceptedDeviceSerialCanBeIssued) {
  IssuingCa ca = MakeTestCa();
  for (const char* name : {"idevid", "iec62443", "matter-dac"}) {
    Result<Profile> p = BuiltinProfile(name);
    ASSERT_TRUE(p.ok());
    Result<EvpPkeyPtr> key = GenerateKey(KeyType::kP256);
    for (int c = 0x21; c < 0x7f; ++c) {
      const std::string serial = std::string("A") + static_cast<char>(c) + "B";
      VetOutcome v = VetDeviceSerial(serial, *p);
      if (!v.ok()) {
        EXPECT_EQ(v.failure, VetFailure::kSubjectNotAllowed) << name << " " << serial;
        continue;
      }
      TemplateValues values{{"device_serial", serial}, {"product", "Widget"}, {"organization", "Example OEM"},
                            {"vid", "FFF1"}, {"pid", "8000"}, {"batch", "B1"}};
      Result<X509Ptr> cert = ca.Issue(*p, values, key->get(), *RandomSerial(), NowSeconds());
      EXPECT_TRUE(cert.ok()) << name << " accepted '" << serial << "' but could not issue it: " << cert.status();
    }
  }
  Result<Profile> idevid = BuiltinProfile("idevid");
  EXPECT_EQ(VetDeviceSerial("A_B", *idevid).failure, VetFailure::kSubjectNotAllowed);
  // A site profile whose pattern admits '_': still a vetting refusal, by name.
  Profile loose = *idevid;
  loose.device_serial_pattern = "^[A-Za-z0-9_]{1,64}$";
  VetOutcome underscore = VetDeviceSerial("A_B", loose);
  EXPECT_EQ(underscore.failure, VetFailure::kSubjectNotAllowed);
  EXPECT_NE(underscore.detail.find("PrintableString"), std::string::npos) << underscore.detail;
}

TEST(IssuingCaTest, RefusesMismatchedKeyAndNonCa) {
  IssuingCa ca = MakeTestCa();
  Result<EvpPkeyPtr> other = GenerateKey(KeyType::kP256);
  std::vector<X509Ptr> chain;
  for (const X509Ptr& c : ca.chain()) chain.push_back(UpRef(c.get()));
  Result<IssuingCa> bad =
      IssuingCa::FromParts(UpRef(ca.certificate()), std::move(*other), std::move(chain), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("does not match"), std::string::npos);
}

}  // namespace
}  // namespace mirrorca::ca

namespace mirrorca::ca {
namespace {

// PemBlock writes what PEM_write_bio writes, for every length around the
// 48-byte line boundary and for a real certificate.
TEST(PemBlockTest, IsWhatOpenSslWrites) {
  auto openssl = [](const std::string& der, const char* label) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    EXPECT_GT(PEM_write_bio(bio.get(), label, "", reinterpret_cast<const unsigned char*>(der.data()),
                            static_cast<long>(der.size())),
              0);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(n));
  };
  std::string der;
  for (size_t n = 1; n <= 200; ++n) {
    der.push_back(static_cast<char>(n * 37));
    EXPECT_EQ(PemBlock(der, "CERTIFICATE"), openssl(der, "CERTIFICATE")) << n << " bytes";
  }
  IssuingCa ca = testing::MakeTestCa();
  Result<std::string> cert_der = CertificateDer(ca.certificate());
  ASSERT_TRUE(cert_der.ok());
  EXPECT_EQ(PemBlock(*cert_der, "CERTIFICATE"), openssl(*cert_der, "CERTIFICATE"));
  EXPECT_EQ(*CertificatePem(ca.certificate()), openssl(*cert_der, "CERTIFICATE"));
}

}  // namespace
}  // namespace mirrorca::ca
