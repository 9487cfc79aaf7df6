// FactoryCa: issuance recorded durably, every refusal an event, quotas under
// concurrency and across restarts, duplicates, bulk and server-side keygen.
#include "engine/factory_ca.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <thread>

#include "base/encoding.h"
#include "ca/certificate.h"
#include "ca/keys.h"
#include "crypto/sha256.h"
#include "engine/test_factory.h"
#include "log/event_codec.h"
#include "log/log_verification.h"

namespace mirrorca::engine {
namespace {

using ca::EvpPkeyPtr;
using log::schema::Event;
using testing::P256Csr;
using testing::TestFactory;

std::vector<std::string> EventKinds(log::EventLog& l) {
  std::vector<std::string> kinds;
  EXPECT_TRUE(l.ForEach(0, l.Size(), [&](uint64_t, std::string_view b) {
                   auto e = *log::ParsedEvent::Parse(AsBytes(b));
                   switch (e.event().getKind().which()) {
                     case Event::Kind::CERTIFICATE_ISSUED: kinds.push_back("issued"); break;
                     case Event::Kind::ISSUANCE_REJECTED:
                       kinds.push_back(std::string("rejected:") +
                                       std::string(RejectionCode(
                                           e.event().getKind().getIssuanceRejected().getReason())));
                       break;
                     case Event::Kind::BATCH_CLOSED: kinds.push_back("closed"); break;
                     default: kinds.push_back("other");
                   }
                   return Status::Ok();
                 }).ok());
  return kinds;
}

TEST(FactoryCaTest, IssuesOnlyAfterTheEventIsDurable) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 10));
  EnrollResult r = f.ca->Enroll({"B1", "SN-1", P256Csr(), "ra-1"});
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(f.ca->log().Size(), r.log_seq + 1);
  // The stored event holds exactly the returned certificate.
  auto e = *log::ParsedEvent::Parse(AsBytes(*f.ca->log().ReadSignedEvent(r.log_seq)));
  auto issued = e.event().getKind().getCertificateIssued();
  ca::X509Ptr cert = *ca::ParseCertificate(r.certificate_pem);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(issued.getCertificate().begin()),
                        issued.getCertificate().size()),
            *ca::CertificateDer(cert.get()));
  EXPECT_EQ(HexEncode(ca::SerialBytes(cert.get())), r.serial_hex);
  EXPECT_EQ(std::string(issued.getDeviceSerial()), "SN-1");
  EXPECT_EQ(std::string(issued.getRaId()), "ra-1");
  EXPECT_EQ(std::string(issued.getProductionLine()), "line-1");
  // The chain verifies and the subject came from the vetted data.
  std::vector<ca::X509Ptr> chain = *ca::ParseCertificateChainPem(r.chain_pem);
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_TRUE(ca::VerifyChain(chain[0].get(), {chain[1].get()}, chain[2].get()).ok());
  EXPECT_NE(ca::SubjectText(cert.get()).find("serialNumber=SN-1"), std::string::npos);
  EXPECT_EQ(ca::SubjectText(cert.get()).find("whatever"), std::string::npos);
  log::VerifyReport v = *log::VerifyLog(f.ca->log());
  EXPECT_TRUE(v.ok) << v.reason;
}

TEST(FactoryCaTest, EveryRefusalIsAnErrorAndAnEvent) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 10));
  f.Authorize(f.Terms("M1", 10, "matter-dac"));
  Result<EvpPkeyPtr> p384 = ca::GenerateKey(ca::KeyType::kP384);
  std::string forged = *ca::RequestDer(ca::ParseRequest(P256Csr())->get());
  forged[forged.size() - 4] ^= 1;
  struct Case {
    EnrollRequest req;
    RejectionReason reason;
    EnrollError error;
  };
  std::vector<Case> cases = {
      {{"B1", "SN-1", "garbage", "ra-1"}, RejectionReason::BAD_CSR, EnrollError::kBadRequest},
      {{"B1", "SN-1", forged, "ra-1"}, RejectionReason::PROOF_OF_POSSESSION, EnrollError::kForbidden},
      {{"M1", "SN-1", ca::testing::MakeCsr(p384->get()), "ra-1"}, RejectionReason::KEY_NOT_ALLOWED,
       EnrollError::kBadRequest},
      {{"B1", "bad serial!", P256Csr(), "ra-1"}, RejectionReason::SUBJECT_NOT_ALLOWED,
       EnrollError::kBadRequest},
      {{"B9", "SN-1", P256Csr(), "ra-1"}, RejectionReason::UNKNOWN_BATCH, EnrollError::kNotFound},
      {{"B1", "SN-1", P256Csr(), "ra-2"}, RejectionReason::RA_NOT_AUTHORIZED,
       EnrollError::kForbidden},
      {{"B1", "SN-1", P256Csr(), "stranger"}, RejectionReason::RA_NOT_AUTHORIZED,
       EnrollError::kForbidden},
  };
  const uint64_t before = f.ca->log().Size();
  for (const Case& c : cases) {
    EnrollResult r = f.ca->Enroll(c.req);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.reason, c.reason) << r.detail;
    EXPECT_EQ(r.error, c.error) << r.detail;
    EXPECT_FALSE(r.detail.empty());
    EXPECT_TRUE(r.certificate_pem.empty());
  }
  std::vector<std::string> kinds = EventKinds(f.ca->log());
  ASSERT_EQ(kinds.size(), before + cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(kinds[before + i], "rejected:" + std::string(RejectionCode(cases[i].reason)));
  }
  EXPECT_EQ(f.ca->Batch("B1")->issued, 0u);
}

TEST(FactoryCaTest, QuotaHoldsUnderConcurrencyAndClosesTheBatchOnce) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 50));
  std::vector<std::string> csrs;
  for (int i = 0; i < 160; ++i) csrs.push_back(P256Csr());
  std::atomic<int> issued{0}, quota{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        int n = t * 20 + i;
        EnrollResult r = f.ca->Enroll({"B1", "SN-" + std::to_string(n), csrs[n], "ra-1"});
        if (r.ok()) issued++;
        if (r.reason == RejectionReason::QUOTA_EXHAUSTED || r.reason == RejectionReason::BATCH_CLOSED) {
          quota++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(issued.load(), 50);
  EXPECT_EQ(quota.load(), 110);
  std::vector<std::string> kinds = EventKinds(f.ca->log());
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "issued"), 50);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "closed"), 1);
  EXPECT_TRUE(f.ca->Batch("B1")->closed);
}

TEST(FactoryCaTest, CountsAndQuotaCarryOverARestart) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 10));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(f.ca->Enroll({"B1", "A" + std::to_string(i), P256Csr(), "ra-1"}).ok());
  EXPECT_FALSE(f.ca->Enroll({"B1", "A0", P256Csr(), "ra-1"}).ok());  // duplicate
  f.Open();  // restart
  EXPECT_EQ(f.ca->Batch("B1")->issued, 6u);
  EXPECT_EQ(f.ca->Batch("B1")->rejected, 1u);
  EnrollResult dup = f.ca->Enroll({"B1", "A3", P256Csr(), "ra-1"});
  EXPECT_EQ(dup.reason, RejectionReason::DUPLICATE_DEVICE);
  for (int i = 6; i < 10; ++i) ASSERT_TRUE(f.ca->Enroll({"B1", "A" + std::to_string(i), P256Csr(), "ra-1"}).ok());
  f.Open();
  EnrollResult over = f.ca->Enroll({"B1", "A10", P256Csr(), "ra-1"});
  EXPECT_EQ(over.error, EnrollError::kConflict);
  EXPECT_EQ(over.reason, RejectionReason::BATCH_CLOSED);
  EXPECT_EQ(f.ca->Batch("B1")->issued, 10u);
}

TEST(FactoryCaTest, ReissueNeedsHqAuthorization) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 10));
  EnrollResult first = f.ca->Enroll({"B1", "SN-7", P256Csr(), "ra-1"});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(f.ca->Enroll({"B1", "SN-7", P256Csr(), "ra-1"}).reason, RejectionReason::DUPLICATE_DEVICE);
  BatchTerms t = f.Terms("B1", 10);
  t.allow_reissue = {"SN-7"};
  f.Authorize(t);
  EnrollResult second = f.ca->Enroll({"B1", "SN-7", P256Csr(), "ra-1"});
  ASSERT_TRUE(second.ok()) << second.detail;
  auto e = *log::ParsedEvent::Parse(AsBytes(*f.ca->log().ReadSignedEvent(second.log_seq)));
  auto reissue = e.event().getKind().getCertificateIssued().getReissueOf();
  EXPECT_EQ(HexEncode(ByteSpan(reissue.begin(), reissue.size())), first.serial_hex);
  // One re-issue per authorization.
  EXPECT_EQ(f.ca->Enroll({"B1", "SN-7", P256Csr(), "ra-1"}).reason, RejectionReason::DUPLICATE_DEVICE);
}

// One public key, one device: a second device presenting a key already
// certified (a line whose key generator is broken) is refused, in a bulk
// request too and after a restart; the same device re-issued with its own
// key is not a clone; a profile may allow shared keys.
TEST(FactoryCaTest, OneKeyIsCertifiedForOneDevice) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 20));
  Result<ca::EvpPkeyPtr> key = ca::GenerateKey(ca::KeyType::kP256);
  const std::string csr1 = ca::testing::MakeCsr(key->get(), "first"), csr2 = ca::testing::MakeCsr(key->get(), "second");
  ASSERT_TRUE(f.ca->Enroll({"B1", "D1", csr1, "ra-1"}).ok());
  EnrollResult clone = f.ca->Enroll({"B1", "D2", csr2, "ra-1"});
  EXPECT_EQ(clone.reason, RejectionReason::DUPLICATE_KEY);
  EXPECT_EQ(clone.error, EnrollError::kConflict);
  EXPECT_NE(clone.detail.find("'D1'"), std::string::npos) << clone.detail;
  EXPECT_EQ(RejectionCode(clone.reason), "duplicate-key");
  // Two devices with one key inside one bulk request.
  Result<ca::EvpPkeyPtr> shared = ca::GenerateKey(ca::KeyType::kP256);
  std::vector<EnrollResult> bulk = f.ca->EnrollBulk({{"B1", "D3", ca::testing::MakeCsr(shared->get()), "ra-1"},
                                                     {"B1", "D4", ca::testing::MakeCsr(shared->get()), "ra-1"}});
  EXPECT_TRUE(bulk[0].ok()) << bulk[0].detail;
  EXPECT_EQ(bulk[1].reason, RejectionReason::DUPLICATE_KEY);
  // A restart remembers (certificateIssued.publicKeyHash).
  f.Open();
  EXPECT_EQ(f.ca->Enroll({"B1", "D5", csr1, "ra-1"}).reason, RejectionReason::DUPLICATE_KEY);
  // The device's own re-issue, with HQ's authorization, keeps its key.
  BatchTerms t = f.Terms("B1", 20);
  t.allow_reissue = {"D1"};
  f.Authorize(t);
  EXPECT_TRUE(f.ca->Enroll({"B1", "D1", csr2, "ra-1"}).ok());
  // A profile that allows shared keys (a site profile overriding idevid).
  std::string text(*ca::BuiltinProfileText("idevid"));
  text.insert(text.find("\n[validity]"), "\nallow_shared_keys = true");
  const std::string path = f.dir.path() + "/idevid-shared.toml";
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(path, text, 0644).ok());
  f.options.profile_files["idevid"] = path;
  f.Open();
  EXPECT_TRUE(f.ca->Enroll({"B1", "D6", csr1, "ra-1"}).ok());
}

TEST(FactoryCaTest, BulkKeepsOrderAndUsesOneAppend) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 100));
  std::vector<EnrollRequest> reqs;
  for (int i = 0; i < 40; ++i) reqs.push_back({"B1", "D" + std::to_string(i), P256Csr(), "ra-1"});
  reqs[5].csr = "junk";
  reqs[9].device_serial = "D1";  // duplicate inside the request
  const uint64_t groups = f.ca->log().CommittedGroups();
  std::vector<EnrollResult> out = f.ca->EnrollBulk(reqs);
  ASSERT_EQ(out.size(), 40u);
  EXPECT_EQ(f.ca->log().CommittedGroups(), groups + 1);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(out[i].device_serial, reqs[i].device_serial);
    EXPECT_EQ(out[i].ok(), i != 5 && i != 9) << i << " " << out[i].detail;
  }
  EXPECT_EQ(out[5].reason, RejectionReason::BAD_CSR);
  EXPECT_EQ(out[9].reason, RejectionReason::DUPLICATE_DEVICE);
  EXPECT_EQ(f.ca->Batch("B1")->issued, 38u);
  EXPECT_EQ(f.ca->Batch("B1")->rejected, 2u);
}

// certificateIssued.publicKeyHash is SHA-256 of the certified key's
// SubjectPublicKeyInfo, however the key arrived: in a CSR, as a SPKI the
// protocol proved (CMP), or made here (keygen).
TEST(FactoryCaTest, ThePublicKeyHashIsTheCertifiedKeysSpkiHash) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 10));
  auto hash_in_event = [&](const EnrollResult& r) {
    auto e = *log::ParsedEvent::Parse(AsBytes(*f.ca->log().ReadSignedEvent(r.log_seq)));
    auto h = e.event().getKind().getCertificateIssued().getPublicKeyHash();
    return HexEncode(ByteSpan(h.begin(), h.size()));
  };
  auto hash_of_certificate = [](const EnrollResult& r) {
    ca::X509Ptr cert = *ca::ParseCertificate(r.certificate_pem);
    unsigned char* der = nullptr;
    const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
    const crypto::Hash h = crypto::Sha256(ByteSpan(der, static_cast<size_t>(n)));
    OPENSSL_free(der);
    return HexEncode(ByteSpan(h.data(), h.size()));
  };
  EnrollResult by_csr = f.ca->Enroll({"B1", "H-1", P256Csr(), "ra-1"});
  ASSERT_TRUE(by_csr.ok()) << by_csr.detail;
  EXPECT_EQ(hash_in_event(by_csr), hash_of_certificate(by_csr));
  EnrollRequest by_spki{"B1", "H-2", "", "ra-1"};
  EvpPkeyPtr key = *ca::GenerateKey(ca::KeyType::kP256);
  by_spki.public_key_der = std::string(reinterpret_cast<const char*>(ca::SpkiDer(key.get())->data()),
                                       ca::SpkiDer(key.get())->size());
  EnrollResult spki = f.ca->Enroll(by_spki);
  ASSERT_TRUE(spki.ok()) << spki.detail;
  EXPECT_EQ(hash_in_event(spki), hash_of_certificate(spki));
  EnrollResult made = f.ca->Keygen({"B1", "H-3", "correct horse battery", "ra-1"});
  ASSERT_TRUE(made.ok()) << made.detail;
  EXPECT_EQ(hash_in_event(made), hash_of_certificate(made));
}

TEST(FactoryCaTest, KeygenReturnsAnEncryptedKeyThatMatches) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 10));
  EnrollResult r = f.ca->Keygen({"B1", "K-1", "correct horse battery", "ra-1"});
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_NE(r.private_key_pem.find("BEGIN ENCRYPTED PRIVATE KEY"), std::string::npos);
  ca::BioPtr bio(BIO_new_mem_buf(r.private_key_pem.data(), static_cast<int>(r.private_key_pem.size())));
  char pw[] = "correct horse battery";
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, pw);
  ASSERT_NE(key, nullptr);
  EvpPkeyPtr owned(key);
  ca::X509Ptr cert = *ca::ParseCertificate(r.certificate_pem);
  EXPECT_EQ(X509_check_private_key(cert.get(), key), 1);
  auto e = *log::ParsedEvent::Parse(AsBytes(*f.ca->log().ReadSignedEvent(r.log_seq)));
  EXPECT_TRUE(e.event().getKind().getCertificateIssued().getServerGeneratedKey());
  // The key itself is in no event.
  std::string body(reinterpret_cast<const char*>(e.body().data()), e.body().size());
  EXPECT_EQ(body.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(f.ca->Keygen({"B1", "K-2", "short", "ra-1"}).error, EnrollError::kBadRequest);
}

TEST(FactoryCaTest, MatterBatchIssuesDacsWithVendorAndProduct) {
  TestFactory f("matter-pai");
  f.Authorize(f.Terms("M1", 5, "matter-dac"));
  EnrollResult r = f.ca->Enroll({"M1", "MX-1", P256Csr(), "ra-1"});
  ASSERT_TRUE(r.ok()) << r.detail;
  ca::X509Ptr cert = *ca::ParseCertificate(r.certificate_pem);
  std::string subject = ca::SubjectText(cert.get());
  // VID/PID as UTF8String (tag 0x0C) "FFF1" / "8000" (RFC 2253 prints unknown OIDs in hex).
  EXPECT_NE(subject.find("1.3.6.1.4.1.37244.2.1=#0C0446464631"), std::string::npos) << subject;
  EXPECT_NE(subject.find("1.3.6.1.4.1.37244.2.2=#0C0438303030"), std::string::npos) << subject;
}

TEST(FactoryCaTest, BatchWindowIsEnforced) {
  TestFactory f;
  BatchTerms early = f.Terms("E1", 5);
  early.not_before = std::numeric_limits<int64_t>::max() - 10;
  f.Authorize(early);
  BatchTerms late = f.Terms("L1", 5);
  late.not_before = 0;
  late.not_after = 1;
  f.Authorize(late);
  EXPECT_EQ(f.ca->Enroll({"E1", "S1", P256Csr(), "ra-1"}).reason, RejectionReason::BATCH_NOT_YET_VALID);
  EXPECT_EQ(f.ca->Enroll({"L1", "S1", P256Csr(), "ra-1"}).reason, RejectionReason::BATCH_EXPIRED);
}

}  // namespace
}  // namespace mirrorca::engine
