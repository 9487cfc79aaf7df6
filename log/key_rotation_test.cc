// Log key rotation: a logKeyRotated event signed by the key in force hands
// the log to the next key. The owner signs everything after it (and the
// checkpoint that includes it) with the new key; a copy follows the chain of
// keys as events arrive; VerifyLog re-derives the chain from the events.
// Attacks: a rotation signed by the wrong key, a rotation back to an old key,
// a rotation slipped in through plain Append, a forged stored key history.
#include <gtest/gtest.h>

#include "base/encoding.h"
#include "log/checkpoint.h"
#include "log/event_codec.h"
#include "log/event_log.h"
#include "log/key_history.h"
#include "log/local_log.h"
#include "log/log_verification.h"
#include "log/test_util.h"

namespace mirrorca::log {
namespace {

using testing::LogFixture;
using testing::TempDir;
using testing::TestDrafts;

std::vector<std::string> AllEvents(EventLog& log) {
  std::vector<std::string> out;
  EXPECT_TRUE(log.ForEach(0, log.Size(), [&](uint64_t, std::string_view b) {
                   out.emplace_back(b);
                   return Status::Ok();
                 }).ok());
  return out;
}

// SignedEventAt builds event `seq` continuing `prev` (or the empty log),
// with `kind` set by `fill`, signed by `key`.
template <typename Fill>
std::string SignedEventAt(const std::string& origin, uint64_t seq, const std::string* prev, const LogSigner& key,
                          Fill fill) {
  EventDraft d;
  fill(d.event().getKind());
  d.event().setLogId(origin);
  d.event().setSeq(seq);
  Hash prev_hash{};
  int64_t time = 1;
  if (prev != nullptr) {
    ParsedEvent p = *ParsedEvent::Parse(AsBytes(*prev));
    prev_hash = BodyHash(p.body());
    time = p.event().getTime();
  }
  d.event().setTime(time);
  d.event().setPrevHash(kj::ArrayPtr<const kj::byte>(prev_hash.data(), 32));
  std::string body = *EncodeCanonicalBody(d.event().asReader());
  Bytes sig = *key.Sign(EventSigningInput(AsBytes(body)));
  return EncodeSignedEvent(AsBytes(body), sig);
}

TEST(KeyRotationTest, TheOwnerSignsWithTheNewKeyFromTheRotationOn) {
  LogFixture f({.checkpoint_interval = 4});
  ASSERT_TRUE(f.log->Append(TestDrafts(10)).ok());
  LogSigner next = *LogSigner::Generate(f.origin);
  Result<std::string> cp = f.log->RotateKey(next, "yearly rotation");
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(f.log->Size(), 11u);
  // The checkpoint that includes the rotation is the new key's, not the old one's.
  EXPECT_TRUE(OpenCheckpoint(*cp, next.verifier()).ok());
  EXPECT_FALSE(OpenCheckpoint(*cp, f.signer.verifier()).ok());
  EXPECT_TRUE(OpenCheckpoint(*cp, *f.log->keys()).ok());
  ASSERT_TRUE(f.log->Append(TestDrafts(9)).ok());  // one group: a checkpoint at 20
  std::vector<std::string> events = AllEvents(*f.log);
  ParsedEvent rotation = *ParsedEvent::Parse(AsBytes(events[10]));
  EXPECT_EQ(rotation.event().getKind().which(), schema::Event::Kind::LOG_KEY_ROTATED);
  EXPECT_TRUE(f.signer.verifier().Verify(EventSigningInput(rotation.body()), rotation.signature()));
  ParsedEvent after = *ParsedEvent::Parse(AsBytes(events[11]));
  EXPECT_TRUE(next.verifier().Verify(EventSigningInput(after.body()), after.signature()));
  EXPECT_FALSE(f.signer.verifier().Verify(EventSigningInput(after.body()), after.signature()));

  Result<VerifyReport> report = VerifyLog(*f.log);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->Summary(f.origin);
  EXPECT_EQ(report->key_rotations, 1u);
  EXPECT_EQ(report->checkpoints, 3u);  // size 10 (old key), 11 and 20 (new key)

  // Reopened with the old key: refused by name; with the new one: it appends.
  f.log.reset();
  Result<std::unique_ptr<EventLog>> old = EventLog::Open(f.store.get(), f.origin, f.signer);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(old.status().message().find("rotated out"), std::string::npos);
  f.signer = next;
  f.Reopen();
  ASSERT_NE(f.log, nullptr);
  EXPECT_TRUE(f.log->keys()->rotated());
  ASSERT_TRUE(f.log->Append(TestDrafts(2)).ok());
  EXPECT_TRUE(VerifyLog(*f.log)->ok);
}

TEST(KeyRotationTest, ACopyFollowsTheChainOfKeys) {
  LogFixture f;
  ASSERT_TRUE(f.log->Append(TestDrafts(5)).ok());
  LogSigner next = *LogSigner::Generate(f.origin);
  ASSERT_TRUE(f.log->RotateKey(next, "").ok());
  ASSERT_TRUE(f.log->Append(TestDrafts(5)).ok());
  std::string cp = *f.log->SignCheckpoint();

  TempDir dir;
  auto store = std::move(*Store::Open(dir.path() + "/store", StoreOptions{.create_if_missing = true}));
  // The copy pins the first key only.
  auto copy = std::move(*EventLog::OpenCopy(store.get(), f.signer.verifier()));
  std::vector<std::string> events = AllEvents(*f.log);
  // In two parts, the rotation inside the second.
  ASSERT_TRUE(copy->AppendVerified({events.begin(), events.begin() + 3}).ok());
  Result<AppendResult> rest = copy->AppendVerified({events.begin() + 3, events.end()});
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_TRUE(copy->keys()->rotated());
  EXPECT_EQ(copy->keys()->current().VerifierKey(), next.verifier().VerifierKey());
  ASSERT_TRUE(copy->StoreCheckpoint(cp).ok());
  EXPECT_TRUE(VerifyLog(*copy)->ok);
  // It survives a reopen of the copy.
  copy.reset();
  copy = std::move(*EventLog::OpenCopy(store.get(), f.signer.verifier()));
  EXPECT_TRUE(copy->keys()->rotated());
  EXPECT_TRUE(VerifyLog(*copy)->ok);
}

TEST(KeyRotationTest, ARotationSignedByTheWrongKeyIsRefused) {
  LogFixture f;
  ASSERT_TRUE(f.log->Append(TestDrafts(3)).ok());
  std::vector<std::string> events = AllEvents(*f.log);
  // An attacker with a key of the same name hands the log to itself.
  LogSigner attacker = *LogSigner::Generate(f.origin);
  std::string forged = SignedEventAt(f.origin, 3, &events[2], attacker, [&](auto kind) {
    kind.initLogKeyRotated().setNewKey(attacker.verifier().VerifierKey());
  });
  std::string after = SignedEventAt(f.origin, 4, &forged, attacker, [](auto kind) {
    kind.initTestEvent().setNote("attacker's");
  });
  TempDir dir;
  auto store = std::move(*Store::Open(dir.path() + "/store", StoreOptions{.create_if_missing = true}));
  auto copy = std::move(*EventLog::OpenCopy(store.get(), f.signer.verifier()));
  ASSERT_TRUE(copy->AppendVerified(events).ok());
  Result<AppendResult> r = copy->AppendVerified({forged, after});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status();
  EXPECT_EQ(copy->Size(), 3u);
  EXPECT_FALSE(copy->keys()->rotated());

  // Signed by the right key but naming another log's key, or the old key again: refused.
  LogSigner foreign = *LogSigner::Generate("other.example/log");
  std::string wrong_name = SignedEventAt(f.origin, 3, &events[2], f.signer, [&](auto kind) {
    kind.initLogKeyRotated().setNewKey(foreign.verifier().VerifierKey());
  });
  EXPECT_EQ(copy->AppendVerified({wrong_name}).status().code(), StatusCode::kInvalidArgument);
  std::string back = SignedEventAt(f.origin, 3, &events[2], f.signer, [&](auto kind) {
    kind.initLogKeyRotated().setNewKey(f.signer.verifier().VerifierKey());
  });
  EXPECT_EQ(copy->AppendVerified({back}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(copy->Size(), 3u);

  // The owner cannot slip a rotation in with a plain Append, nor rotate to its own key.
  EventDraft d;
  d.event().getKind().initLogKeyRotated().setNewKey(attacker.verifier().VerifierKey());
  std::vector<EventDraft> drafts;
  drafts.push_back(std::move(d));
  EXPECT_EQ(f.log->Append(std::move(drafts)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.log->RotateKey(f.signer, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.log->RotateKey(foreign, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.log->Size(), 3u);
}

TEST(KeyRotationTest, AForgedStoredKeyHistoryFailsVerification) {
  LogFixture f;
  ASSERT_TRUE(f.log->Append(TestDrafts(4)).ok());
  // Someone with write access to the store claims a rotation the events never made.
  LogSigner attacker = *LogSigner::Generate(f.origin);
  KeyHistory fake(f.signer.verifier());
  ASSERT_TRUE(fake.Rotate(1, attacker.verifier()).ok());
  rocksdb::WriteBatch batch;
  batch.Put(f.store->meta(), "keys/" + HexEncode(AsBytes(f.log->key_prefix())), fake.Serialize());
  ASSERT_TRUE(f.store->WriteDurably(&batch).ok());
  f.log.reset();
  auto reopened = EventLog::Open(f.store.get(), f.origin, std::nullopt);
  ASSERT_TRUE(reopened.ok());
  Result<VerifyReport> report = VerifyLog(**reopened);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
}

// A crash after the rotation became durable but before the new key took the
// old one's place: the next open finishes the swap.
TEST(KeyRotationTest, AnInterruptedRotationIsFinishedAtTheNextOpen) {
  TempDir dir;
  Env* env = Env::Default();
  const std::string data = dir.path() + "/node";
  {
    Result<LocalLog> local = InitLocalLog(env, data, "crash.example/log");
    ASSERT_TRUE(local.ok()) << local.status();
    ASSERT_TRUE(local->log->Append(TestDrafts(5)).ok());
    // What rotate-key does up to the swap: the new key waits beside the old one.
    Result<LogSigner> next = LogSigner::Create(env, {}, LogKeyPath(data) + ".next", "crash.example/log");
    ASSERT_TRUE(next.ok());
    ASSERT_TRUE(local->log->RotateKey(*next, "crash test").ok());
  }  // "crash": log_key.pem is still the rotated-out key
  Result<LocalLog> reopened = OpenLocalLog(env, data, /*with_key=*/true);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_FALSE(env->FileExists(LogKeyPath(data) + ".next"));
  Result<LogSigner> now = LogSigner::Open(env, LogKeyPath(data), "crash.example/log");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->verifier().VerifierKey(), reopened->log->keys()->current().VerifierKey());
  ASSERT_TRUE(reopened->log->Append(TestDrafts(2)).ok());
  EXPECT_TRUE(VerifyLog(*reopened->log)->ok);
  // rotate-key itself: a second rotation, through the whole command path.
  reopened = Status::Internal("closed");
  Result<KeyRotation> r = RotateLocalLogKey(env, data, "second");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rotation_seq, 8u);
  Result<LocalLog> again = OpenLocalLog(env, data, true);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->log->keys()->epochs().size(), 3u);
  EXPECT_EQ(again->log->keys()->current().VerifierKey(), r->new_key);
}

TEST(KeyHistoryTest, KeyAtAndSerialization) {
  LogSigner a = *LogSigner::Generate("h.example/log"), b = *LogSigner::Generate("h.example/log"),
            c = *LogSigner::Generate("h.example/log");
  KeyHistory h(a.verifier());
  ASSERT_TRUE(h.Rotate(9, b.verifier()).ok());
  ASSERT_TRUE(h.Rotate(20, c.verifier()).ok());
  EXPECT_FALSE(h.Rotate(20, *LogVerifier::FromPublicKey("h.example/log", Bytes(32, 7))).ok());  // not after
  EXPECT_EQ(h.KeyAt(0).public_key(), a.verifier().public_key());
  EXPECT_EQ(h.KeyAt(9).public_key(), a.verifier().public_key());   // the rotation event itself
  EXPECT_EQ(h.KeyAt(10).public_key(), b.verifier().public_key());  // the tree that includes it
  EXPECT_EQ(h.KeyAt(21).public_key(), c.verifier().public_key());
  Result<KeyHistory> back = KeyHistory::Parse(h.Serialize());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Serialize(), h.Serialize());
  EXPECT_FALSE(KeyHistory::Parse("5 " + a.verifier().VerifierKey() + "\n").ok());
  EXPECT_FALSE(KeyHistory::Parse("").ok());
}

}  // namespace
}  // namespace mirrorca::log
