// BatchSecrets: only a private file of a well-named batch is a secret.
#include "enrollment/batch_secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "log/test_util.h"

namespace mirrorca::enrollment {
namespace {

void Write(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

TEST(BatchSecretsTest, APrivateFilePerBatchAndNothingElse) {
  log::testing::TempDir dir;
  BatchSecrets secrets(dir.path());
  Write(dir.path() + "/B1.secret", "line one secret\nignored\n", 0600);
  Write(dir.path() + "/B2.secret", "readable by all\n", 0644);
  Write(dir.path() + "/B3.secret", "\n", 0600);
  Write(dir.path() + "/outside", "not a batch\n", 0600);
  auto b1 = secrets.Read("B1");
  ASSERT_TRUE(b1.ok()) << b1.status();
  EXPECT_EQ(b1->value(), "line one secret");
  auto none = secrets.Read("B9");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto open = secrets.Read("B2");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("chmod 600"), std::string::npos);
  EXPECT_FALSE(secrets.Read("B3").ok()) << "an empty first line is no secret";
  for (const char* bad : {"../outside", "..", ".hidden", "a/b", "", "B1\n"}) {
    EXPECT_FALSE(secrets.Read(bad).ok()) << bad;
  }
  ASSERT_EQ(::symlink((dir.path() + "/B1.secret").c_str(), (dir.path() + "/L.secret").c_str()), 0);
  EXPECT_FALSE(secrets.Read("L").ok()) << "a symlink is not followed";
  auto off = BatchSecrets("").Read("B1");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->has_value()) << "no directory configured: no MAC for any batch";
}

}  // namespace
}  // namespace mirrorca::enrollment
