#include "ca/profile.h"

#include <gtest/gtest.h>

namespace mirrorca::ca {
namespace {

TEST(ProfileTest, EveryBuiltinProfileParses) {
  std::vector<std::string> names = BuiltinProfileNames();
  for (const char* want : {"idevid", "matter-dac", "matter-pai", "iec62443", "issuing-ca",
                           "root-ca", "tls-server", "tls-client"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  for (const std::string& n : names) {
    Result<Profile> p = BuiltinProfile(n);
    ASSERT_TRUE(p.ok()) << n << ": " << p.status();
    EXPECT_EQ(p->name, n);
  }
}

TEST(ProfileTest, MatterDacIsRestricted) {
  Result<Profile> p = BuiltinProfile("matter-dac");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->AllowsKey(KeyType::kP256));
  EXPECT_FALSE(p->AllowsKey(KeyType::kP384));
  EXPECT_FALSE(p->AllowsKey(KeyType::kRsa2048));
  EXPECT_EQ(p->digest, "sha256");
  EXPECT_EQ(p->basic_constraints, BasicConstraints::kCaFalseCritical);
  EXPECT_EQ(p->key_usage, std::vector<std::string>{"digitalSignature"});
}

constexpr const char* kMinimal = R"(
name = "x"
kind = "end-entity"
keys = ["p256"]
device_serial_pattern = "^[0-9]+$"
[validity]
days = 10
[subject]
attributes = [{ type = "CN", value = "{device_serial}" }]
[extensions]
key_usage = ["digitalSignature"]
)";

TEST(ProfileTest, MinimalProfileParses) {
  Result<Profile> p = ParseProfile(kMinimal);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->validity_days, 10);
  EXPECT_TRUE(p->key_usage_critical);
}

TEST(ProfileTest, BadProfilesAreRefusedWithTheKey) {
  struct Case {
    std::string from, to, key;
  };
  const Case cases[] = {
      {"keys = [\"p256\"]", "keys = [\"p255\"]", "keys"},
      {"keys = [\"p256\"]", "keys = []", "keys"},
      {"days = 10", "days = 10\nnot_after = \"99991231235959Z\"", "validity"},
      {"days = 10", "", "validity"},
      {"kind = \"end-entity\"", "kind = \"leaf\"", "kind"},
      {"type = \"CN\"", "type = \"XYZ\"", "subject.attributes.type"},
      {"[\"digitalSignature\"]", "[\"keyCertSign\"]", "extensions.key_usage"},
      {"[\"digitalSignature\"]", "[\"signEverything\"]", "extensions.key_usage"},
      {"name = \"x\"", "name = \"x\"\ncolour = \"red\"", "colour"},
      {"name = \"x\"", "name = 7", "name"},
      {"[validity]", "[validity", "profile"},
  };
  for (const Case& c : cases) {
    std::string text = kMinimal;
    size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    Result<Profile> p = ParseProfile(text);
    ASSERT_FALSE(p.ok()) << c.to;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(p.status().message().find(c.key), std::string::npos) << p.status();
  }
}

TEST(ProfileTest, TemplatesExpandOnlyKnownValues) {
  TemplateValues v{{"device_serial", "SN1"}, {"vid", "FFF1"}};
  EXPECT_EQ(*ExpandTemplate("dev {device_serial} of {vid}", v), "dev SN1 of FFF1");
  EXPECT_EQ(*ExpandTemplate("plain", v), "plain");
  EXPECT_FALSE(ExpandTemplate("{pid}", v).ok());
  EXPECT_FALSE(ExpandTemplate("{device_serial", v).ok());
}

}  // namespace
}  // namespace mirrorca::ca
