// Frames and packages from a hostile peer: random bytes, truncations and
// oversize announcements give clean errors, never a crash or a big allocation.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "replication/framing.h"
#include "replication/package.h"

namespace mirrorca::replication {
namespace {

Result<std::unique_ptr<Frame>> FromBytes(const std::string& bytes) {
  size_t off = 0;
  return ReadFrame([&](void* out, size_t n) -> Status {
    if (bytes.size() - off < n) return Status::Unavailable("eof");
    std::memcpy(out, bytes.data() + off, n);
    off += n;
    return Status::Ok();
  });
}

std::string Encode(capnp::MessageBuilder& m) {
  auto words = EncodeFrame(m);
  return std::string(reinterpret_cast<const char*>(words.begin()), words.size() * 8);
}

TEST(FramingTest, RoundTrip) {
  capnp::MallocMessageBuilder m;
  auto h = m.initRoot<wire::Message>().initHello();
  h.setOwnLog("factory.example/log");
  h.setOwnSize(42);
  auto f = FromBytes(Encode(m));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE(ReadGuarded([&]() -> Status {
                EXPECT_EQ((*f)->message().getHello().getOwnSize(), 42u);
                return Status::Ok();
              }).ok());
}

TEST(FramingTest, OversizeAnnouncedFrameRefusedBeforeReading) {
  std::string bytes(8, '\0');
  uint32_t seg_size = (kMaxFrameBytes / 8) + 1;
  std::memcpy(&bytes[4], &seg_size, 4);
  auto f = FromBytes(bytes);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  uint32_t many = 100000;
  std::memcpy(&bytes[0], &many, 4);
  EXPECT_EQ(FromBytes(bytes).status().code(), StatusCode::kInvalidArgument);
}

TEST(FramingTest, RandomFramesNeverCrash) {
  std::mt19937_64 rng(1);
  capnp::MallocMessageBuilder m;
  auto p = m.initRoot<wire::Message>().initPackage();
  p.setFirstSeq(3);
  p.setCount(2);
  p.initConsistency(2);
  const std::string good = Encode(m);
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = good;
    if (i % 2 == 0) {
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    } else {
      bytes.resize(8 + rng() % 64);
      for (char& c : bytes) c = static_cast<char>(rng());
      bytes[0] = static_cast<char>(rng() % 3);
      bytes[1] = bytes[2] = bytes[3] = 0;
    }
    auto f = FromBytes(bytes);
    if (!f.ok()) continue;
    Status s = ReadGuarded([&]() -> Status {
      auto msg = (*f)->message();
      if (msg.isPackage()) {
        auto pk = msg.getPackage();
        (void)pk.getEntries().size();
        for (auto h : pk.getConsistency()) (void)h.size();
      }
      return Status::Ok();
    });
    (void)s;  // either way: no crash
  }
}

TEST(PackageTest, RoundTripAndHostileInput) {
  std::vector<std::string> events = {"alpha", std::string(1000, 'b'), "c"};
  auto enc = CompressEntries(events);
  ASSERT_TRUE(enc.ok());
  ByteSpan z(reinterpret_cast<const uint8_t*>(enc->compressed.data()), enc->compressed.size());
  auto dec = DecompressEntries(z, enc->raw_size, 3);
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_EQ(*dec, events);
  EXPECT_FALSE(DecompressEntries(z, enc->raw_size, 2).ok());      // count mismatch
  EXPECT_FALSE(DecompressEntries(z, enc->raw_size + 1, 3).ok());  // size mismatch
  EXPECT_FALSE(DecompressEntries(z, kMaxPackageRawBytes + 1, 3).ok());
  EXPECT_FALSE(DecompressEntries(z, enc->raw_size, 0).ok());
  std::mt19937_64 rng(2);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = enc->compressed;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    auto r = DecompressEntries(ByteSpan(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()),
                               enc->raw_size, 3);
    if (r.ok()) {
      EXPECT_EQ(r->size(), 3u);
    }
  }
}

}  // namespace
}  // namespace mirrorca::replication
