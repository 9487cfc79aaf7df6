// Issuance proofs: written from a store holding a factory log and HQ's
// cosignatures, checked offline; one changed byte anywhere in the file, the
// wrong certificate, the wrong log key or cosigner are each refused.
#include "audit/issuance_proof.h"

#include <gtest/gtest.h>

#include "engine/test_logs.h"

namespace mirrorca::audit {
namespace {

using engine::testing::TwoLogs;

std::string FakeCertificate(int i) { return "certificate DER of device " + std::to_string(i); }
Bytes SerialOf(int i) { return Bytes{0x51, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}; }

void Issue(log::EventLog& l, int from, int n) {
  std::vector<log::EventDraft> drafts;
  for (int i = from; i < from + n; ++i) {
    log::EventDraft d;
    auto c = d.event().getKind().initCertificateIssued();
    const Bytes ca(32, 9), serial = SerialOf(i);
    const std::string der = FakeCertificate(i);
    c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
    c.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
    c.setCertificate(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(der.data()), der.size()));
    c.setDeviceSerial("dev" + std::to_string(i));
    c.setBatchId("B7");
    drafts.push_back(std::move(d));
  }
  ASSERT_TRUE(l.Append(std::move(drafts)).ok());
}

TEST(IssuanceProofTest, ProvedOfflineAndEveryChangedByteIsRefused) {
  engine::testing::TwoLogs w(0);
  Issue(*w.factory, 0, 300);
  w.RecordCosignature(w.hq.signer);
  Issue(*w.factory, 300, 20);  // issued after the cosignature: the factory's own checkpoint
  ASSERT_TRUE(w.factory->SignCheckpoint().ok());
  const log::LogVerifier factory_key = w.factory_signer.verifier();
  const log::LogVerifier hq_key = w.hq.signer.verifier();
  w.Close();

  Result<TlogProof> proof = ProveIssuance(w.hq.dir.path(), SerialOf(123));
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_EQ(proof->index, 123u);
  const std::string text = proof->Encode();
  ASSERT_TRUE(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
  Result<TlogProof> parsed = TlogProof::Parse(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Encode(), text);
  const std::string der = FakeCertificate(123);
  Result<ProofCheck> ok = CheckProof(*parsed, factory_key, hq_key, AsBytes(der));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->cosigned);
  EXPECT_EQ(ok->seq, 123u);
  EXPECT_EQ(ok->tree_size, 300u);
  EXPECT_EQ(ok->device_serial, "dev123");
  EXPECT_EQ(ok->batch_id, "B7");

  // Every single changed byte of the file is refused (parse or check).
  size_t accepted = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    Result<TlogProof> p = TlogProof::Parse(bad);
    if (p.ok() && CheckProof(*p, factory_key, hq_key, AsBytes(der)).ok()) {
      ++accepted;
      ADD_FAILURE() << "byte " << i << " changed, proof still accepted";
    }
  }
  EXPECT_EQ(accepted, 0u);

  // Another certificate, another log key, another cosigner.
  EXPECT_FALSE(CheckProof(*parsed, factory_key, hq_key, AsBytes(FakeCertificate(124))).ok());
  log::LogSigner stranger = *log::LogSigner::Generate("factory.example/log");
  EXPECT_FALSE(CheckProof(*parsed, stranger.verifier(), hq_key, AsBytes(der)).ok());
  log::LogSigner other_hq = *log::LogSigner::Generate("hq.example/log");
  EXPECT_FALSE(CheckProof(*parsed, factory_key, other_hq.verifier(), AsBytes(der)).ok());
  // Without a cosigner key the log's signature alone is checked.
  Result<ProofCheck> uncosigned = CheckProof(*parsed, factory_key, std::nullopt, AsBytes(der));
  ASSERT_TRUE(uncosigned.ok());
  EXPECT_FALSE(uncosigned->cosigned);

  // Issued after the last cosignature: proved against the factory's checkpoint.
  Result<TlogProof> late = ProveIssuance(w.hq.dir.path(), SerialOf(310));
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_TRUE(CheckProof(*late, factory_key, std::nullopt, AsBytes(FakeCertificate(310))).ok());
  EXPECT_FALSE(CheckProof(*late, factory_key, hq_key, AsBytes(FakeCertificate(310))).ok());

  EXPECT_EQ(ProveIssuance(w.hq.dir.path(), Bytes{1, 2, 3}).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(TlogProof::Parse("c2sp.org/tlog-proof@v1\nindex 1\n\nx\n").ok());
}

// The key rotations file beside a proof (docs/proof_format.md §2a): what
// EncodeKeyRotations writes parses back; anything malformed is refused.
TEST(IssuanceProofTest, KeyRotationsFileRoundTripsAndRefusesGarbage) {
  KeyRotationProof r;
  r.event = Bytes{1, 2, 3};
  r.index = 41;
  r.hashes.push_back(crypto::Hash{});
  r.hashes.back().fill(7);
  std::vector<KeyRotationProof> two{r, r};
  two[1].index = 90;
  two[1].hashes.clear();
  Result<std::vector<KeyRotationProof>> back = ParseKeyRotations(EncodeKeyRotations(two));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].event, r.event);
  EXPECT_EQ((*back)[0].index, 41u);
  EXPECT_EQ((*back)[0].hashes, r.hashes);
  EXPECT_EQ((*back)[1].index, 90u);
  EXPECT_TRUE((*back)[1].hashes.empty());
  EXPECT_TRUE(ParseKeyRotations("mirrorca.key-rotations/v1\n")->empty());
  for (const char* bad : {"", "wrong header\n", "mirrorca.key-rotations/v1\nextra AQID\nindex 4\n",  // no end
                          "mirrorca.key-rotations/v1\nindex 4\n\n",                          // no extra
                          "mirrorca.key-rotations/v1\nextra !!\nindex 4\n\n",               // bad base64
                          "mirrorca.key-rotations/v1\nextra AQID\nindex 04\n\n",            // leading zero
                          "mirrorca.key-rotations/v1\nextra AQID\nindex 4\nAQID\n\n"}) {  // short hash
    EXPECT_FALSE(ParseKeyRotations(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace mirrorca::audit
