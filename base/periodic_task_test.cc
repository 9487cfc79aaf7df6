#include "base/periodic_task.h"

#include <gtest/gtest.h>

#include <atomic>

namespace mirrorca {
namespace {

TEST(PeriodicTaskTest, RunsRepeatedlyAndNeverAfterStop) {
  std::atomic<int> runs{0};
  PeriodicTask task(std::chrono::milliseconds(1), [&] { runs++; });
  for (int i = 0; i < 10000 && runs < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_GE(runs.load(), 3);
  task.Stop();
  const int after = runs.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(runs.load(), after);
  task.Stop();  // twice is fine
}

TEST(PeriodicTaskTest, StopWakesALongPeriodAtOnce) {
  std::atomic<int> runs{0};
  {
    PeriodicTask task(std::chrono::hours(1), [&] { runs++; });
  }  // the destructor would hang for an hour if Stop did not wake the thread
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace
}  // namespace mirrorca
