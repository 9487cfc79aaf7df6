#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

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

TEST(ParallelForTest, ConcurrentAndNestedCallsShareTheHelpersWithoutDeadlock) {
  // Eight callers at once, each calling ParallelFor inside its pieces: the
  // shared helpers are busy with other calls most of the time, so every call
  // must complete on its caller's thread alone if need be.
  constexpr size_t kOuter = 64, kInner = 257;
  std::vector<std::thread> callers;
  std::vector<std::vector<std::atomic<int>>> hits(8);
  for (auto& h : hits) h = std::vector<std::atomic<int>>(kOuter * kInner);
  for (size_t c = 0; c < hits.size(); ++c) {
    callers.emplace_back([&, c] {
      ParallelFor(kOuter, 4, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) {
          ParallelFor(kInner, 3, [&](size_t ib, size_t ie) {
            for (size_t j = ib; j < ie; ++j) hits[c][i * kInner + j]++;
          });
        }
      });
    });
  }
  for (auto& t : callers) t.join();
  for (auto& h : hits) {
    for (auto& x : h) ASSERT_EQ(x.load(), 1);
  }
}

TEST(ParallelForTest, AskedForThreadsRunConcurrently) {
  // Four pieces that each wait until all four have started can only finish
  // when four threads (the caller and three helpers) run them at once.
  std::atomic<int> started{0};
  ParallelFor(4, 4, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      started++;
      while (started.load() < 4) std::this_thread::yield();
    }
  });
  EXPECT_EQ(started.load(), 4);
}

}  // namespace
}  // namespace mirrorca
