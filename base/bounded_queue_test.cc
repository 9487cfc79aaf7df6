#include "base/bounded_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace mirrorca {
namespace {

TEST(BoundedQueueTest, ItemsComeOutInOrderAcrossThreads) {
  BoundedQueue<int> q(3);
  std::thread producer([&] {
    for (int i = 0; i < 10000; ++i) ASSERT_TRUE(q.Push(i));
    q.Close();
  });
  int expected = 0;
  while (std::optional<int> v = q.Pop()) EXPECT_EQ(*v, expected++);
  producer.join();
  EXPECT_EQ(expected, 10000);
}

TEST(BoundedQueueTest, CloseDrainsThenEnds) {
  BoundedQueue<std::string> q(4);
  ASSERT_TRUE(q.Push("a"));
  ASSERT_TRUE(q.Push("b"));
  q.Close();
  EXPECT_FALSE(q.Push("c"));
  EXPECT_EQ(q.Pop(), std::optional<std::string>("a"));
  EXPECT_EQ(q.Pop(), std::optional<std::string>("b"));
  EXPECT_EQ(q.Pop(), std::nullopt);
}

TEST(BoundedQueueTest, CloseReleasesAProducerWaitingForRoom) {
  BoundedQueue<int> q(2);
  std::vector<bool> pushed;
  std::thread producer([&] {
    for (int i = 0; i < 3; ++i) pushed.push_back(q.Push(i));  // the third waits: nobody pops
  });
  q.Close();  // whether before or after the third Push starts waiting, it returns false
  producer.join();
  ASSERT_EQ(pushed.size(), 3u);
  EXPECT_FALSE(pushed[2]);
}

}  // namespace
}  // namespace mirrorca
