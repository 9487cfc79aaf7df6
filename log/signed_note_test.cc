// C2SP signed-note known answers (the golang.org/x/mod/sumdb/note example
// used by the spec) and checkpoint parsing.
#include <gtest/gtest.h>

#include "base/encoding.h"
#include "base/mem_env.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "log/signed_note.h"

namespace mirrorca::log {
namespace {

constexpr char kVerifierKey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
// The private key "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz":
// base64 of 0x01 || the 32-byte Ed25519 seed.
constexpr char kSeedB64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr char kText[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr char kNote[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

LogSigner PeterSigner() {
  Bytes typed = *Base64Decode(kSeedB64);
  return *LogSigner::FromSeed("PeterNeumann", ByteSpan(typed.data() + 1, 32));
}

TEST(SignedNoteTest, VerifierKeyKnownAnswer) {
  EXPECT_EQ(PeterSigner().verifier().VerifierKey(), kVerifierKey);
  Result<LogVerifier> v = LogVerifier::Parse(kVerifierKey);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(HexEncode(v->key_id()), "c74f20a3");
}

TEST(SignedNoteTest, SignKnownAnswer) {
  Result<std::string> note = SignNote(kText, PeterSigner());
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(*note, kNote);
}

TEST(SignedNoteTest, OpenKnownAnswerAndRejectTampering) {
  LogVerifier v = *LogVerifier::Parse(kVerifierKey);
  Result<SignedNote> parsed = SignedNote::Parse(kNote);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->text, kText);
  EXPECT_TRUE(VerifyNote(*parsed, v).ok());
  EXPECT_EQ(parsed->Serialize(), kNote);

  std::string tampered = kNote;
  tampered.replace(tampered.find("cryptography"), 12, "cryptographY");
  EXPECT_EQ(VerifyNote(*SignedNote::Parse(tampered), v).code(), StatusCode::kCorruption);

  LogSigner other = *LogSigner::Generate("Other");
  EXPECT_EQ(VerifyNote(*parsed, other.verifier()).code(), StatusCode::kNotFound);
}

TEST(SignedNoteTest, RejectsMalformedNotesAndKeys) {
  EXPECT_FALSE(SignedNote::Parse("no blank line\n").ok());
  EXPECT_FALSE(SignedNote::Parse("text\n\n-- Peter abc=\n").ok());
  EXPECT_FALSE(SignedNote::Parse("text\n\n\xE2\x80\x94 Peter !!!!\n").ok());
  EXPECT_FALSE(SignedNote::Parse("text\n\n\xE2\x80\x94 Peter AAAA").ok());
  EXPECT_FALSE(LogVerifier::Parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
  EXPECT_FALSE(LogVerifier::Parse("PeterNeumann+c74f20a3+AhRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
  EXPECT_FALSE(LogVerifier::Parse("garbage").ok());
  EXPECT_FALSE(SignNote("two\n\nparagraphs\n", PeterSigner()).ok());
}

TEST(CheckpointTest, RoundTripAndVerification) {
  LogSigner signer = *LogSigner::Generate("example.com/log");
  Checkpoint cp;
  cp.origin = "example.com/log";
  cp.tree_size = 42;
  cp.root_hash.fill(7);
  std::string note = *SignCheckpoint(cp, signer);
  EXPECT_EQ(note.substr(0, note.find("\n\n") + 1),
            "example.com/log\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n");
  Result<Checkpoint> back = OpenCheckpoint(note, signer.verifier());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->tree_size, 42u);
  EXPECT_EQ(back->root_hash, cp.root_hash);

  std::string forged = note;
  forged.replace(forged.find("\n42\n"), 4, "\n43\n");
  EXPECT_EQ(OpenCheckpoint(forged, signer.verifier()).status().code(), StatusCode::kCorruption);
  EXPECT_FALSE(Checkpoint::ParseText("o\n042\nAA==\n").ok());
  EXPECT_FALSE(Checkpoint::ParseText("o\n1\nAA==\n").ok());
  EXPECT_FALSE(Checkpoint::ParseText("o\n-1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n").ok());
}

TEST(LogKeyTest, PemRoundTripIs0600AndRefusesLooseModes) {
  MemEnv env;
  LogSigner s = *LogSigner::Generate("factory.example/log");
  ASSERT_TRUE(s.SavePem(&env, "/k.pem").ok());
  EXPECT_EQ(*env.FileMode("/k.pem"), 0600u);
  Result<LogSigner> back = LogSigner::Open(&env, "/k.pem", "factory.example/log");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->verifier().VerifierKey(), s.verifier().VerifierKey());

  std::string pem = *env.ReadFile("/k.pem", 1 << 16);
  ASSERT_TRUE(env.WriteFileAtomic("/loose.pem", pem, 0644).ok());
  EXPECT_EQ(LogSigner::Open(&env, "/loose.pem", "x").status().code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(env.WriteFileAtomic("/bad.pem", pem.substr(0, pem.size() / 2), 0600).ok());
  EXPECT_EQ(LogSigner::Open(&env, "/bad.pem", "x").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mirrorca::log

namespace mirrorca::log {
namespace {

// tlog-cosignature v1: the line verifies, names its timestamp, survives a
// second cosignature by another key, and fails on any change of the note.
TEST(CosignatureTest, SignVerifyAndTamper) {
  auto log = LogSigner::Generate("example.com/factory");
  auto hq = LogSigner::Generate("example.com/hq");
  auto other = LogSigner::Generate("example.com/other");
  ASSERT_TRUE(log.ok() && hq.ok() && other.ok());
  auto note = SignNote("example.com/factory\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", *log);
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(VerifyCosignature(*note, hq->verifier()).status().code(), StatusCode::kNotFound);
  auto cosigned = Cosign(*note, *hq, 1679315147);
  ASSERT_TRUE(cosigned.ok()) << cosigned.status();
  auto ts = VerifyCosignature(*cosigned, hq->verifier());
  ASSERT_TRUE(ts.ok()) << ts.status();
  EXPECT_EQ(*ts, 1679315147u);
  // Still a valid checkpoint note for the log key.
  auto parsed = SignedNote::Parse(*cosigned);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(VerifyNote(*parsed, log->verifier()).ok());
  // The cosigner key id uses type 0x04, not the note key's 0x01.
  EXPECT_NE(CosignerKeyId(hq->name(), hq->verifier().public_key()), hq->verifier().key_id());
  // Re-cosigning replaces the earlier line.
  auto again = Cosign(*cosigned, *hq, 1679315200);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(SignedNote::Parse(*again)->signatures.size(), 2u);
  EXPECT_EQ(*VerifyCosignature(*again, hq->verifier()), 1679315200u);
  // Another key's cosignature is not HQ's.
  auto by_other = Cosign(*note, *other, 1);
  ASSERT_TRUE(by_other.ok());
  EXPECT_EQ(VerifyCosignature(*by_other, hq->verifier()).status().code(), StatusCode::kNotFound);
  // Changing the size line breaks the cosignature.
  std::string tampered = *cosigned;
  tampered.replace(tampered.find("\n7\n"), 3, "\n8\n");
  EXPECT_EQ(VerifyCosignature(tampered, hq->verifier()).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace mirrorca::log
