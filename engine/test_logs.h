// Test helpers for the audit: bulk appends, and a store holding two logs —
// HQ's own and a factory's (as HQ holds a copy) — where HQ records
// cosignatures of the factory's checkpoints.
//
// Thread-safety: test-only; not thread-safe.
#ifndef MIRRORCA_ENGINE_TEST_LOGS_H_
#define MIRRORCA_ENGINE_TEST_LOGS_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "log/cosignature.h"
#include "log/event_draft.h"
#include "log/test_util.h"

namespace mirrorca::engine::testing {

inline void Append(log::EventLog& l, size_t n, std::string_view tag = "e") {
  for (size_t done = 0; done < n;) {
    const size_t k = std::min<size_t>(16384, n - done);
    ASSERT_TRUE(l.Append(log::testing::TestDrafts(k, tag)).ok());
    done += k;
  }
}

struct TwoLogs {
  log::testing::LogFixture hq{{}, "hq.example/log"};
  log::LogSigner factory_signer = *log::LogSigner::Generate("factory.example/log");
  std::unique_ptr<log::EventLog> factory;

  explicit TwoLogs(size_t factory_events = 500) {
    EXPECT_TRUE(log::EventLog::Create(hq.store.get(), factory_signer.verifier()).ok());
    factory = std::move(*log::EventLog::Open(hq.store.get(), "factory.example/log", factory_signer));
    if (factory_events > 0) Append(*factory, factory_events, "f");
  }
  // RecordCosignature: HQ (or `by`) cosigns the factory's current checkpoint
  // and records it in HQ's log.
  void RecordCosignature(const log::LogSigner& by) {
    std::string note = *factory->SignCheckpoint();
    std::string cosigned = *log::Cosign(note, by, 1790000000);
    log::EventDraft d;
    auto c = d.event().getKind().initCheckpointCosigned();
    c.setLogId("factory.example/log");
    c.setTreeSize(factory->Size());
    c.setCosignedNote(cosigned);
    c.setTimestamp(1790000000);
    std::vector<log::EventDraft> drafts;
    drafts.push_back(std::move(d));
    ASSERT_TRUE(hq.log->Append(std::move(drafts)).ok());
  }
  void Close() {
    factory.reset();
    hq.log.reset();
  }
};

}  // namespace mirrorca::engine::testing

#endif  // MIRRORCA_ENGINE_TEST_LOGS_H_
