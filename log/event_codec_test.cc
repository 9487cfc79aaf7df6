#include "log/event_codec.h"

#include <gtest/gtest.h>

#include "log/event_draft.h"
#include "log/log_key.h"
#include "log/test_util.h"

namespace mirrorca::log {
namespace {

std::string SampleBody() {
  EventDraft d = testing::TestDraft("hello");
  d.event().setLogId("o");
  d.event().setSeq(3);
  return *EncodeCanonicalBody(d.event().asReader());
}

TEST(EventCodecTest, RoundTripKeepsExactBytes) {
  std::string body = SampleBody();
  Bytes sig(64, 0xab);
  std::string stored = EncodeSignedEvent(AsBytes(body), sig);
  Result<ParsedEvent> p = ParsedEvent::Parse(AsBytes(stored));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(AsChars(p->body()), body);
  EXPECT_EQ(Bytes(p->signature().begin(), p->signature().end()), sig);
  EXPECT_EQ(p->seq(), 3u);
  EXPECT_EQ(EncodeSignedEvent(p->body(), p->signature()), stored);  // canonical: unique bytes
}

TEST(EventCodecTest, DirectEncodingEqualsCapnpCanonicalForm) {
  std::string body = SampleBody();
  Bytes sig(64, 0x5a);
  std::string direct = EncodeSignedEvent(AsBytes(body), sig);
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::SignedEvent>();
  root.setBody(kj::ArrayPtr<const kj::byte>(reinterpret_cast<const kj::byte*>(body.data()), body.size()));
  root.setSignature(kj::ArrayPtr<const kj::byte>(sig.data(), sig.size()));
  kj::Array<capnp::word> words = capnp::canonicalize(root.asReader());
  std::string reference(8, '\0');
  reference[4] = static_cast<char>(words.size());
  reference.append(reinterpret_cast<const char*>(words.begin()), words.size() * 8);
  EXPECT_EQ(direct, reference);
}

TEST(EventCodecTest, SigningInputHasContextAndSeparator) {
  Bytes in = EventSigningInput(AsBytes("xy"));
  EXPECT_EQ(std::string(in.begin(), in.end()), std::string("mirrorca-event-v1\0xy", 20));
}

TEST(EventCodecTest, UnsetKindIsRefused) {
  EventDraft d;
  EXPECT_EQ(EncodeCanonicalBody(d.event().asReader()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, CorruptBytesGiveCorruptionNeverACrash) {
  std::string stored = EncodeSignedEvent(AsBytes(SampleBody()), Bytes(64, 1));
  EXPECT_EQ(ParsedEvent::Parse(AsBytes("")).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(ParsedEvent::Parse(AsBytes(stored.substr(0, stored.size() - 8))).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(ParsedEvent::Parse(AsBytes(stored + std::string(8, '\0'))).status().code(),
            StatusCode::kCorruption);
  // Every single-byte flip either still parses or fails cleanly.
  int failures = 0;
  for (size_t i = 0; i < stored.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80, 0xff}) {
      std::string bad = stored;
      bad[i] = static_cast<char>(bad[i] ^ bit);
      Result<ParsedEvent> p = ParsedEvent::Parse(AsBytes(bad));
      if (!p.ok()) {
        EXPECT_EQ(p.status().code(), StatusCode::kCorruption);
        ++failures;
      }
    }
  }
  EXPECT_GT(failures, 0);
  // Random garbage of word-aligned sizes.
  std::srand(7);
  for (int round = 0; round < 2000; ++round) {
    std::string junk(8 * (1 + std::rand() % 40), '\0');
    for (char& c : junk) c = static_cast<char>(std::rand());
    junk[0] = junk[1] = junk[2] = junk[3] = 0;
    uint32_t words = static_cast<uint32_t>(junk.size() / 8 - 1);
    std::memcpy(junk.data() + 4, &words, 4);
    (void)ParsedEvent::Parse(AsBytes(junk));
  }
}

}  // namespace
}  // namespace mirrorca::log
