// CmpServer driven by OpenSSL's own CMP client (OSSL_CMP_CTX, the code
// `openssl cmp` runs), its messages carried in memory instead of HTTP:
// issuance under signature and MAC protection, p10cr, genm, the refusals.
#include "enrollment/cmp_server.h"

#include <gtest/gtest.h>
#include <openssl/cmp.h>
#include <openssl/x509v3.h>

#include "ca/keys.h"
#include "engine/test_factory.h"

namespace mirrorca::enrollment {
namespace {

using engine::testing::TestFactory;

ca::X509Ptr MakeCert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool is_ca) {
  ca::X509Ptr c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), static_cast<long>(std::hash<std::string>{}(cn) & 0xffffff));
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.data()), static_cast<int>(cn.size()), -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(c.get()));
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 3600);
  X509_set_pubkey(c.get(), key);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer : c.get(), c.get(), nullptr, nullptr, 0);
  for (const char* ext : {is_ca ? "basicConstraints=critical,CA:TRUE" : "basicConstraints=CA:FALSE",
                          is_ca ? "keyUsage=critical,keyCertSign,cRLSign" : "keyUsage=critical,digitalSignature",
                          "subjectKeyIdentifier=hash"}) {
    const std::string s(ext);
    const size_t eq = s.find('=');
    X509_EXTENSION* e = X509V3_EXT_conf(nullptr, &v3, s.substr(0, eq).c_str(), s.substr(eq + 1).c_str());
    X509_add_ext(c.get(), e, -1);
    X509_EXTENSION_free(e);
  }
  X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return c;
}

struct Wire {
  CmpServer* server = nullptr;
  std::string batch = "B1";
  std::string ra_id = "ra-1";
  int last_http = 0;
};

OSSL_CMP_MSG* Transfer(OSSL_CMP_CTX* ctx, const OSSL_CMP_MSG* req) {
  Wire* w = static_cast<Wire*>(OSSL_CMP_CTX_get_transfer_cb_arg(ctx));
  ca::BioPtr out(BIO_new(BIO_s_mem()));
  i2d_OSSL_CMP_MSG_bio(out.get(), req);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  CmpReply reply = w->server->Handle(w->batch, std::string_view(data, static_cast<size_t>(n)), w->ra_id);
  w->last_http = reply.http_status;
  if (reply.http_status != 200) return nullptr;
  ca::BioPtr in(BIO_new_mem_buf(reply.body.data(), static_cast<int>(reply.body.size())));
  return d2i_OSSL_CMP_MSG_bio(in.get(), nullptr);
}

struct CmpWorld {
  TestFactory f;
  ca::EvpPkeyPtr ra_ca_key = *ca::GenerateKey(ca::KeyType::kP256);
  ca::X509Ptr ra_ca = MakeCert("LAN CA", ra_ca_key.get(), nullptr, nullptr, true);
  ca::EvpPkeyPtr ra_key = *ca::GenerateKey(ca::KeyType::kP256);
  ca::X509Ptr ra_cert = MakeCert("RA line 1", ra_key.get(), ra_ca.get(), ra_ca_key.get(), false);
  ca::EvpPkeyPtr server_key = *ca::GenerateKey(ca::KeyType::kP256);
  ca::X509Ptr server_cert = MakeCert("factory enroll", server_key.get(), ra_ca.get(), ra_ca_key.get(), false);
  std::unique_ptr<CmpServer> server;
  Wire wire;

  explicit CmpWorld(uint64_t quota = 10, size_t max_transactions = 1024) {
    engine::BatchTerms terms = f.Terms("B1", quota);
    terms.allow_reissue = {"DEV-0050"};
    f.Authorize(terms);
    CmpServerOptions o;
    o.protection_cert = ca::UpRef(server_cert.get());
    o.protection_key = ca::UpRef(server_key.get());
    o.ra_trust.push_back(ca::UpRef(ra_ca.get()));
    o.batch_secret = [](const std::string& batch) -> std::optional<std::string> {
      if (batch == "B1") return std::string("line-1 bootstrap secret");
      return std::nullopt;
    };
    o.max_transactions = max_transactions;
    server = std::make_unique<CmpServer>(f.ca.get(), std::move(o));
    wire.server = server.get();
  }

  // A client as `openssl cmp` sets one up: the server's certificate pinned,
  // signature protection with the RA's key, or MAC with `secret`.
  ca::OpenSslPtr<OSSL_CMP_CTX, OSSL_CMP_CTX_free> Client(const std::string& secret = "") {
    ca::OpenSslPtr<OSSL_CMP_CTX, OSSL_CMP_CTX_free> c(OSSL_CMP_CTX_new(nullptr, nullptr));
    OSSL_CMP_CTX_set_log_verbosity(c.get(), OSSL_CMP_LOG_EMERG);
    OSSL_CMP_CTX_set_transfer_cb(c.get(), &Transfer);
    OSSL_CMP_CTX_set_transfer_cb_arg(c.get(), &wire);
    if (secret.empty()) {
      OSSL_CMP_CTX_set1_srvCert(c.get(), server_cert.get());
      OSSL_CMP_CTX_set1_cert(c.get(), ra_cert.get());
      OSSL_CMP_CTX_set1_pkey(c.get(), ra_key.get());
    } else {
      OSSL_CMP_CTX_set1_secretValue(c.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                                    static_cast<int>(secret.size()));
      const std::string ref = "line-1";
      OSSL_CMP_CTX_set1_referenceValue(c.get(), reinterpret_cast<const unsigned char*>(ref.data()),
                                       static_cast<int>(ref.size()));
    }
    return c;
  }

  static ca::X509NamePtr Subject(const std::string& serial) {
    ca::X509NamePtr n(X509_NAME_new());
    X509_NAME_add_entry_by_txt(n.get(), "serialNumber", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(serial.data()), static_cast<int>(serial.size()),
                               -1, 0);
    return n;
  }

  // Ir runs an initialization request for `serial` with `key`, or a new P-256 key.
  X509* Ir(OSSL_CMP_CTX* c, const std::string& serial, EVP_PKEY* key = nullptr) {
    ca::EvpPkeyPtr device = key != nullptr ? ca::UpRef(key) : *ca::GenerateKey(ca::KeyType::kP256);
    OSSL_CMP_CTX_set0_newPkey(c, 1, device.release());
    OSSL_CMP_CTX_set1_subjectName(c, Subject(serial).get());
    return OSSL_CMP_exec_IR_ses(c);
  }

  uint64_t Issued() { return f.ca->Batch("B1")->issued; }
  uint64_t Rejected() { return f.ca->Batch("B1")->rejected; }
};

std::string SubjectSerialOf(X509* cert) {
  char buf[128] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_serialNumber, buf, sizeof(buf));
  return buf;
}

TEST(CmpServerTest, IrUnderSignatureProtectionIssuesAndIsConfirmed) {
  CmpWorld w;
  auto c = w.Client();
  const uint64_t log_before = w.f.ca->log().Size();
  X509* cert = w.Ir(c.get(), "DEV-0001");
  ASSERT_NE(cert, nullptr) << "http " << w.wire.last_http;
  EXPECT_EQ(SubjectSerialOf(cert), "DEV-0001");
  EXPECT_EQ(X509_check_issued(w.f.ca->issuing_ca().certificate(), cert), X509_V_OK);
  EXPECT_EQ(w.Issued(), 1u);
  EXPECT_EQ(w.f.ca->log().Size(), log_before + 1) << "one certificateIssued event";
  EXPECT_EQ(w.server->open_transactions(), 0u) << "certConf closed the transaction";
  // The key issued is the one the client generated.
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert), OSSL_CMP_CTX_get0_newPkey(c.get(), 0)), 1);
}

// Implicitly confirmed transactions (OpenSSL 3.0 cannot tell them) fill the
// bounded table of those awaiting a certConf; the oldest gives way, so a
// client that confirms is never refused for a full table.
TEST(CmpServerTest, AFullTransactionTableMakesRoomForClientsThatConfirm) {
  CmpWorld w(/*quota=*/10, /*max_transactions=*/2);
  for (int i = 0; i < 3; ++i) {
    auto implicit = w.Client();
    OSSL_CMP_CTX_set_option(implicit.get(), OSSL_CMP_OPT_IMPLICIT_CONFIRM, 1);
    ASSERT_NE(w.Ir(implicit.get(), "DEV-010" + std::to_string(i)), nullptr) << i;
    EXPECT_LE(w.server->open_transactions(), 2u);
  }
  auto confirming = w.Client();
  ASSERT_NE(w.Ir(confirming.get(), "DEV-0110"), nullptr) << "http " << w.wire.last_http;
  EXPECT_EQ(w.Issued(), 4u);
  EXPECT_LE(w.server->open_transactions(), 2u);
}

TEST(CmpServerTest, IrUnderMacProtectionWithTheBatchSecret) {
  CmpWorld w;
  auto c = w.Client("line-1 bootstrap secret");
  X509* cert = w.Ir(c.get(), "DEV-0002");
  ASSERT_NE(cert, nullptr) << "http " << w.wire.last_http;
  EXPECT_EQ(SubjectSerialOf(cert), "DEV-0002");
  EXPECT_EQ(w.Issued(), 1u);
}

TEST(CmpServerTest, AWrongMacOrNoProtectionIssuesNothing) {
  CmpWorld w;
  auto wrong = w.Client("not the secret");
  EXPECT_EQ(w.Ir(wrong.get(), "DEV-0003"), nullptr);
  auto unprotected = w.Client("line-1 bootstrap secret");
  OSSL_CMP_CTX_set_option(unprotected.get(), OSSL_CMP_OPT_UNPROTECTED_SEND, 1);
  EXPECT_EQ(w.Ir(unprotected.get(), "DEV-0004"), nullptr);
  // A batch without a secret takes no MAC at all.
  w.wire.batch = "B2";
  auto other = w.Client("line-1 bootstrap secret");
  EXPECT_EQ(w.Ir(other.get(), "DEV-0005"), nullptr);
  w.wire.batch = "B1";
  EXPECT_EQ(w.Issued(), 0u);
  EXPECT_EQ(w.Rejected(), 2u) << "each refusal of B1 is an issuanceRejected event";
  ERR_clear_error();
}

TEST(CmpServerTest, P10crAndItsVetting) {
  CmpWorld w;
  ca::EvpPkeyPtr device = *ca::GenerateKey(ca::KeyType::kP256);
  auto csr_for = [&](const std::string& serial, EVP_PKEY* key) {
    ca::X509ReqPtr req(X509_REQ_new());
    X509_REQ_set_subject_name(req.get(), CmpWorld::Subject(serial).get());
    X509_REQ_set_pubkey(req.get(), key);
    X509_REQ_sign(req.get(), key, EVP_sha256());
    return req;
  };
  auto c = w.Client();
  ca::X509ReqPtr good = csr_for("DEV-0010", device.get());
  OSSL_CMP_CTX_set1_p10CSR(c.get(), good.get());
  X509* cert = OSSL_CMP_exec_P10CR_ses(c.get());
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(SubjectSerialOf(cert), "DEV-0010");
  // Outside the profile: a device serial its pattern refuses ("_"), and an RSA key.
  auto bad_serial = w.Client();
  ca::EvpPkeyPtr k2 = *ca::GenerateKey(ca::KeyType::kP256);
  ca::X509ReqPtr r2 = csr_for("DEV_0011", k2.get());
  OSSL_CMP_CTX_set1_p10CSR(bad_serial.get(), r2.get());
  EXPECT_EQ(OSSL_CMP_exec_P10CR_ses(bad_serial.get()), nullptr);
  EXPECT_EQ(OSSL_CMP_CTX_get_status(bad_serial.get()), OSSL_CMP_PKISTATUS_rejection);
  EXPECT_TRUE(OSSL_CMP_CTX_get_failInfoCode(bad_serial.get()) & (1 << OSSL_CMP_PKIFAILUREINFO_badCertTemplate));
  EXPECT_EQ(w.Issued(), 1u);
  EXPECT_EQ(w.Rejected(), 1u) << "recorded as issuanceRejected";
  ERR_clear_error();
}

TEST(CmpServerTest, QuotaExhaustionIsNotAuthorized) {
  CmpWorld w(/*quota=*/2);
  for (const char* serial : {"DEV-0020", "DEV-0021"}) {
    auto c = w.Client();
    ASSERT_NE(w.Ir(c.get(), serial), nullptr) << serial;
  }
  auto c = w.Client();
  EXPECT_EQ(w.Ir(c.get(), "DEV-0022"), nullptr);
  EXPECT_EQ(OSSL_CMP_CTX_get_status(c.get()), OSSL_CMP_PKISTATUS_rejection);
  EXPECT_TRUE(OSSL_CMP_CTX_get_failInfoCode(c.get()) & (1 << OSSL_CMP_PKIFAILUREINFO_notAuthorized));
  EXPECT_EQ(w.Issued(), 2u);
  ERR_clear_error();
}

TEST(CmpServerTest, GenmAnswersTheCaCertificatesAndRrIsRefused) {
  CmpWorld w;
  auto g = w.Client();
  OSSL_CMP_CTX_push0_genm_ITAV(g.get(), OSSL_CMP_ITAV_create(OBJ_nid2obj(NID_id_it_caCerts), nullptr));
  STACK_OF(OSSL_CMP_ITAV)* itavs = OSSL_CMP_exec_GENM_ses(g.get());
  ASSERT_NE(itavs, nullptr);
  ASSERT_EQ(sk_OSSL_CMP_ITAV_num(itavs), 1);
  OSSL_CMP_ITAV* itav = sk_OSSL_CMP_ITAV_value(itavs, 0);
  EXPECT_EQ(OBJ_obj2nid(OSSL_CMP_ITAV_get0_type(itav)), NID_id_it_caCerts);
  const ASN1_TYPE* value = OSSL_CMP_ITAV_get0_value(itav);
  ASSERT_EQ(ASN1_TYPE_get(value), V_ASN1_SEQUENCE);
  // The sequence holds the issuing CA's certificate first.
  const ASN1_STRING* seq = value->value.sequence;
  const unsigned char* p = ASN1_STRING_get0_data(seq);
  long len = 0;
  int tag = 0, cls = 0;
  ASSERT_EQ(ASN1_get_object(&p, &len, &tag, &cls, ASN1_STRING_length(seq)), V_ASN1_CONSTRUCTED);
  ca::X509Ptr first(d2i_X509(nullptr, &p, len));
  ASSERT_TRUE(first);
  EXPECT_EQ(X509_cmp(first.get(), w.f.ca->issuing_ca().certificate()), 0);
  sk_OSSL_CMP_ITAV_pop_free(itavs, OSSL_CMP_ITAV_free);

  auto c = w.Client();
  X509* cert = w.Ir(c.get(), "DEV-0030");
  ASSERT_NE(cert, nullptr);
  auto rr = w.Client();
  OSSL_CMP_CTX_set1_oldCert(rr.get(), cert);
  EXPECT_NE(OSSL_CMP_exec_RR_ses(rr.get()), 1);
  EXPECT_EQ(OSSL_CMP_CTX_get_status(rr.get()), OSSL_CMP_PKISTATUS_rejection);
  EXPECT_TRUE(OSSL_CMP_CTX_get_failInfoCode(rr.get()) & (1 << OSSL_CMP_PKIFAILUREINFO_notAuthorized))
      << OSSL_CMP_CTX_get_failInfoCode(rr.get());
  EXPECT_EQ(w.Rejected(), 1u) << "the rr is an issuanceRejected event";
  ERR_clear_error();
}

// kur: the device renews with its current certificate and key, once (HQ's
// re-issue authorization for it), and only a device HQ allowed.
TEST(CmpServerTest, KurRenewsADeviceOnceWithItsCurrentCertificate) {
  CmpWorld w;
  auto first_client = w.Client();
  ca::EvpPkeyPtr first_key = *ca::GenerateKey(ca::KeyType::kP256);
  X509* first = w.Ir(first_client.get(), "DEV-0050", first_key.get());
  ASSERT_NE(first, nullptr);
  auto kur = [&](X509* cert, EVP_PKEY* key) {
    auto c = w.Client();
    OSSL_CMP_CTX_set1_cert(c.get(), cert);
    OSSL_CMP_CTX_set1_pkey(c.get(), key);
    OSSL_CMP_CTX_set1_oldCert(c.get(), cert);
    ca::EvpPkeyPtr next = *ca::GenerateKey(ca::KeyType::kP256);
    OSSL_CMP_CTX_set0_newPkey(c.get(), 1, next.release());
    X509* renewed = OSSL_CMP_exec_KUR_ses(c.get());
    return std::make_pair(renewed != nullptr ? ca::UpRef(renewed) : ca::X509Ptr(), std::move(c));
  };
  auto [renewed, c1] = kur(first, first_key.get());
  ASSERT_TRUE(renewed);
  EXPECT_EQ(SubjectSerialOf(renewed.get()), "DEV-0050");
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(renewed.get()), X509_get0_serialNumber(first)), 0);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(renewed.get()), OSSL_CMP_CTX_get0_newPkey(c1.get(), 0)), 1);
  // A second renewal: HQ allowed one.
  auto [again, c2] = kur(renewed.get(), OSSL_CMP_CTX_get0_newPkey(c1.get(), 1));
  EXPECT_FALSE(again);
  EXPECT_TRUE(OSSL_CMP_CTX_get_failInfoCode(c2.get()) & (1 << OSSL_CMP_PKIFAILUREINFO_duplicateCertReq));
  // A device HQ did not allow a second certificate.
  auto other_client = w.Client();
  ca::EvpPkeyPtr other_key = *ca::GenerateKey(ca::KeyType::kP256);
  X509* other = w.Ir(other_client.get(), "DEV-0051", other_key.get());
  ASSERT_NE(other, nullptr);
  auto [refused, c3] = kur(other, other_key.get());
  EXPECT_FALSE(refused);
  // The RA's own certificate renews nothing (it is not of this CA).
  auto [foreign, c4] = kur(w.ra_cert.get(), w.ra_key.get());
  EXPECT_FALSE(foreign);
  EXPECT_EQ(w.Issued(), 3u);
  ERR_clear_error();
}

TEST(CmpServerTest, GarbageTruncatedAndOversizedMessagesChangeNothing) {
  CmpWorld w;
  const uint64_t size = w.f.ca->log().Size();
  EXPECT_EQ(w.server->Handle("B1", "not DER at all", "ra-1").http_status, 400);
  EXPECT_EQ(w.server->Handle("B1", std::string(70000, '\x30'), "ra-1").http_status, 413);
  EXPECT_EQ(w.server->Handle("B1", "", "ra-1").http_status, 413);
  // A real ir, truncated at every length, is never issued.
  ca::BioPtr keep(BIO_new(BIO_s_mem()));
  auto c = w.Client();
  ca::EvpPkeyPtr device = *ca::GenerateKey(ca::KeyType::kP256);
  OSSL_CMP_CTX_set0_newPkey(c.get(), 1, device.release());
  OSSL_CMP_CTX_set1_subjectName(c.get(), CmpWorld::Subject("DEV-0040").get());
  // Capture the ir instead of sending it.
  OSSL_CMP_CTX_set_transfer_cb(c.get(), [](OSSL_CMP_CTX* ctx, const OSSL_CMP_MSG* req) -> OSSL_CMP_MSG* {
    i2d_OSSL_CMP_MSG_bio(static_cast<BIO*>(OSSL_CMP_CTX_get_transfer_cb_arg(ctx)), req);
    return nullptr;
  });
  OSSL_CMP_CTX_set_transfer_cb_arg(c.get(), keep.get());
  EXPECT_EQ(OSSL_CMP_exec_IR_ses(c.get()), nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(keep.get(), &data);
  ASSERT_GT(n, 100);
  const std::string ir(data, static_cast<size_t>(n));
  for (size_t cut = 1; cut < ir.size(); cut += 7) {
    EXPECT_NE(w.server->Handle("B1", ir.substr(0, cut), "ra-1").http_status, 200) << cut;
  }
  EXPECT_EQ(w.Issued(), 0u);
  EXPECT_EQ(w.f.ca->log().Size(), size);
  // The whole message is issued once; its replay is refused.
  EXPECT_EQ(w.server->Handle("B1", ir, "ra-1").http_status, 200);
  EXPECT_EQ(w.Issued(), 1u);
  EXPECT_NE(w.server->Handle("B1", ir, "ra-1").http_status, 200) << "transactionID in use";
  ERR_clear_error();
}

}  // namespace
}  // namespace mirrorca::enrollment
