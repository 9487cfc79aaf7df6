// Key references: file paths, RFC 7512 pkcs11: URIs with every attribute we
// use, and the refusals — a PIN in the URI, unknown or repeated attributes,
// bad percent encoding, a key named by nothing. A PIN is read only from a
// 0600 file or the environment and never printed.
#include "crypto/key_ref.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/env.h"
#include <filesystem>

namespace mirrorca::crypto {
namespace {

TEST(KeyRefTest, AFilePathIsAFileKey) {
  auto r = ParseKeyRef("factory/ca/ca.key");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->is_pkcs11());
  EXPECT_EQ(r->path, "factory/ca/ca.key");
  EXPECT_EQ(r->ToString(), "factory/ca/ca.key");
  EXPECT_FALSE(ParseKeyRef("").ok());
}

TEST(KeyRefTest, Pkcs11UrisNameTokenObjectIdModuleAndPinSource) {
  auto r = ParseKeyRef(
      "pkcs11:token=mirrorca%20hq;object=factory-ca;id=%01%02;type=private"
      "?pin-source=file:/etc/mirrorca/pin&module-path=/usr/lib/softhsm/libsofthsm2.so");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->is_pkcs11());
  EXPECT_EQ(r->token, "mirrorca hq");
  EXPECT_EQ(r->object, "factory-ca");
  EXPECT_EQ(r->id, (Bytes{1, 2}));
  EXPECT_EQ(r->pin_source, "file:/etc/mirrorca/pin");
  EXPECT_EQ(r->module_path, "/usr/lib/softhsm/libsofthsm2.so");
  // It prints back to an equal reference.
  auto again = ParseKeyRef(r->ToString());
  ASSERT_TRUE(again.ok()) << r->ToString();
  EXPECT_EQ(again->token, r->token);
  EXPECT_EQ(again->id, r->id);
  EXPECT_EQ(again->pin_source, r->pin_source);
}

TEST(KeyRefTest, APinInTheUriAndMalformedUrisAreRefused) {
  for (const char* bad : {
           "pkcs11:object=k?pin-value=1234",              // a PIN where argv and logs show it
           "pkcs11:token=t",                               // no object, no id
           "pkcs11:object=k;object=l",                     // repeated
           "pkcs11:object=k;colour=blue",                  // unknown
           "pkcs11:object=k%2",                            // bad percent encoding
           "pkcs11:object=k%zz",
           "pkcs11:object=k;type=public",                  // not a private key
           "pkcs11:object=k?pin-source=https://example",   // neither file: nor env:
           "pkcs11:object",                                // not name=value
       }) {
    auto r = ParseKeyRef(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  auto pin = ParseKeyRef("pkcs11:object=k?pin-value=1234");
  EXPECT_EQ(pin.status().message().find("1234"), std::string::npos) << "the refusal repeats the PIN";
}

TEST(KeyRefTest, APinComesFromA0600FileOrTheEnvironmentOnly) {
  std::string dir = (std::filesystem::temp_directory_path() / "mirrorca-pin-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  Env* env = Env::Default();
  const std::string path = dir + "/pin";
  ASSERT_TRUE(env->WriteFileAtomic(path, "5678\n", 0600).ok());
  auto ref = ParseKeyRef("pkcs11:object=k?pin-source=file:" + path);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(*ReadPin(env, *ref), "5678");
  EXPECT_EQ(ref->ToString().find("5678"), std::string::npos);
  ASSERT_TRUE(env->WriteFileAtomic(path, "5678\n", 0644).ok());
  EXPECT_EQ(ReadPin(env, *ref).status().code(), StatusCode::kPermissionDenied);
  ::setenv("MIRRORCA_TEST_PIN", "9012", 1);
  auto from_env = ParseKeyRef("pkcs11:object=k?pin-source=env:MIRRORCA_TEST_PIN");
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(*ReadPin(env, *from_env), "9012");
  ::unsetenv("MIRRORCA_TEST_PIN");
  EXPECT_EQ(ReadPin(env, *from_env).status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mirrorca::crypto
