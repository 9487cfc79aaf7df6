#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/env.h"
#include "base/fault_injection_env.h"
#include "base/mem_env.h"
#include "base/parallel_for.h"

namespace mirrorca {
namespace {

TEST(PosixEnvTest, WriteFileAtomicSetsModeExactly) {
  std::string dir = ::testing::TempDir() + "/env_test_" + std::to_string(::getpid());
  Env* env = Env::Default();
  ASSERT_TRUE(env->CreateDirs(dir).ok());
  std::string path = dir + "/secret.pem";
  ::umask(0);  // even with a permissive umask the file must be 0600
  ASSERT_TRUE(env->WriteFileAtomic(path, "key", 0600).ok());
  EXPECT_EQ(*env->FileMode(path), 0600u);
  EXPECT_EQ(*env->ReadFile(path), "key");
  EXPECT_EQ(env->ReadFile(dir + "/missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env->ReadFile(path, 2).status().code(), StatusCode::kResourceExhausted);
  std::filesystem::remove_all(dir);
}

TEST(MemEnvTest, ClockIsSettable) {
  MemEnv env(1000);
  EXPECT_EQ(env.NowMicros(), 1000);
  env.AdvanceMicros(5);
  EXPECT_EQ(env.NowMicros(), 1005);
}

TEST(FaultInjectionEnvTest, InjectsFailuresAndCorruption) {
  MemEnv mem;
  FaultInjectionEnv env(&mem);
  ASSERT_TRUE(env.WriteFileAtomic("/a", "hello", 0600).ok());
  env.FailWritesAfter(0);
  EXPECT_EQ(env.WriteFileAtomic("/b", "x", 0600).code(), StatusCode::kIOError);
  EXPECT_FALSE(env.FileExists("/b"));
  env.SetFlipReadByte(0);
  EXPECT_EQ(*env.ReadFile("/a", 100), "iello");
  env.SetFlipReadByte(-1);
  env.SetTruncateReads(true);
  EXPECT_EQ(*env.ReadFile("/a", 100), "he");
  env.SetFailReads(true);
  EXPECT_EQ(env.ReadFile("/a", 100).status().code(), StatusCode::kIOError);
}

TEST(ParallelForTest, CoversEveryIndexOnce) {
  std::vector<int> hits(1001, 0);
  ParallelFor(hits.size(), 4, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) hits[i]++;
  });
  for (int h : hits) EXPECT_EQ(h, 1);
}

}  // namespace
}  // namespace mirrorca
