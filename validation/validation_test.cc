// The VA end to end in process: projection from real logs, revocation
// rules, OCSP answers checked with OpenSSL's own OCSP client functions
// (signature, status, nonce, CertID hashes), CRLs parsed and verified by
// OpenSSL, CRL numbers across a restart, and a projection rebuilt from zero
// equal to the live one after a randomized history.
#include <gtest/gtest.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <random>
#include <sys/stat.h>

#include "base/encoding.h"
#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "ca/keys.h"
#include "ca/profile.h"
#include "ca/serial.h"
#include "ca/test_pki.h"
#include "log/event_draft.h"
#include "log/test_util.h"
#include "validation/crl_builder.h"
#include "validation/validation_authority.h"

#include <set>

#include "engine/log_authority.h"
#include "log/event_codec.h"
#include "crypto/spki.h"
#include <map>

namespace mirrorca::validation {
namespace {

using OcspRequestPtr = ca::OpenSslPtr<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspResponsePtr = ca::OpenSslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicPtr = ca::OpenSslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using CrlPtr = ca::OpenSslPtr<X509_CRL, X509_CRL_free>;

// ShiftedClock: the real filesystem, a clock moved by the test.
class ShiftedClock final : public Env {
 public:
  int64_t NowMicros() override { return Env::Default()->NowMicros() + shift; }
  int64_t ElapsedMicros() override { return Env::Default()->ElapsedMicros(); }
  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override {
    return Env::Default()->ReadFile(path, max_bytes);
  }
  Status WriteFileAtomic(const std::string& path, std::string_view data, uint32_t mode) override {
    return Env::Default()->WriteFileAtomic(path, data, mode);
  }
  bool FileExists(const std::string& path) override { return Env::Default()->FileExists(path); }
  Result<uint32_t> FileMode(const std::string& path) override {
    return Env::Default()->FileMode(path);
  }
  Status CreateDirs(const std::string& path) override { return Env::Default()->CreateDirs(path); }
  int64_t shift = 0;
};

struct World {
  ShiftedClock clock;
  log::testing::TempDir dir;
  log::testing::LogFixture factory{{}, "factory.example/log"};
  log::testing::LogFixture hq{{}, "hq.example/log"};
  ca::IssuingCa issuing = ca::testing::MakeTestCa();
  ca::IssuingCa other = ca::testing::MakeTestCa();  // a CA this HQ does not serve
  engine::LogAuthority authority{"hq.example/log"};
  std::set<std::string> authorized;  // batches authorized for the factory in HQ's log
  std::unique_ptr<ValidationAuthority> va;
  std::vector<ca::X509Ptr> certs;  // issued and recorded in the factory log
  OcspOptions ocsp_options;

  World() {
    engine::FactoryRegistration reg;
    reg.name = "F1";
    reg.log_key = factory.signer.verifier().VerifierKey();
    std::string der = *ca::CertificateDer(issuing.certificate());
    reg.ca_certificates.push_back(Bytes(der.begin(), der.end()));
    EXPECT_TRUE(engine::RegisterFactory(*hq.log, authority, reg).ok());
    std::vector<X509*> issuers;
    for (size_t i = 1; i < issuing.chain().size(); ++i) issuers.push_back(issuing.chain()[i].get());
    EXPECT_TRUE(ca::WriteCaDir(Env::Default(), dir.path() + "/f1", issuing.certificate(),
                               issuing.key(), issuers)
                    .ok());
    Open();
  }
  // serve_other: `other` is served too (a second factory's CA, answered
  // "unknown" for serials no log issued).
  void Open(bool serve_other = false) {
    va.reset();
    std::vector<VaIssuer> issuers = {{"f1", dir.path() + "/f1", "http://va.example/crl/f1.crl"}};
    if (serve_other) {
      std::vector<X509*> up;
      for (size_t i = 1; i < other.chain().size(); ++i) up.push_back(other.chain()[i].get());
      EXPECT_TRUE(ca::WriteCaDir(Env::Default(), dir.path() + "/f2", other.certificate(), other.key(), up).ok());
      issuers.push_back({"f2", dir.path() + "/f2", "http://va.example/crl/f2.crl", false, /*unseen_unknown=*/true});
    }
    VaOptions o;
    o.env = &clock;
    o.authority = &authority;
    o.organization = "Example OEM";
    o.ocsp = ocsp_options;
    auto v = ValidationAuthority::Open(hq.log.get(), {factory.log.get(), hq.log.get()}, std::move(issuers), o);
    ASSERT_TRUE(v.ok()) << v.status();
    va = std::move(*v);
  }
  ca::X509Ptr Make(ca::IssuingCa& by, const std::string& name) {
    auto profile = ca::BuiltinProfile("tls-client");
    auto key = ca::GenerateKey(ca::KeyType::kP256);
    auto serial = ca::RandomSerial();
    auto cert = by.Issue(*profile, {{"organization", "X"}, {"device_serial", name}}, key->get(),
                         *serial, ca::testing::NowSeconds());
    EXPECT_TRUE(cert.ok()) << cert.status();
    return std::move(*cert);
  }
  // Issue records n certificates of batch `batch` in the factory log.
  // The batch is first authorized for the factory in HQ's log.
  void Issue(size_t n, const std::string& batch = "B1") {
    if (authorized.insert(batch).second) {
      log::EventDraft a;
      auto b = a.event().getKind().initBatchAuthorized();
      b.setBatchId(batch);
      b.setFactoryLogId("factory.example/log");
      b.setQuota(1000000);
      std::vector<log::EventDraft> one;
      one.push_back(std::move(a));
      ASSERT_TRUE(hq.log->Append(std::move(one)).ok());
    }
    std::vector<log::EventDraft> drafts;
    for (size_t i = 0; i < n; ++i) {
      ca::X509Ptr cert = Make(issuing, "dev" + std::to_string(certs.size()));
      log::EventDraft d;
      auto c = d.event().getKind().initCertificateIssued();
      Bytes serial = ca::SerialBytes(cert.get());
      c.setCaId(capnp::Data::Reader(issuing.ca_id().data(), issuing.ca_id().size()));
      c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
      c.setBatchId(batch);
      c.setDeviceSerial("dev" + std::to_string(certs.size()));
      c.setNotAfter((ca::testing::NowSeconds() + 86400 * 365) * 1000000);
      drafts.push_back(std::move(d));
      certs.push_back(std::move(cert));
    }
    ASSERT_TRUE(factory.log->Append(std::move(drafts)).ok());
  }
  engine::RevocationRequest ForSerial(X509* cert, int reason = 1) {
    engine::RevocationRequest r;
    r.serial = ca::SerialBytes(cert);
    r.reason = reason;
    r.requested_by = "test";
    return r;
  }
};

struct Status1 {
  int status = -1, reason = -1;
  bool nonce_ok = false, extended_revoke = false, signature_ok = false;
};

// Exchange sends `req` to the VA's responder; `answer` (if given) gets the
// answer as it left, the result is it parsed (null if it does not parse).
OcspResponsePtr Exchange(World& w, OCSP_REQUEST* req, OcspAnswer* answer = nullptr) {
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_REQUEST(req, &der);
  OcspAnswer a = w.va->ocsp().Respond(ByteSpan(der, static_cast<size_t>(len)));
  OPENSSL_free(der);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(a.der.data());
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(a.der.size())));
  if (answer != nullptr) *answer = std::move(a);
  return resp;
}

Status1 Ask(World& w, X509* cert, X509* issuer, const EVP_MD* md = EVP_sha1(), bool nonce = false) {
  OcspRequestPtr req(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(md, cert, issuer);
  OCSP_CERTID* id_copy = OCSP_CERTID_dup(id);
  EXPECT_NE(OCSP_request_add0_id(req.get(), id), nullptr);
  if (nonce) {
    EXPECT_EQ(OCSP_request_add1_nonce(req.get(), nullptr, 16), 1);
  }
  Status1 s;
  OcspResponsePtr resp = Exchange(w, req.get());
  EXPECT_TRUE(resp);
  EXPECT_EQ(OCSP_response_status(resp.get()), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  OcspBasicPtr bs(OCSP_response_get1_basic(resp.get()));
  EXPECT_TRUE(bs);
  // Verify as a relying party: trust the issuing CA's chain; the delegated
  // responder must chain to it and carry OCSPSigning.
  ca::X509StorePtr store(X509_STORE_new());
  for (const auto& c : w.issuing.chain()) X509_STORE_add_cert(store.get(), c.get());
  for (const auto& c : w.other.chain()) X509_STORE_add_cert(store.get(), c.get());
  s.signature_ok = OCSP_basic_verify(bs.get(), nullptr, store.get(), 0) == 1;
  ERR_clear_error();
  ASN1_GENERALIZEDTIME *rev = nullptr, *thisupd = nullptr, *nextupd = nullptr;
  int status = -1, reason = -1;
  EXPECT_EQ(OCSP_resp_find_status(bs.get(), id_copy, &status, &reason, &rev, &thisupd, &nextupd), 1);
  s.status = status;
  s.reason = reason;
  if (nonce) s.nonce_ok = OCSP_check_nonce(req.get(), bs.get()) == 1;
  s.extended_revoke = OCSP_BASICRESP_get_ext_by_NID(bs.get(), NID_id_pkix_OCSP_extendedStatus, -1) >= 0;
  OCSP_CERTID_free(id_copy);
  return s;
}

TEST(ValidationTest, OcspStatusesAsOpenSslSeesThem) {
  World w;
  w.Issue(5);
  ASSERT_TRUE(w.va->Refresh().ok());
  X509* issuer = w.issuing.certificate();
  Status1 good = Ask(w, w.certs[0].get(), issuer);
  EXPECT_EQ(good.status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_TRUE(good.signature_ok);
  EXPECT_EQ(Ask(w, w.certs[0].get(), issuer, EVP_sha256()).status, V_OCSP_CERTSTATUS_GOOD);

  auto r = w.va->Revoke(w.ForSerial(w.certs[1].get(), 1));
  ASSERT_TRUE(r.ok()) << r.status();
  Status1 revoked = Ask(w, w.certs[1].get(), issuer);
  EXPECT_EQ(revoked.status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(revoked.reason, 1);  // keyCompromise
  EXPECT_TRUE(revoked.signature_ok);

  // Never issued by any log: revoked, with the extended-revoke extension.
  ca::X509Ptr forged = w.Make(w.issuing, "forged");
  Status1 never = Ask(w, forged.get(), issuer);
  EXPECT_EQ(never.status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(never.reason, OCSP_REVOKED_STATUS_CERTIFICATEHOLD);
  EXPECT_TRUE(never.extended_revoke);
  EXPECT_TRUE(never.signature_ok);

  // Another issuer: unknown.
  ca::X509Ptr foreign = w.Make(w.other, "foreign");
  EXPECT_EQ(Ask(w, foreign.get(), w.other.certificate()).status, V_OCSP_CERTSTATUS_UNKNOWN);

  // Nonce: echoed, signed on demand.
  Status1 n = Ask(w, w.certs[2].get(), issuer, EVP_sha1(), true);
  EXPECT_TRUE(n.nonce_ok);
  EXPECT_EQ(n.status, V_OCSP_CERTSTATUS_GOOD);

  // Hold, then release.
  auto hold = w.ForSerial(w.certs[3].get(), 0);
  hold.hold = true;
  ASSERT_TRUE(w.va->Revoke(hold).ok());
  Status1 held = Ask(w, w.certs[3].get(), issuer);
  EXPECT_EQ(held.status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(held.reason, OCSP_REVOKED_STATUS_CERTIFICATEHOLD);
  auto release = w.ForSerial(w.certs[3].get(), 0);
  release.release = true;
  ASSERT_TRUE(w.va->Revoke(release).ok());
  EXPECT_EQ(Ask(w, w.certs[3].get(), issuer).status, V_OCSP_CERTSTATUS_GOOD);

  // Garbage: malformedRequest.
  OcspAnswer bad = w.va->ocsp().Respond(AsBytes(std::string_view("not an OCSP request")));
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bad.der.data());
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(bad.der.size())));
  ASSERT_TRUE(resp);
  EXPECT_EQ(OCSP_response_status(resp.get()), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
}

// A factory log that somehow holds events outside its authority (stored
// before the sync checked them, or by hand) changes no OCSP answer and no
// CRL: its own "revocation" is not projected, and a certificate it claims
// under a batch HQ never authorized is answered as never issued.
TEST(ValidationTest, EventsOutsideAFactorysAuthorityChangeNoAnswer) {
  World w;
  w.Issue(3);
  ASSERT_TRUE(w.va->Refresh().ok());
  X509* issuer = w.issuing.certificate();
  ASSERT_EQ(Ask(w, w.certs[0].get(), issuer).status, V_OCSP_CERTSTATUS_GOOD);
  std::vector<log::EventDraft> drafts;
  {  // the factory "revokes" its own certificate
    log::EventDraft d;
    auto c = d.event().getKind().initCertificateRevoked();
    Bytes serial = ca::SerialBytes(w.certs[0].get());
    c.setCaId(capnp::Data::Reader(w.issuing.ca_id().data(), w.issuing.ca_id().size()));
    c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
    c.setReason(log::schema::RevocationReason::KEY_COMPROMISE);
    drafts.push_back(std::move(d));
  }
  {  // and "publishes" a CRL number far ahead
    log::EventDraft d;
    auto c = d.event().getKind().initCrlPublished();
    c.setCaId(capnp::Data::Reader(w.issuing.ca_id().data(), w.issuing.ca_id().size()));
    c.setCrlNumber(1u << 30);
    drafts.push_back(std::move(d));
  }
  ca::X509Ptr unauthorized = w.Make(w.issuing, "rogue");
  {  // and claims a certificate in a batch HQ never authorized for it
    log::EventDraft d;
    auto c = d.event().getKind().initCertificateIssued();
    Bytes serial = ca::SerialBytes(unauthorized.get());
    c.setCaId(capnp::Data::Reader(w.issuing.ca_id().data(), w.issuing.ca_id().size()));
    c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
    c.setBatchId("NEVER-AUTHORIZED");
    drafts.push_back(std::move(d));
  }
  ASSERT_TRUE(w.factory.log->Append(std::move(drafts)).ok());
  ASSERT_TRUE(w.va->Refresh().ok());
  EXPECT_EQ(Ask(w, w.certs[0].get(), issuer).status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(Ask(w, unauthorized.get(), issuer).status, V_OCSP_CERTSTATUS_REVOKED);  // never issued, per HQ
  auto crl = w.va->PublishCrl("f1", false);
  ASSERT_TRUE(crl.ok()) << crl.status();
  EXPECT_EQ(crl->number, 1u);  // not 2^30 + 1
  EXPECT_EQ(crl->entries, 0u);
}

// Two served issuers: each delegated responder speaks for its own CA only,
// so a request naming both is refused ("unauthorized") and each alone is
// answered; the second issuer answers "unknown" for serials HQ has not seen
// issued (its factory's choice), the first "revoked".
TEST(ValidationTest, MixedIssuerRequestsAreRefusedAndUnseenSerialsFollowTheIssuersChoice) {
  World w;
  w.Open(/*serve_other=*/true);
  w.Issue(2);
  ASSERT_TRUE(w.va->Refresh().ok());
  ca::X509Ptr unseen = w.Make(w.other, "not-yet-synced");
  EXPECT_EQ(Ask(w, w.certs[0].get(), w.issuing.certificate()).status, V_OCSP_CERTSTATUS_GOOD);
  Status1 u = Ask(w, unseen.get(), w.other.certificate());
  EXPECT_EQ(u.status, V_OCSP_CERTSTATUS_UNKNOWN);
  EXPECT_TRUE(u.signature_ok);  // by f2's own responder
  EXPECT_FALSE(u.extended_revoke);
  ca::X509Ptr forged = w.Make(w.issuing, "forged");
  EXPECT_EQ(Ask(w, forged.get(), w.issuing.certificate()).status, V_OCSP_CERTSTATUS_REVOKED);

  OcspRequestPtr req(OCSP_REQUEST_new());
  ASSERT_NE(OCSP_request_add0_id(req.get(), OCSP_cert_to_id(EVP_sha1(), w.certs[0].get(), w.issuing.certificate())), nullptr);
  ASSERT_NE(OCSP_request_add0_id(req.get(), OCSP_cert_to_id(EVP_sha1(), unseen.get(), w.other.certificate())), nullptr);
  OcspAnswer a;
  OcspResponsePtr resp = Exchange(w, req.get(), &a);
  ASSERT_TRUE(resp);
  EXPECT_EQ(OCSP_response_status(resp.get()), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  EXPECT_FALSE(a.successful);
}

TEST(ValidationTest, RevocationRules) {
  World w;
  w.Issue(3);
  ca::X509Ptr forged = w.Make(w.issuing, "forged");
  EXPECT_EQ(w.va->Revoke(w.ForSerial(forged.get())).status().code(), StatusCode::kNotFound);
  auto release = w.ForSerial(w.certs[0].get(), 0);
  release.release = true;
  EXPECT_EQ(w.va->Revoke(release).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(w.va->Revoke(w.ForSerial(w.certs[0].get(), 4)).ok());
  EXPECT_EQ(w.va->Revoke(release).status().code(), StatusCode::kFailedPrecondition);  // final
  EXPECT_EQ(w.va->Revoke(w.ForSerial(w.certs[0].get(), 1)).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.va->Revoke(w.ForSerial(w.certs[1].get(), 8)).status().code(),
            StatusCode::kInvalidArgument);
  // A whole batch: the two not yet revoked.
  w.Issue(2, "B2");
  engine::RevocationRequest batch;
  batch.batch_id = "B1";
  batch.factory_origin = "factory.example/log";
  batch.reason = 1;
  auto r = w.va->Revoke(batch);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revoked, 2u);
  EXPECT_EQ(r->skipped, 1u);
  EXPECT_EQ(Ask(w, w.certs[3].get(), w.issuing.certificate()).status, V_OCSP_CERTSTATUS_GOOD);
}

// A recall of part of a batch: a list of serials, checked whole first (an
// unknown serial refuses it all and nothing changes), already revoked ones
// skipped, one event per serial in one commit; OCSP answers at once.
TEST(ValidationTest, ASerialListIsRevokedWholeOrNotAtAll) {
  World w;
  w.Issue(5);
  ASSERT_TRUE(w.va->Revoke(w.ForSerial(w.certs[0].get(), 1)).ok());
  auto hex = [](X509* c) { return HexEncode(ca::SerialBytes(c)); };
  const uint64_t before = w.hq.log->Size();
  const uint64_t groups_before = w.hq.log->CommittedGroups();
  ca::X509Ptr forged = w.Make(w.issuing, "forged");
  std::string text = "# recall\n" + hex(w.certs[1].get()) + "\n" + hex(forged.get()) + "\n";
  engine::RevocationRequest bad;
  bad.serials = *engine::ParseSerialList(text);
  bad.reason = 1;
  EXPECT_EQ(w.va->Revoke(bad).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(w.hq.log->Size(), before) << "nothing revoked from a list with an unknown serial";
  EXPECT_EQ(Ask(w, w.certs[1].get(), w.issuing.certificate()).status, V_OCSP_CERTSTATUS_GOOD);

  text = "serial=" + hex(w.certs[0].get()) + "\n\n  " + hex(w.certs[1].get()) + "  # line 3\n" + hex(w.certs[2].get()) +
         "\n" + hex(w.certs[2].get()) + "\n";
  engine::RevocationRequest list;
  list.serials = *engine::ParseSerialList(text);
  ASSERT_EQ(list.serials.size(), 3u) << "a serial listed twice is one";
  list.reason = 3;
  auto r = w.va->Revoke(list);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revoked, 2u);
  EXPECT_EQ(r->skipped, 1u);
  EXPECT_EQ(w.hq.log->Size(), before + 2);
  EXPECT_EQ(w.hq.log->CommittedGroups(), groups_before + 1) << "one commit for the list";
  EXPECT_EQ(Ask(w, w.certs[1].get(), w.issuing.certificate()).status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(Ask(w, w.certs[2].get(), w.issuing.certificate()).status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(Ask(w, w.certs[3].get(), w.issuing.certificate()).status, V_OCSP_CERTSTATUS_GOOD);
}

TEST(SerialListTest, ParsesHexColonsCommentsAndRefusesByLine) {
  auto l = engine::ParseSerialList("0A:1b\n# x\n\n00ff  \nserial=7\n");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ(HexEncode((*l)[0]), "0a1b");
  EXPECT_EQ(HexEncode((*l)[1]), "ff");
  EXPECT_EQ(HexEncode((*l)[2]), "07");
  auto bad = engine::ParseSerialList("0a\nzz\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos) << bad.status();
  EXPECT_FALSE(engine::ParseSerialList("# nothing\n").ok());
  EXPECT_FALSE(engine::ParseSerialList(std::string(42, 'a')).ok()) << "21 bytes is no serial";
}

// ReferenceTbs builds the same CRL with OpenSSL's X509_CRL API (an
// X509_REVOKED per entry, X509_CRL_sort, X509_CRL_sign) and returns its
// TBSCertList.
std::string ReferenceTbs(X509* issuer, EVP_PKEY* key, const CrlSpec& spec,
                         const std::vector<CrlEntry>& entries) {
  auto shell = BuildCrlShell(issuer, key, spec);
  EXPECT_TRUE(shell.ok());
  X509_CRL* crl = shell->get();
  for (const CrlEntry& e : entries) {
    X509_REVOKED* r = X509_REVOKED_new();
    ca::BignumPtr bn(BN_bin2bn(e.serial.data(), e.serial_len, nullptr));
    ca::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    ca::Asn1TimePtr when(ASN1_TIME_set(nullptr, static_cast<time_t>(e.revocation_time)));
    X509_REVOKED_set_serialNumber(r, serial.get());
    X509_REVOKED_set_revocationDate(r, when.get());
    if (e.reason != 0) {
      ASN1_ENUMERATED* reason = ASN1_ENUMERATED_new();
      ASN1_ENUMERATED_set(reason, e.reason);
      X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0);
      ASN1_ENUMERATED_free(reason);
    }
    if (e.invalidity_date != 0) {
      ASN1_GENERALIZEDTIME* t = ASN1_GENERALIZEDTIME_set(nullptr, static_cast<time_t>(e.invalidity_date));
      X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, t, 0, 0);
      ASN1_GENERALIZEDTIME_free(t);
    }
    X509_CRL_add0_revoked(crl, r);
  }
  X509_CRL_sort(crl);
  EXPECT_GT(X509_CRL_sign(crl, key, EVP_sha256()), 0);
  std::string tbs(static_cast<size_t>(i2d_re_X509_CRL_tbs(crl, nullptr)), '\0');
  auto* p = reinterpret_cast<unsigned char*>(tbs.data());
  i2d_re_X509_CRL_tbs(crl, &p);
  return tbs;
}

// RawTbs returns the TBSCertList bytes of a DER CRL as they were signed.
std::string RawTbs(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  long len = 0;
  int tag = 0, xclass = 0;
  ASN1_get_object(&p, &len, &tag, &xclass, static_cast<long>(der.size()));
  const unsigned char* tbs = p;
  ASN1_get_object(&p, &len, &tag, &xclass, static_cast<long>(der.size()) - (p - reinterpret_cast<const unsigned char*>(der.data())));
  return std::string(reinterpret_cast<const char*>(tbs), static_cast<size_t>(p + len - tbs));
}

// The streaming builder writes exactly what OpenSSL's X509_CRL API writes,
// for serials of every length (high bit set or not), every reason code,
// invalidity dates, and revocation dates on both sides of 2050 (UTCTime /
// GeneralizedTime); the signature verifies with the issuer's key.
TEST(CrlBuilderTest, EqualsOpenSslX509CrlApi) {
  ca::IssuingCa issuing = ca::testing::MakeTestCa();
  std::mt19937_64 rng(11);
  const uint8_t reasons[] = {0, 1, 2, 3, 4, 5, 6, 8, 9, 10};
  for (size_t n : {size_t{0}, size_t{1}, size_t{777}}) {
    std::vector<CrlEntry> entries;
    while (entries.size() < n) {
      uint8_t raw[20];
      const size_t len = 1 + rng() % 20;
      for (size_t i = 0; i < len; ++i) raw[i] = static_cast<uint8_t>(rng());
      CrlEntry e;
      if (!e.SetSerial(ByteSpan(raw, len))) continue;  // all zero
      e.reason = reasons[rng() % std::size(reasons)];
      e.revocation_time = 1'700'000'000 + static_cast<int64_t>(rng() % 1'200'000'000);
      if (rng() % 3 == 0) e.invalidity_date = e.revocation_time - 86400;
      entries.push_back(e);
    }
    CrlSpec spec{.number = 41, .this_update = 1'790'000'000, .next_update = 1'790'086'400,
                 .delta_base = n == 1 ? std::optional<uint64_t>(40) : std::nullopt,
                 .distribution_point = "http://127.0.0.1:1/crl/f1.crl",
                 .freshest_crl = n == 777 ? "http://127.0.0.1:1/crl/f1-delta.crl" : ""};
    auto der = BuildCrl(issuing.certificate(), issuing.key(), spec, entries, 2);
    ASSERT_TRUE(der.ok()) << der.status();
    EXPECT_EQ(RawTbs(*der), ReferenceTbs(issuing.certificate(), issuing.key(), spec, entries)) << n;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
    CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der->size())));
    ASSERT_TRUE(crl);
    EXPECT_EQ(p, reinterpret_cast<const unsigned char*>(der->data()) + der->size());
    EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(issuing.certificate())), 1);
    EXPECT_EQ(std::max(0, sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get()))), static_cast<int>(n));
  }
  CrlEntry bad;
  EXPECT_FALSE(bad.SetSerial(Bytes{0, 0}));
  EXPECT_EQ(BuildCrl(issuing.certificate(), issuing.key(), {}, std::vector<CrlEntry>{bad}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ValidationTest, CrlsFullAndDeltaNumbersOnlyGrow) {
  World w;
  w.Issue(6);
  ASSERT_TRUE(w.va->Revoke(w.ForSerial(w.certs[0].get(), 1)).ok());
  auto full = w.va->LatestCrl("f1", false);  // none yet: publishes CRL 1
  ASSERT_TRUE(full.ok()) << full.status();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(full->der.data());
  CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(full->der.size())));
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(w.issuing.certificate())), 1);
  X509_REVOKED* entry = nullptr;
  ca::Asn1IntegerPtr serial0(X509_get_serialNumber(w.certs[0].get()) ? ASN1_INTEGER_dup(X509_get_serialNumber(w.certs[0].get())) : nullptr);
  EXPECT_EQ(X509_CRL_get0_by_serial(crl.get(), &entry, serial0.get()), 1);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 1);
  EXPECT_GE(X509_CRL_get_ext_by_NID(crl.get(), NID_issuing_distribution_point, -1), 0);
  const uint64_t first = full->number;

  // A delta after another revocation lists only it, against the base.
  auto hold = w.ForSerial(w.certs[1].get(), 0);
  hold.hold = true;
  ASSERT_TRUE(w.va->Revoke(hold).ok());
  ASSERT_TRUE(w.va->Revoke(w.ForSerial(w.certs[2].get(), 5)).ok());
  auto delta = w.va->PublishCrl("f1", true);
  ASSERT_TRUE(delta.ok()) << delta.status();
  EXPECT_GT(delta->number, first);
  p = reinterpret_cast<const unsigned char*>(delta->der.data());
  CrlPtr d(d2i_X509_CRL(nullptr, &p, static_cast<long>(delta->der.size())));
  ASSERT_TRUE(d);
  EXPECT_GE(X509_CRL_get_ext_by_NID(d.get(), NID_delta_crl, -1), 0);
  EXPECT_EQ(X509_CRL_verify(d.get(), X509_get0_pubkey(w.issuing.certificate())), 1);

  // Restart (a new VA on the same store): numbers continue.
  w.Open();
  auto next = w.va->PublishCrl("f1", false);
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->number, delta->number);
}

TEST(ValidationTest, RebuiltProjectionEqualsLive) {
  World w;
  std::mt19937_64 rng(5);
  w.Issue(60);
  for (int i = 0; i < 120; ++i) {
    X509* c = w.certs[rng() % w.certs.size()].get();
    auto r = w.ForSerial(c, 1 + static_cast<int>(rng() % 5));
    switch (rng() % 4) {
      case 0: r.hold = true; break;
      case 1: r.release = true; break;
      default: break;
    }
    (void)w.va->Revoke(r);  // some are refused by the rules: fine
    if (i % 30 == 0) w.Issue(5);
  }
  ASSERT_TRUE(w.va->Refresh().ok());
  std::vector<std::optional<engine::CertRecord>> live;
  for (auto& c : w.certs) live.push_back(*w.va->status().Get(w.issuing.ca_id(), ca::SerialBytes(c.get())));
  // The batch ledger counts what the records say.
  auto tallies = w.va->status().Tallies();
  ASSERT_TRUE(tallies.ok());
  uint64_t revoked = 0, held = 0;
  for (const auto& r : live) {
    revoked += r->state == engine::CertState::kRevoked;
    held += r->state == engine::CertState::kHold;
  }
  ASSERT_EQ(tallies->size(), 1u);
  EXPECT_EQ((*tallies)[0].batch_id, "B1");
  EXPECT_EQ((*tallies)[0].factory_origin, "factory.example/log");
  EXPECT_EQ((*tallies)[0].tally.issued, w.certs.size());
  EXPECT_EQ((*tallies)[0].tally.revoked, revoked);
  EXPECT_EQ((*tallies)[0].tally.held, held);
  EXPECT_GT(revoked, 0u);
  EXPECT_GT(held, 0u);
  // Rebuilt from zero in the other order (HQ's log first, revocations
  // before the issuances they refer to): the same state.
  ASSERT_TRUE(w.va->status().Clear().ok());
  ASSERT_TRUE(w.va->status().CatchUp(*w.hq.log, w.authority).ok());
  ASSERT_TRUE(w.va->Refresh().ok());
  for (size_t i = 0; i < w.certs.size(); ++i) {
    EXPECT_EQ(*w.va->status().Get(w.issuing.ca_id(), ca::SerialBytes(w.certs[i].get())), live[i]) << i;
  }
  auto rebuilt = w.va->status().Tallies();
  ASSERT_TRUE(rebuilt.ok());
  ASSERT_EQ(rebuilt->size(), tallies->size());
  for (size_t i = 0; i < tallies->size(); ++i) {
    EXPECT_EQ((*rebuilt)[i].factory_origin, (*tallies)[i].factory_origin);
    EXPECT_EQ((*rebuilt)[i].batch_id, (*tallies)[i].batch_id);
    EXPECT_EQ((*rebuilt)[i].tally, (*tallies)[i].tally);
  }
}

// The running VA renews its delegated responder before it expires,
// publishes a first (empty) full CRL on schedule, gathers revocations into
// one delta CRL a few seconds later (debounced), and re-publishes a full CRL
// once half of the last one's validity has passed.
TEST(ValidationTest, MaintainRenewsResponderAndCrl) {
  World w;
  w.Issue(5);
  EXPECT_EQ(w.va->PublishedCrl("f1", false).status().code(), StatusCode::kUnavailable);  // none yet
  ASSERT_TRUE(w.va->Maintain().ok());  // a CA without a CRL gets one: relying parties need it
  auto full = w.va->PublishedCrl("f1", false);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->entries, 0u);
  EXPECT_EQ(w.va->status().Crl(w.issuing.ca_id()).last_number, full->number);
  ASSERT_TRUE(w.va->Revoke(w.ForSerial(w.certs[0].get(), 1)).ok());
  ASSERT_TRUE(w.va->Maintain().ok());  // seen, not yet debounced
  EXPECT_EQ(w.va->status().Crl(w.issuing.ca_id()).last_number, full->number);
  ASSERT_TRUE(w.va->Revoke(w.ForSerial(w.certs[1].get(), 1)).ok());
  w.clock.shift = 3 * int64_t{1000000};
  ASSERT_TRUE(w.va->Maintain().ok());  // one delta carries both
  auto delta = w.va->PublishedCrl("f1", true);
  ASSERT_TRUE(delta.ok()) << delta.status();
  EXPECT_EQ(delta->entries, 2u);
  EXPECT_EQ(delta->base, full->number);
  // The next revocations travel in the next delta (every change since the base).
  ASSERT_TRUE(w.va->Revoke(w.ForSerial(w.certs[2].get(), 1)).ok());
  ASSERT_TRUE(w.va->Revoke(w.ForSerial(w.certs[3].get(), 4)).ok());
  ASSERT_TRUE(w.va->Maintain().ok());
  w.clock.shift = 6 * int64_t{1000000};
  ASSERT_TRUE(w.va->Maintain().ok());
  delta = w.va->PublishedCrl("f1", true);
  ASSERT_TRUE(delta.ok());
  EXPECT_EQ(delta->entries, 4u);
  EXPECT_EQ(delta->base, full->number);
  EXPECT_EQ(w.va->status().Crl(w.issuing.ca_id()).last_number, delta->number);
  ASSERT_TRUE(w.va->Maintain().ok());  // nothing new: nothing published
  EXPECT_EQ(w.va->status().Crl(w.issuing.ca_id()).last_number, delta->number);
  const uint64_t first = w.va->status().Crl(w.issuing.ca_id()).last_number;
  auto responder_serial = [&] {
    auto pem = Env::Default()->ReadFile(w.dir.path() + "/f1/ocsp-responder.pem", 1 << 20);
    return HexEncode(ca::SerialBytes(ca::ParseCertificate(*pem)->get()));
  };
  const std::string before = responder_serial();
  ASSERT_TRUE(w.va->Maintain().ok());
  EXPECT_EQ(responder_serial(), before);
  // 13 hours later: the 24-hour CRL is half used. 25 days: the 30-day responder.
  w.clock.shift = int64_t{13} * 3600 * 1000000;
  ASSERT_TRUE(w.va->Maintain().ok());
  EXPECT_GT(w.va->status().Crl(w.issuing.ca_id()).last_number, first);
  w.clock.shift = int64_t{25} * 86400 * 1000000;
  ASSERT_TRUE(w.va->Maintain().ok());
  EXPECT_NE(responder_serial(), before);
  Status1 s = Ask(w, w.certs[4].get(), w.issuing.certificate());  // signed by the new one
  EXPECT_EQ(s.status, V_OCSP_CERTSTATUS_GOOD);
  // Both responder certificates are certificateIssued events in HQ's log,
  // each once: every certificate a CA key signs is in a log.
  std::map<std::string, int> logged;
  ASSERT_TRUE(w.hq.log->ForEach(0, w.hq.log->Size(), [&](uint64_t, std::string_view b) -> Status {
                  auto e = log::ParsedEvent::Parse(AsBytes(b));
                  if (!e.ok()) return e.status();
                  auto k = e->event().getKind();
                  if (k.isCertificateIssued() && std::string(k.getCertificateIssued().getProfile().cStr()) == "ocsp-responder") {
                    logged[HexEncode(ByteSpan(k.getCertificateIssued().getSerial().begin(),
                                              k.getCertificateIssued().getSerial().size()))]++;
                  }
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[before], 1);
  EXPECT_EQ(logged[responder_serial()], 1);
  const uint64_t hq_size = w.hq.log->Size();
  const uint64_t served = w.va->PublishedCrl("f1", false)->number;
  w.Open();  // a restart logs nothing again, and serves the CRL published before it
  EXPECT_EQ(w.hq.log->Size(), hq_size);
  EXPECT_EQ(Ask(w, w.certs[4].get(), w.issuing.certificate()).status, V_OCSP_CERTSTATUS_GOOD);
  auto after = w.va->PublishedCrl("f1", false);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->number, served);
  EXPECT_EQ(w.hq.log->Size(), hq_size);
}

// RequestDer: an OCSP request for `serial` of `issuer` (SHA-1 CertID), with
// `pad` bytes of an unknown request extension.
std::string RequestDer(X509* issuer, uint64_t serial, size_t pad = 0) {
  ca::Asn1IntegerPtr sn(ASN1_INTEGER_new());
  ASN1_INTEGER_set_uint64(sn.get(), serial);
  OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
                                     X509_get0_pubkey_bitstr(issuer), sn.get());
  OcspRequestPtr req(OCSP_REQUEST_new());
  OCSP_request_add0_id(req.get(), id);
  if (pad > 0) {
    ca::Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(std::string(pad, 'p').data()),
                          static_cast<int>(pad));
    ca::Asn1ObjectPtr oid(OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get());
    OCSP_REQUEST_add_ext(req.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_REQUEST(req.get(), &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// The pre-signed answers stay within their byte budget whatever is asked:
// thousands of distinct serials, padded requests (never stored), and a hot
// set that keeps being answered from memory while one-off requests pass.
TEST(ValidationTest, OcspCacheStaysWithinItsBudget) {
  World w;
  w.ocsp_options.max_cache_bytes = 256 << 10;
  w.ocsp_options.on_demand_signatures_per_second = 0;  // this test is about memory: sign all it asks
  w.Open();
  OcspResponder& r = w.va->ocsp();
  X509* issuer = w.issuing.certificate();
  for (uint64_t i = 1; i <= 3000; ++i) {
    OcspAnswer a = r.Respond(AsBytes(RequestDer(issuer, 1000000 + i)));
    ASSERT_TRUE(a.successful);
    ASSERT_LE(r.cache_bytes(), size_t{256} << 10) << "after " << i << " requests";
  }
  EXPECT_GT(r.cache_entries(), 100u);  // it does cache
  const size_t entries = r.cache_entries(), bytes = r.cache_bytes();
  for (uint64_t i = 1; i <= 20; ++i) {  // 60 KB of extension each: answered, not stored
    EXPECT_TRUE(r.Respond(AsBytes(RequestDer(issuer, 5000000 + i, 60000))).successful);
  }
  EXPECT_EQ(r.cache_entries(), entries);
  EXPECT_EQ(r.cache_bytes(), bytes);
  // A realistic mix: 20 hot serials asked 50 times each, among 1,000 one-off serials.
  const uint64_t hits_before = r.cache_hits(), signed_before = r.signed_count();
  uint64_t one_off = 9000000;
  for (int round = 0; round < 50; ++round) {
    for (uint64_t h = 1; h <= 20; ++h) ASSERT_TRUE(r.Respond(AsBytes(RequestDer(issuer, 7000000 + h))).successful);
    for (int k = 0; k < 20; ++k) ASSERT_TRUE(r.Respond(AsBytes(RequestDer(issuer, ++one_off))).successful);
  }
  const uint64_t hot_hits = r.cache_hits() - hits_before;
  EXPECT_GE(hot_hits, 20u * 49u * 9 / 10) << "the hot set is signed again and again";
  EXPECT_LE(r.signed_count() - signed_before, 1000u + 20u * 5);
  EXPECT_LE(r.cache_bytes(), size_t{256} << 10);
}

// A responder key file anyone can read is refused by name, as every other
// key file is — never silently replaced by a new responder.
// Every issued serial's answer is signed ahead of time and kept in the
// store: SHA-1 and SHA-256 CertIDs are answered by one stored response
// without a signature; a revocation is re-signed before Revoke returns; a
// restart (a new VA on the same store) answers its first requests without
// signing; a refresh comes between half and three quarters of the validity.
TEST(ValidationTest, PresignedAnswersAreServedWithoutASignature) {
  World w;
  w.Issue(40);
  ASSERT_TRUE(w.va->Refresh().ok());
  auto step = w.va->PresignStep(std::chrono::seconds(30));
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, 41u) << "40 devices and the responder's own certificate (in HQ's log)";
  X509* issuer = w.issuing.certificate();
  const uint64_t on_demand = w.va->ocsp().signed_count();
  for (size_t i = 0; i < w.certs.size(); ++i) {
    for (const EVP_MD* md : {EVP_sha1(), EVP_sha256()}) {
      Status1 s = Ask(w, w.certs[i].get(), issuer, md);
      ASSERT_EQ(s.status, V_OCSP_CERTSTATUS_GOOD) << i;
      ASSERT_TRUE(s.signature_ok) << i;
    }
  }
  EXPECT_EQ(w.va->ocsp().signed_count(), on_demand) << "served by lookup, no signature";
  EXPECT_GE(w.va->ocsp().store_hits(), 40u);
  // A revocation: the stored answer says so as soon as Revoke returns.
  ASSERT_TRUE(w.va->Revoke(w.ForSerial(w.certs[3].get(), 1)).ok());
  Status1 revoked = Ask(w, w.certs[3].get(), issuer, EVP_sha256());
  EXPECT_EQ(revoked.status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(revoked.reason, 1);
  EXPECT_EQ(w.va->ocsp().signed_count(), on_demand);
  // A restart: the first request for any serial is served without a signature.
  w.Open();
  for (size_t i : {size_t{0}, size_t{3}, size_t{39}}) {
    Status1 s = Ask(w, w.certs[i].get(), issuer);
    EXPECT_EQ(s.status, i == 3 ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD);
    EXPECT_TRUE(s.signature_ok);
  }
  EXPECT_EQ(w.va->ocsp().signed_count(), 0u) << "nothing signed after the restart";
  // Refresh: nothing is due before half the validity; everything is by three quarters.
  const int64_t validity = w.ocsp_options.validity_seconds;
  w.clock.shift = (validity / 2 - 60) * 1000000;
  EXPECT_EQ(*w.va->PresignStep(std::chrono::seconds(30)), 0u);
  w.clock.shift = (validity * 3 / 4 + 60) * 1000000;
  EXPECT_EQ(*w.va->PresignStep(std::chrono::seconds(30)), 41u);
}

// A CertID whose serial is the negative of an issued one names no
// certificate: it is never answered with the issued serial's status (the
// lookups key serials by magnitude).
TEST(ValidationTest, ANegativeSerialIsNeverTakenForItsMagnitude) {
  World w;
  w.ocsp_options.on_demand_signatures_per_second = 0;  // sign what it must
  w.Open();
  w.Issue(3);
  ASSERT_TRUE(w.va->Refresh().ok());
  ASSERT_TRUE(w.va->PresignStep(std::chrono::seconds(30)).ok());
  X509* issuer = w.issuing.certificate();
  ASSERT_EQ(Ask(w, w.certs[0].get(), issuer).status, V_OCSP_CERTSTATUS_GOOD);
  ca::Asn1IntegerPtr negative(ASN1_INTEGER_dup(X509_get0_serialNumber(w.certs[0].get())));
  negative->type = V_ASN1_NEG_INTEGER;
  OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer),
                                     negative.get());
  ca::OpenSslPtr<OCSP_CERTID, OCSP_CERTID_free> id_copy(OCSP_CERTID_dup(id));
  OcspRequestPtr req(OCSP_REQUEST_new());
  ASSERT_NE(OCSP_request_add0_id(req.get(), id), nullptr);
  OcspAnswer a;
  OcspResponsePtr resp = Exchange(w, req.get(), &a);
  ASSERT_TRUE(resp);
  ASSERT_EQ(OCSP_response_status(resp.get()), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  OcspBasicPtr bs(OCSP_response_get1_basic(resp.get()));
  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *rev = nullptr, *this_update = nullptr, *next_update = nullptr;
  ASSERT_EQ(OCSP_resp_find_status(bs.get(), id_copy.get(), &status, &reason, &rev, &this_update, &next_update), 1);
  EXPECT_NE(status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_NE(a.outcome, OcspOutcome::kGood);
}

// A night's sync of thousands of issuances, projected while the pre-signer
// works in short steps: every one is signed ahead (the journal is read in
// order and resumed after what was done, never skipping what a later
// CatchUp journaled), and a restart finds nothing left to sign. (The
// signing threads once lost one answer in a thousand to a vector<bool>
// race; a race shows here only by luck, under TSan surely.)
TEST(ValidationTest, EveryIssuanceOfALargeSyncIsSignedAhead) {
  World w;
  w.Issue(1);  // authorizes B1
  constexpr uint64_t kFleet = 6000, kFirst = 0x10000000;  // four-byte serials
  auto append = [&](uint64_t from, uint64_t to) {
    std::vector<log::EventDraft> drafts;
    for (uint64_t i = from; i < to; ++i) {
      log::EventDraft d;
      auto c = d.event().getKind().initCertificateIssued();
      Bytes serial;
      for (int shift = 24; shift >= 0; shift -= 8) serial.push_back(static_cast<uint8_t>(i >> shift));
      c.setCaId(capnp::Data::Reader(w.issuing.ca_id().data(), w.issuing.ca_id().size()));
      c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
      c.setBatchId("B1");
      c.setDeviceSerial("fleet" + std::to_string(i));
      c.setNotAfter((ca::testing::NowSeconds() + 86400 * 365) * 1000000);
      drafts.push_back(std::move(d));
    }
    ASSERT_TRUE(w.factory.log->Append(std::move(drafts)).ok());
  };
  size_t signed_ahead = 0;
  for (uint64_t at = kFirst; at < kFirst + kFleet; at += 500) {
    append(at, at + 500);
    ASSERT_TRUE(w.va->Refresh().ok());
    Result<size_t> n = w.va->PresignStep(std::chrono::milliseconds(5));
    ASSERT_TRUE(n.ok()) << n.status();
    signed_ahead += *n;
  }
  for (int step = 0; step < 100; ++step) {
    Result<size_t> n = w.va->PresignStep(std::chrono::milliseconds(50));  // many short steps
    ASSERT_TRUE(n.ok()) << n.status();
    signed_ahead += *n;
    if (*n == 0) break;
  }
  EXPECT_EQ(signed_ahead, kFleet + 2) << "the fleet, the first device and the responder";
  EXPECT_TRUE(w.va->presign_caught_up());
  OcspResponder& r = w.va->ocsp();
  X509* issuer = w.issuing.certificate();
  for (uint64_t i = kFirst; i < kFirst + kFleet; ++i) {
    OcspAnswer a = r.Respond(AsBytes(RequestDer(issuer, i)));
    ASSERT_EQ(a.outcome, OcspOutcome::kGood) << i;
  }
  EXPECT_EQ(r.signed_count(), 0u) << "every answer was stored";
  EXPECT_EQ(r.store_hits(), kFleet);
  // More issuances later: only they are signed.
  append(kFirst + kFleet, kFirst + kFleet + 100);
  ASSERT_TRUE(w.va->Refresh().ok());
  EXPECT_EQ(*w.va->PresignStep(std::chrono::seconds(30)), 100u);
  // A restart: the journal is empty, nothing is signed again.
  w.Open();
  EXPECT_EQ(*w.va->PresignStep(std::chrono::seconds(30)), 0u);
  EXPECT_TRUE(w.va->presign_caught_up());
}

// On-demand signatures (a nonce echoed, a serial no log issued) stay within
// their budget however many random serials are asked; beyond it a nonce
// request gets the pre-signed answer and the rest `tryLater`.
TEST(ValidationTest, RandomSerialsCannotMakeItSignBeyondItsBudget) {
  World w;
  w.ocsp_options.on_demand_signatures_per_second = 50;
  w.Open();
  w.Issue(3);
  ASSERT_TRUE(w.va->Refresh().ok());
  ASSERT_TRUE(w.va->PresignStep(std::chrono::seconds(30)).ok());
  OcspResponder& r = w.va->ocsp();
  X509* issuer = w.issuing.certificate();
  int try_later = 0;
  for (uint64_t i = 1; i <= 500; ++i) {
    OcspAnswer a = r.Respond(AsBytes(RequestDer(issuer, 3000000 + i)));
    const unsigned char* p = reinterpret_cast<const unsigned char*>(a.der.data());
    OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(a.der.size())));
    ASSERT_TRUE(resp);
    if (OCSP_response_status(resp.get()) == OCSP_RESPONSE_STATUS_TRYLATER) ++try_later;
  }
  EXPECT_LE(r.signed_count(), 60u) << "a burst of at most the budget, and what refilled meanwhile";
  EXPECT_GE(try_later, 400);
  // The issued ones are still answered (pre-signed), a nonce request too.
  Status1 s = Ask(w, w.certs[1].get(), issuer, EVP_sha1(), /*nonce=*/true);
  EXPECT_EQ(s.status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_TRUE(s.signature_ok);
}

TEST(ValidationTest, AWorldReadableResponderKeyIsRefusedNotReplaced) {
  World w;
  const std::string key = w.dir.path() + "/f1/ocsp-responder.key";
  auto before = Env::Default()->ReadFile(key, 1 << 20);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(chmod(key.c_str(), 0644), 0);
  w.va.reset();
  VaOptions o;
  o.env = &w.clock;
  o.authority = &w.authority;
  auto v = ValidationAuthority::Open(w.hq.log.get(), {w.factory.log.get(), w.hq.log.get()},
                                     {{"f1", w.dir.path() + "/f1", "http://va.example/crl/f1.crl"}}, o);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("ocsp-responder.key"), std::string::npos) << v.status();
  EXPECT_NE(v.status().message().find("chmod 600"), std::string::npos) << v.status();
  EXPECT_EQ(*Env::Default()->ReadFile(key, 1 << 20), *before);  // untouched
  ASSERT_EQ(chmod(key.c_str(), 0600), 0);
  w.Open();
  EXPECT_EQ(*Env::Default()->ReadFile(key, 1 << 20), *before);  // the same responder again
}

// RemoteResponderCertificates: the responder keys of the certificates HQ's
// log records for `device_serial`, by serial (hex).
std::map<std::string, std::string> LoggedResponders(World& w, const std::string& device_serial) {
  std::map<std::string, std::string> out;
  EXPECT_TRUE(w.hq.log->ForEach(0, w.hq.log->Size(), [&](uint64_t, std::string_view b) -> Status {
                  auto e = log::ParsedEvent::Parse(AsBytes(b));
                  if (!e.ok()) return e.status();
                  auto k = e->event().getKind();
                  if (!k.isCertificateIssued() ||
                      std::string(k.getCertificateIssued().getDeviceSerial().cStr()) != device_serial) {
                    return Status::Ok();
                  }
                  auto der = k.getCertificateIssued().getCertificate();
                  auto cert = ca::ParseCertificate(std::string_view(reinterpret_cast<const char*>(der.begin()), der.size()));
                  if (!cert.ok()) return cert.status();
                  EXPECT_EQ(X509_check_issued(w.issuing.certificate(), cert->get()), X509_V_OK);
                  out[HexEncode(ca::SerialBytes(cert->get()))] = *ca::SpkiSha256Hex(cert->get());
                  return Status::Ok();
                }).ok());
  return out;
}

// A VA on another machine sends HQ only its responder key's public half:
// HQ certifies it under each CA, records the certificate in its log before
// the VA can have it, keeps it across restarts, renews it, and certifies a
// replaced key at once.
TEST(ValidationTest, RemoteResponderKeysAreCertifiedUnderEveryCaAndLogged) {
  World w;
  auto key = ca::GenerateKey(ca::KeyType::kP256);
  ASSERT_TRUE(key.ok());
  const std::string spki_hex = HexEncode(*crypto::KeySpkiSha256(key->get()));
  w.va->SetRemoteResponders({{"va1", *ca::SpkiDer(key->get())}});
  ASSERT_TRUE(w.va->Maintain().ok());
  auto logged = LoggedResponders(w, "ocsp-va1-f1");
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged.begin()->second, spki_hex);
  EXPECT_TRUE(Env::Default()->FileExists(w.dir.path() + "/f1/ocsp-responder-va1.pem"));
  // Nothing due: nothing issued; a restart re-reads it and logs nothing.
  const uint64_t size = w.hq.log->Size();
  ASSERT_TRUE(w.va->Maintain().ok());
  w.Open();
  w.va->SetRemoteResponders({{"va1", *ca::SpkiDer(key->get())}});
  ASSERT_TRUE(w.va->Maintain().ok());
  EXPECT_EQ(w.hq.log->Size(), size);
  // 25 days on, two thirds of its 30 days are gone: renewed, and logged.
  w.clock.shift = int64_t{25} * 86400 * 1000000;
  ASSERT_TRUE(w.va->Maintain().ok());
  EXPECT_EQ(LoggedResponders(w, "ocsp-va1-f1").size(), 2u);
  // The VA's key replaced: the new key is certified at the next maintenance.
  auto next = ca::GenerateKey(ca::KeyType::kP256);
  w.va->SetRemoteResponders({{"va1", *ca::SpkiDer(next->get())}});
  ASSERT_TRUE(w.va->Maintain().ok());
  logged = LoggedResponders(w, "ocsp-va1-f1");
  ASSERT_EQ(logged.size(), 3u);
  int for_next = 0;
  for (const auto& [serial, spki] : logged) for_next += spki == HexEncode(*crypto::KeySpkiSha256(next->get()));
  EXPECT_EQ(for_next, 1);
  // A key that does not parse is an error, not a silent skip.
  w.va->SetRemoteResponders({{"va2", Bytes{0x30, 0x03, 0x02, 0x01, 0x00}}});
  EXPECT_FALSE(w.va->Maintain().ok());
}

}  // namespace
}  // namespace mirrorca::validation
