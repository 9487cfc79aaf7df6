// Crash test: a child `mirrorca log append-test` appends with concurrent
// appenders and prints "ack FIRST COUNT" after every durable append; the
// test kills it with SIGKILL at a random moment, reopens the store, and
// checks that every acknowledged event is present and the log verifies.
// Repeated for 24 rounds on the same log, so crashes land at every stage
// (mid group commit, mid checkpoint, during recovery's first append).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <sstream>

#include "base/env.h"
#include "log/local_log.h"
#include "log/log_verification.h"
#include "log/test_util.h"

extern char** environ;

namespace mirrorca {
namespace {

struct ChildRun {
  uint64_t max_acked_end = 0;  // one past the highest acknowledged seq
  uint64_t acks = 0;
};

std::string Binary() {
  const char* bin = std::getenv("MIRRORCA_BIN");
  return bin ? bin : "mirrorca";
}

// RunAndKill starts the appender, kills it after `kill_after`, and returns
// what it acknowledged (every line it wrote before dying).
// With `after_first_ack`, the delay starts when the first ack is read, so the
// kill surely lands while appends are being acknowledged, however slow the
// start-up (sanitizer builds); without, it may land during start-up.
ChildRun RunAndKill(const std::string& dir, std::chrono::milliseconds kill_after, int threads,
                    int batch, bool after_first_ack) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::string bin = Binary(), t = std::to_string(threads), b = std::to_string(batch);
  std::vector<std::string> args = {bin, "log", "append-test", "--data", dir, "--count", "100000000",
                                   "--threads", t, "--batch", b, "--checkpoint-interval", "37",
                                   "--report-acks"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  EXPECT_EQ(posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);

  std::string out;
  auto deadline = std::chrono::steady_clock::now() + kill_after;
  char buf[65536];
  bool killed = false;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    if (after_first_ack && out.find("ack ") == std::string::npos && !killed &&
        std::chrono::steady_clock::now() < give_up) {
      deadline = std::chrono::steady_clock::now() + kill_after;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!killed && left.count() <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    pollfd p{fds[0], POLLIN, 0};
    ::poll(&p, 1, killed ? 1000 : static_cast<int>(std::max<long>(1, left.count())));
    if (p.revents & (POLLIN | POLLHUP)) {
      ssize_t n = ::read(fds[0], buf, sizeof(buf));
      if (n <= 0) break;  // EOF: the child is gone and the pipe drained
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fds[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  EXPECT_TRUE(WIFSIGNALED(wstatus)) << "appender exited by itself: " << wstatus;

  ChildRun run;
  std::istringstream lines(out);
  std::string word;
  uint64_t first, count;
  while (lines >> word >> first >> count) {
    if (word != "ack") break;
    run.max_acked_end = std::max(run.max_acked_end, first + count);
    ++run.acks;
  }
  return run;
}

TEST(CrashTest, SigkillNeverLosesAnAcknowledgedEvent) {
  log::testing::TempDir tmp;
  const std::string dir = tmp.path() + "/node";
  {
    auto init = log::InitLocalLog(Env::Default(), dir, "crash.example/log");
    ASSERT_TRUE(init.ok()) << init.status().ToString();
  }
  std::mt19937 rng(20261124);
  uint64_t total_acks = 0;
  for (int round = 0; round < 24; ++round) {
    // Short random lifetimes: kills land during start-up, recovery and steady
    // appending, and the log (verified in full each round) stays small.
    auto delay = std::chrono::milliseconds(10 + rng() % 110);
    int threads = 1 + static_cast<int>(rng() % 8);
    int batch = 1 + static_cast<int>(rng() % 40);
    ChildRun run = RunAndKill(dir, delay, threads, batch, /*after_first_ack=*/round % 2 == 0);
    total_acks += run.acks;

    auto local = log::OpenLocalLog(Env::Default(), dir, /*with_key=*/false);
    ASSERT_TRUE(local.ok()) << "round " << round << ": " << local.status().ToString();
    EXPECT_GE(local->log->Size(), run.max_acked_end) << "round " << round << " lost acknowledged events";
    if (run.max_acked_end > 0) {
      EXPECT_TRUE(local->log->ReadSignedEvent(run.max_acked_end - 1).ok());
    }
    auto report = log::VerifyLog(*local->log);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    ASSERT_TRUE(report->ok) << "round " << round << ": " << report->Summary("crash");
  }
  EXPECT_GE(total_acks, 12u);  // every other round was killed after acknowledging appends
}

}  // namespace
}  // namespace mirrorca
