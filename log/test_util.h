// Test helpers for log tests: a temporary store directory with one log, and
// synthetic drafts. Test-only; never linked into the mirrorca binary.
#ifndef MIRRORCA_LOG_TEST_UTIL_H_
#define MIRRORCA_LOG_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "log/event_log.h"

namespace mirrorca::log::testing {

// TempDir is a fresh directory removed at destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = ::testing::TempDir() + "/mirrorca_" + std::to_string(::getpid()) + "_" +
            std::to_string(counter++);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline EventDraft TestDraft(std::string_view note, size_t payload_bytes = 64) {
  EventDraft d;
  auto t = d.event().getKind().initTestEvent();
  t.setNote(std::string(note));
  auto payload = t.initPayload(static_cast<unsigned>(payload_bytes));
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i * 31 + note.size());
  return d;
}

inline std::vector<EventDraft> TestDrafts(size_t n, std::string_view tag = "e") {
  std::vector<EventDraft> out;
  for (size_t i = 0; i < n; ++i) out.push_back(TestDraft(std::string(tag) + std::to_string(i)));
  return out;
}

// LogFixture holds a store with one log and its signer.
struct LogFixture {
  explicit LogFixture(EventLogOptions options = {}, std::string origin = "test.example/log")
      : origin(std::move(origin)), signer(*LogSigner::Generate(this->origin)), options(options) {
    store = std::move(*Store::Open(dir.path() + "/store", StoreOptions{.create_if_missing = true}));
    EXPECT_TRUE(EventLog::Create(store.get(), signer.verifier()).ok());
    Reopen();
  }
  void Reopen() {
    log.reset();
    log = std::move(*EventLog::Open(store.get(), origin, signer, options));
  }
  void ReopenStore() {
    log.reset();
    store.reset();
    store = std::move(*Store::Open(dir.path() + "/store", StoreOptions{}));
    Reopen();
  }

  TempDir dir;
  std::string origin;
  LogSigner signer;
  EventLogOptions options;
  std::unique_ptr<Store> store;
  std::unique_ptr<EventLog> log;
};

}  // namespace mirrorca::log::testing

#endif  // MIRRORCA_LOG_TEST_UTIL_H_
