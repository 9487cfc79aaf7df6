#include "base/encoding.h"

#include <gtest/gtest.h>

namespace mirrorca {
namespace {

TEST(EncodingTest, HexRoundTrip) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "0001abff");
  EXPECT_EQ(*HexDecode("0001ABff"), b);
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

TEST(EncodingTest, Base64Rfc4648Vectors) {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(Base64Encode(AsBytes(plain[i])), coded[i]);
    Result<Bytes> d = Base64Decode(coded[i]);
    ASSERT_TRUE(d.ok()) << coded[i];
    EXPECT_EQ(ToString(*d), plain[i]);
  }
}

TEST(EncodingTest, Base64RejectsMalformed) {
  EXPECT_FALSE(Base64Decode("Zg=").ok());       // length
  EXPECT_FALSE(Base64Decode("Z!==").ok());      // alphabet
  EXPECT_FALSE(Base64Decode("Zh==").ok());      // non-zero pad bits
  EXPECT_FALSE(Base64Decode("Zg==Zg==").ok());  // padding in the middle
}

}  // namespace
TEST(EncodingTest, PercentDecode) {
  EXPECT_EQ(*PercentDecode("MEIw%2BQ%2F%3D%3d+x"), "MEIw+Q/==+x");
  EXPECT_FALSE(PercentDecode("abc%2").ok());
  EXPECT_FALSE(PercentDecode("abc%").ok());
  EXPECT_FALSE(PercentDecode("%zz").ok());
}

}  // namespace mirrorca
