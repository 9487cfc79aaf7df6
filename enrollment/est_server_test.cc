// EstServer on a real FactoryCa (RocksDB in a temp dir): every operation,
// who may call which, and the refusals — each certificate request refused
// is an issuanceRejected event, each transport error changes nothing.
#include "enrollment/est_server.h"

#include <gtest/gtest.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "base/encoding.h"
#include "ca/certificate.h"
#include "ca/keys.h"
#include "engine/test_factory.h"
#include "log/event_draft.h"
#include "enrollment/est_codec.h"

namespace mirrorca::enrollment {
namespace {

using engine::testing::TestFactory;

std::string RequestFor(const std::string& serial, EVP_PKEY* key) {
  ca::X509ReqPtr req(X509_REQ_new());
  X509_NAME* n = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(n, "serialNumber", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(serial.data()),
                             static_cast<int>(serial.size()), -1, 0);
  X509_REQ_set_pubkey(req.get(), key);
  X509_REQ_sign(req.get(), key, EVP_sha256());
  return *ca::RequestDer(req.get());
}

std::vector<ca::X509Ptr> CertsOf(const std::string& base64_body) {
  std::vector<ca::X509Ptr> out;
  Result<std::string> der = DecodeBase64Body(base64_body);
  if (!der.ok()) return out;
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  ca::OpenSslPtr<PKCS7, PKCS7_free> p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der->size())));
  if (!p7 || !PKCS7_type_is_signed(p7.get())) return out;
  STACK_OF(X509)* certs = p7->d.sign->cert;
  for (int i = 0; i < sk_X509_num(certs); ++i) out.push_back(ca::UpRef(sk_X509_value(certs, i)));
  return out;
}

std::string Der(X509* cert) { return *ca::CertificateDer(cert); }

struct EstWorld {
  TestFactory f;
  std::unique_ptr<EstServer> server;

  explicit EstWorld(uint64_t quota = 10) {
    engine::BatchTerms terms = f.Terms("B1", quota);
    terms.allow_reissue = {"DEV-0050"};
    f.Authorize(terms);  // reopens the factory: the server comes after
    server = std::make_unique<EstServer>(f.ca.get());
  }
  EstServer& est() { return *server; }
  // HqRevokes: HQ revokes (or releases) `cert` in its log, and the factory
  // receives HQ's log (reopened, as the CLI does).
  void HqRevokes(X509* cert, bool release = false) {
    log::EventDraft d;
    auto r = d.event().getKind().initCertificateRevoked();
    r.setCaId(capnp::Data::Reader(f.ca_id.data(), f.ca_id.size()));
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    r.setSerial(capnp::Data::Reader(ASN1_STRING_get0_data(serial), static_cast<size_t>(ASN1_STRING_length(serial))));
    r.setReason(release ? log::schema::RevocationReason::REMOVE_FROM_CRL : log::schema::RevocationReason::CERTIFICATE_HOLD);
    r.setRelease(release);
    std::vector<log::EventDraft> v;
    v.push_back(std::move(d));
    ASSERT_TRUE(f.hq.log->Append(std::move(v)).ok());
    server.reset();
    f.Deliver();
    server = std::make_unique<EstServer>(f.ca.get());
  }

  EstReply Ask(const std::string& method, const std::string& op, const std::string& body = "",
               EstClient client = {"ra-1", ""}, const std::string& type = "application/pkcs10") {
    std::optional<EstReply> r = est().Handle({method, "/.well-known/est/B1/" + op, type, body, std::move(client)});
    return r ? std::move(*r) : EstReply{0, "", {}, "not EST"};
  }
  EstReply Enroll(const std::string& serial, EVP_PKEY* key, EstClient client = {"ra-1", ""}) {
    return Ask("POST", "simpleenroll", EncodeBase64Body(RequestFor(serial, key)), std::move(client));
  }
  uint64_t Issued() { return f.ca->Batch("B1")->issued; }
  uint64_t Rejected() { return f.ca->Batch("B1")->rejected; }
};

TEST(EstCodecTest, PathsNameTheBatchAndTheOperation) {
  EXPECT_FALSE(ParseEstPath("/.well-known/cmp/p/B1"));
  EXPECT_FALSE(ParseEstPath("/.well-known/estate/B1/cacerts"));
  EXPECT_EQ(ParseEstPath("/.well-known/est/cacerts")->operation, "cacerts");
  EXPECT_EQ(ParseEstPath("/.well-known/est/cacerts")->label, "");
  EXPECT_EQ(ParseEstPath("/.well-known/est/B7/simpleenroll/")->label, "B7");
  EXPECT_EQ(ParseEstPath("/.well-known/est/B7/simpleenroll")->operation, "simpleenroll");
  EXPECT_EQ(ParseEstPath("/.well-known/est/a/b/c")->operation, "");
  EXPECT_EQ(ParseEstPath("/.well-known/est")->operation, "");
}

TEST(EstCodecTest, BodiesAreBase64WithLineBreaksIgnored) {
  EXPECT_EQ(*DecodeBase64Body("AAEC\r\nAw==\n"), std::string("\x00\x01\x02\x03", 4));
  EXPECT_FALSE(DecodeBase64Body("").ok());
  EXPECT_FALSE(DecodeBase64Body("AAE*").ok());
  EXPECT_FALSE(DecodeBase64Body("-----BEGIN CERTIFICATE REQUEST-----").ok());
  const std::string big(1000, 'x');
  EXPECT_EQ(*DecodeBase64Body(EncodeBase64Body(big)), big);
  EXPECT_EQ(EncodeBase64Body(big).substr(64, 1), "\n");
}

TEST(EstServerTest, CaCertsIsTheBatchsIssuingChain) {
  EstWorld w;
  EstReply r = w.Ask("GET", "cacerts");
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/pkcs7-mime");
  std::vector<ca::X509Ptr> certs = CertsOf(r.body);
  const auto& chain = w.f.ca->issuing_ca().chain();
  ASSERT_EQ(certs.size(), chain.size());
  for (size_t i = 0; i < certs.size(); ++i) EXPECT_EQ(X509_cmp(certs[i].get(), chain[i].get()), 0);
  // Without a label: the current CA; an unknown batch: 404.
  EXPECT_EQ(w.est().Handle({"GET", "/.well-known/est/cacerts", "", "", {"ra-1", ""}})->http_status, 200);
  EXPECT_EQ(w.est().Handle({"GET", "/.well-known/est/NOPE/cacerts", "", "", {"ra-1", ""}})->http_status, 404);
}

TEST(EstServerTest, CsrAttrsAnnounceTheDeviceSerialAndTheProfilesKeys) {
  EstWorld w;
  EstReply r = w.Ask("GET", "csrattrs");
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/csrattrs");
  const std::string der = *DecodeBase64Body(r.body);
  const std::string serial_number_oid("\x06\x03\x55\x04\x05", 5);
  const std::string ec_public_key_oid("\x06\x07\x2a\x86\x48\xce\x3d\x02\x01", 9);
  const std::string p256_oid("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10);
  const std::string ecdsa_sha256_oid("\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02", 10);
  for (const std::string& oid : {serial_number_oid, ec_public_key_oid, p256_oid, ecdsa_sha256_oid}) {
    EXPECT_NE(der.find(oid), std::string::npos);
  }
  ASSERT_EQ(static_cast<unsigned char>(der[0]), 0x30);  // a SEQUENCE OF
  EXPECT_EQ(w.est().Handle({"GET", "/.well-known/est/csrattrs", "", "", {"ra-1", ""}})->http_status, 404);
}

TEST(EstServerTest, SimpleEnrollIssuesACertificateOnlyAfterItsEvent) {
  EstWorld w;
  ca::EvpPkeyPtr key = *ca::GenerateKey(ca::KeyType::kP256);
  const uint64_t log_before = w.f.ca->log().Size();
  EstReply r = w.Enroll("DEV-0001", key.get());
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/pkcs7-mime; smime-type=certs-only");
  std::vector<ca::X509Ptr> certs = CertsOf(r.body);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(X509_verify(certs[0].get(), X509_get0_pubkey(w.f.ca->issuing_ca().certificate())), 1);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(certs[0].get()), key.get()), 1);
  EXPECT_EQ(w.f.ca->log().Size(), log_before + 1);
  EXPECT_EQ(w.Issued(), 1u);
}

TEST(EstServerTest, RefusalsAreRecordedAndTransportErrorsChangeNothing) {
  EstWorld w(/*quota=*/1);
  ca::EvpPkeyPtr key = *ca::GenerateKey(ca::KeyType::kP256);
  // Transport errors: nothing reaches the CA.
  EXPECT_EQ(w.Ask("GET", "simpleenroll").http_status, 405);
  EXPECT_EQ(w.Ask("POST", "simpleenroll", EncodeBase64Body(RequestFor("DEV-1", key.get())), {"ra-1", ""},
                  "application/json").http_status, 415);
  EXPECT_EQ(w.Ask("POST", "simpleenroll", std::string(70 << 10, 'A')).http_status, 413);
  EXPECT_EQ(w.Ask("POST", "nonsense").http_status, 404);
  EXPECT_EQ(w.Ask("POST", "simpleenroll", "", {"", ""}).http_status, 403);
  EXPECT_EQ(w.Ask("POST", "simplereenroll", "", {"ra-1", ""}).http_status, 403);  // a device's operation
  EXPECT_EQ(w.Rejected(), 0u);
  // Certificate requests refused: each an issuanceRejected event.
  EXPECT_EQ(w.Ask("POST", "simpleenroll", "not base64 *").http_status, 400);
  EXPECT_EQ(w.Ask("POST", "simpleenroll", EncodeBase64Body("garbage DER")).http_status, 400);
  EXPECT_EQ(w.Enroll("bad_serial", key.get()).http_status, 400);
  EXPECT_EQ(w.Enroll("DEV-1", key.get(), {"ra-2", ""}).http_status, 403);  // ra-2 may not enroll in B1
  EXPECT_EQ(w.Rejected(), 4u);
  ASSERT_EQ(w.Enroll("DEV-1", key.get()).http_status, 200);
  ca::EvpPkeyPtr other = *ca::GenerateKey(ca::KeyType::kP256);
  // The quota is used: the factory closed the batch with its last certificate.
  EstReply quota = w.Enroll("DEV-2", other.get());
  EXPECT_EQ(quota.http_status, 409);
  EXPECT_EQ(quota.body.rfind("batch-closed: ", 0), 0u) << quota.body;
  EXPECT_EQ(w.Rejected(), 5u);
  EXPECT_EQ(w.Issued(), 1u);
}

TEST(EstServerTest, TruncatedRequestsAreRefusedAndIssueNothing) {
  EstWorld w(/*quota=*/100);
  ca::EvpPkeyPtr key = *ca::GenerateKey(ca::KeyType::kP256);
  const std::string body = EncodeBase64Body(RequestFor("DEV-0007", key.get()));
  for (size_t n = 0; n + 4 < body.size(); n += 7) {
    EstReply r = w.Ask("POST", "simpleenroll", body.substr(0, n));
    EXPECT_NE(r.http_status, 200) << n;
  }
  EXPECT_EQ(w.Issued(), 0u);
  EXPECT_EQ(w.Ask("POST", "simpleenroll", body).http_status, 200);
}

TEST(EstServerTest, ADeviceReenrollsOnceWithItsCurrentCertificate) {
  EstWorld w;
  ca::EvpPkeyPtr key = *ca::GenerateKey(ca::KeyType::kP256);
  std::vector<ca::X509Ptr> first = CertsOf(w.Enroll("DEV-0050", key.get()).body);
  ASSERT_EQ(first.size(), 1u);
  const EstClient device{"", Der(first[0].get())};
  // A device may not enroll for others or have the server make keys.
  EXPECT_EQ(w.Enroll("DEV-0051", key.get(), device).http_status, 403);
  EXPECT_EQ(w.Ask("POST", "serverkeygen", EncodeBase64Body(RequestFor("DEV-0051", key.get())), device).http_status,
            403);
  EXPECT_EQ(w.Ask("GET", "cacerts", "", device).http_status, 200);
  // The request must name the device the certificate is for.
  ca::EvpPkeyPtr next = *ca::GenerateKey(ca::KeyType::kP256);
  EXPECT_EQ(w.Ask("POST", "simplereenroll", EncodeBase64Body(RequestFor("DEV-0099", next.get())), device).http_status,
            400);
  EstReply r = w.Ask("POST", "simplereenroll", EncodeBase64Body(RequestFor("DEV-0050", next.get())), device);
  ASSERT_EQ(r.http_status, 200) << r.body;
  std::vector<ca::X509Ptr> second = CertsOf(r.body);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(second[0].get()), next.get()), 1);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(first[0].get()), X509_get0_serialNumber(second[0].get())), 0);
  // HQ's re-issue authorization is used: neither certificate renews again.
  ca::EvpPkeyPtr third = *ca::GenerateKey(ca::KeyType::kP256);
  EXPECT_NE(w.Ask("POST", "simplereenroll", EncodeBase64Body(RequestFor("DEV-0050", third.get())),
                  {"", Der(second[0].get())}).http_status, 200);
  EXPECT_NE(w.Ask("POST", "simplereenroll", EncodeBase64Body(RequestFor("DEV-0050", third.get())), device).http_status,
            200);
  EXPECT_EQ(w.Issued(), 2u);
}

TEST(EstServerTest, ReenrollmentNeedsACertificateOfThisFactory) {
  EstWorld w;
  // A device without HQ's re-issue authorization cannot renew.
  ca::EvpPkeyPtr key = *ca::GenerateKey(ca::KeyType::kP256);
  std::vector<ca::X509Ptr> plain = CertsOf(w.Enroll("DEV-0060", key.get()).body);
  ASSERT_EQ(plain.size(), 1u);
  ca::EvpPkeyPtr next = *ca::GenerateKey(ca::KeyType::kP256);
  EstReply r = w.Ask("POST", "simplereenroll", EncodeBase64Body(RequestFor("DEV-0060", next.get())),
                     {"", Der(plain[0].get())});
  EXPECT_EQ(r.http_status, 409) << r.body;
  // A certificate of another CA with the same device serial: refused, recorded.
  ca::IssuingCa stranger = ca::testing::MakeTestCa();
  ca::X509Ptr forged(X509_dup(plain[0].get()));
  X509_sign(forged.get(), stranger.key(), EVP_sha256());
  const uint64_t rejected = w.Rejected();
  EXPECT_EQ(w.Ask("POST", "simplereenroll", EncodeBase64Body(RequestFor("DEV-0060", next.get())),
                  {"", Der(forged.get())}).http_status, 400);
  EXPECT_EQ(w.Ask("POST", "simplereenroll", EncodeBase64Body(RequestFor("DEV-0060", next.get())),
                  {"", "not a certificate"}).http_status, 400);
  EXPECT_EQ(w.Rejected(), rejected + 2);
  EXPECT_EQ(w.Issued(), 1u);
}

// HQ owns revocation; the factory learns of it with HQ's events, and a
// certificate HQ revoked or holds cannot renew itself (nor can an attacker
// holding its key), until HQ releases it.
TEST(EstServerTest, ARevokedOrHeldCertificateCannotRenewItself) {
  EstWorld w;
  ca::EvpPkeyPtr key = *ca::GenerateKey(ca::KeyType::kP256);
  std::vector<ca::X509Ptr> current = CertsOf(w.Enroll("DEV-0050", key.get()).body);
  ASSERT_EQ(current.size(), 1u);
  w.HqRevokes(current[0].get());
  ca::EvpPkeyPtr next = *ca::GenerateKey(ca::KeyType::kP256);
  const uint64_t rejected = w.Rejected();
  EstReply r = w.Ask("POST", "simplereenroll", EncodeBase64Body(RequestFor("DEV-0050", next.get())),
                     {"", Der(current[0].get())});
  EXPECT_EQ(r.http_status, 403);
  EXPECT_EQ(r.body.rfind("certificate-revoked: ", 0), 0u) << r.body;
  EXPECT_EQ(w.Rejected(), rejected + 1);
  w.HqRevokes(current[0].get(), /*release=*/true);
  r = w.Ask("POST", "simplereenroll", EncodeBase64Body(RequestFor("DEV-0050", next.get())), {"", Der(current[0].get())});
  EXPECT_EQ(r.http_status, 200) << r.body;
}

TEST(EstServerTest, ServerKeygenReturnsTheKeyAndItsCertificate) {
  EstWorld w;
  ca::EvpPkeyPtr client_key = *ca::GenerateKey(ca::KeyType::kP256);
  EstReply r = w.Ask("POST", "serverkeygen", EncodeBase64Body(RequestFor("DEV-0070", client_key.get())));
  ASSERT_EQ(r.http_status, 200) << r.body;
  ASSERT_EQ(r.content_type.rfind("multipart/mixed; boundary=", 0), 0u);
  const std::string boundary = "--" + r.content_type.substr(r.content_type.find('=') + 1);
  // Two parts: the key (application/pkcs8), the certificate (certs-only).
  std::vector<std::string> parts;
  size_t at = r.body.find(boundary);
  while (at != std::string::npos) {
    const size_t next = r.body.find(boundary, at + boundary.size());
    if (next == std::string::npos) break;
    parts.push_back(r.body.substr(at + boundary.size(), next - at - boundary.size()));
    at = next;
  }
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_NE(parts[0].find("Content-Type: application/pkcs8"), std::string::npos);
  EXPECT_NE(parts[1].find("smime-type=certs-only"), std::string::npos);
  const std::string key_der = *DecodeBase64Body(parts[0].substr(parts[0].find("\r\n\r\n") + 4));
  const auto* p = reinterpret_cast<const unsigned char*>(key_der.data());
  ca::EvpPkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(key_der.size())));
  ASSERT_TRUE(key);
  std::vector<ca::X509Ptr> certs = CertsOf(parts[1].substr(parts[1].find("\r\n\r\n") + 4));
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(certs[0].get()), key.get()), 1);
  EXPECT_NE(EVP_PKEY_eq(key.get(), client_key.get()), 1);  // the CA made it
  // A request whose signature does not verify: refused and recorded.
  std::string bad = RequestFor("DEV-0071", client_key.get());
  bad[bad.size() - 3] ^= 0x01;
  EXPECT_EQ(w.Ask("POST", "serverkeygen", EncodeBase64Body(bad)).http_status, 400);
  EXPECT_EQ(w.Rejected(), 1u);
  EXPECT_EQ(w.Issued(), 1u);
}

}  // namespace
}  // namespace mirrorca::enrollment
