// The report on a history holding every kind of anomaly a correct CA never
// produces itself (a device certified twice, issuance past quota or without
// authorization, a refused sync, a fork): each is counted and listed with
// the events behind it; the period bounds what is counted; the HTML escapes
// what the logs hold and shows report.json's numbers.
#include "audit/audit_report.h"

#include <gtest/gtest.h>

#include "base/mem_env.h"
#include "audit/report_html.h"
#include "engine/test_logs.h"
#include "log/event_draft.h"
#include "log/test_util.h"

namespace mirrorca::audit {
namespace {

void AppendOne(log::EventLog& l, log::EventDraft d) {
  std::vector<log::EventDraft> v;
  v.push_back(std::move(d));
  ASSERT_TRUE(l.Append(std::move(v)).ok());
}

TEST(AuditReportTest, CountsAndListsEveryAnomalyWithItsEvents) {
  MemEnv clock;
  const int64_t t0 = int64_t{1790000000} * 1000000;
  clock.SetNowMicros(t0);
  log::testing::LogFixture hq({.env = &clock}, "hq.example/log");
  log::LogSigner fs = *log::LogSigner::Generate("factory.example/log");
  ASSERT_TRUE(log::EventLog::Create(hq.store.get(), fs.verifier()).ok());
  auto factory = std::move(*log::EventLog::Open(hq.store.get(), "factory.example/log", fs, {.env = &clock}));
  const Bytes ca = engine::testing::RegisterTestFactory(*hq.log, fs.verifier().VerifierKey(), "F");

  auto issue = [&](const std::string& batch, const std::string& device, uint8_t serial, const char* line) {
    log::EventDraft d;
    auto c = d.event().getKind().initCertificateIssued();
    const Bytes s{0x10, serial};
    c.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
    c.setSerial(capnp::Data::Reader(s.data(), s.size()));
    c.setBatchId(batch);
    c.setDeviceSerial(device);
    c.setProductionLine(line);
    AppendOne(*factory, std::move(d));
  };
  // Before the period: batch A authorized with quota 2, one issuance.
  log::EventDraft auth;
  auto a = auth.event().getKind().initBatchAuthorized();
  a.setBatchId("A");
  a.setFactoryLogId("factory.example/log");
  a.setQuota(2);
  AppendOne(*hq.log, std::move(auth));
  issue("A", "dev-1", 1, "line-3");
  clock.AdvanceMicros(int64_t{7200} * 1000000);
  const int64_t from = clock.NowMicros();
  issue("A", "dev-2", 2, "line-3");
  issue("A", "dev-<script>", 3, "line-1");  // past the quota of 2
  issue("A", "dev-1", 4, "line-1");         // dev-1 a second time
  issue("Z", "dev-9", 5, "line-1");         // batch Z never authorized: outside the factory's authority
  log::EventDraft rej;
  auto r = rej.event().getKind().initIssuanceRejected();
  r.setBatchId("A");
  r.setDeviceSerial("dev-7");
  r.setRaId("ra-1");
  r.setReason(log::schema::RejectionReason::QUOTA_EXHAUSTED);
  AppendOne(*factory, std::move(rej));
  log::EventDraft rev;
  auto rv = rev.event().getKind().initCertificateRevoked();
  const Bytes s2{0x10, 2};
  rv.setCaId(capnp::Data::Reader(ca.data(), ca.size()));
  rv.setSerial(capnp::Data::Reader(s2.data(), s2.size()));
  rv.setReason(log::schema::RevocationReason::KEY_COMPROMISE);
  AppendOne(*hq.log, std::move(rev));
  log::EventDraft sync;
  auto ss = sync.event().getKind().initSyncSession();
  ss.setPeerLogId("factory.example/log");
  ss.setDirection("push");
  ss.setResult("refused: fork");
  AppendOne(*hq.log, std::move(sync));
  log::EventDraft fork;
  auto fk = fork.event().getKind().initLogAnomaly();
  fk.setPeerLogId("factory.example/log");
  fk.setKind("fork");
  fk.setDetail("two checkpoints of size 5");
  fk.initEvidence(2).set(0, "checkpoint one");
  AppendOne(*hq.log, std::move(fork));
  const int64_t to = clock.NowMicros();
  clock.AdvanceMicros(int64_t{3600} * 1000000);
  issue("A", "dev-after", 9, "line-3");  // after the period

  Result<StoreLogs> logs = OpenStoreLogs(hq.dir.path());
  ASSERT_TRUE(logs.ok()) << logs.status();
  Result<nlohmann::json> rep = BuildAuditReport(*logs, {.from = from, .to = to, .store_label = "t"});
  ASSERT_TRUE(rep.ok()) << rep.status();
  const nlohmann::json& j = *rep;
  EXPECT_EQ(j["totals"]["issued"], 3);  // Z's is not counted
  EXPECT_EQ(j["totals"]["rejected"], 1);
  EXPECT_EQ(j["rejections_by_reason"]["quota-exhausted"], 1);
  EXPECT_EQ(j["revocations_by_reason"]["keyCompromise"], 1);
  const nlohmann::json& counts = j["anomaly_counts"];
  EXPECT_EQ(counts["issued-past-quota"], 2) << counts;  // dev-<script> and dev-1
  EXPECT_EQ(counts["duplicate-device-certificate"], 1) << counts;
  EXPECT_EQ(counts["outside-authority"], 1) << counts;
  EXPECT_EQ(counts["quota-refusal"], 1) << counts;
  EXPECT_EQ(counts["sync-refused"], 1) << counts;
  EXPECT_EQ(counts["fork"], 1) << counts;
  for (const auto& an : j["anomalies"]) {
    ASSERT_FALSE(an["events"].empty()) << an;
    if (an["kind"] == "duplicate-device-certificate") {
      EXPECT_EQ(an["events"][0]["seq"], 0) << an;  // the first certificate of dev-1
      EXPECT_EQ(an["events"][1]["seq"], 3) << an;
    }
    if (an["kind"] == "outside-authority") {
      EXPECT_NE(an["detail"].get<std::string>().find("foreign-batch"), std::string::npos) << an;
    }
    if (an["kind"] == "fork") {
      EXPECT_EQ(an["evidence"][0], "checkpoint one");
    }
  }
  ASSERT_EQ(j["duplicate_device_serials"].size(), 1u);
  EXPECT_EQ(j["duplicate_device_serials"][0]["device_serial"], "dev-1");
  // Reconciliation runs to the period's end, from the start of the logs.
  nlohmann::json batch_a;
  for (const auto& b : j["batches"]) {
    if (b["batch"] == "A") batch_a = b;
  }
  EXPECT_EQ(batch_a["issued"], 4) << batch_a;
  EXPECT_EQ(batch_a["issued_in_period"], 3) << batch_a;
  EXPECT_EQ(batch_a["issued_past_quota"], 2) << batch_a;
  EXPECT_EQ(batch_a["revoked"], 1) << batch_a;
  EXPECT_EQ(batch_a["past_quota_attempts"], 1) << batch_a;
  EXPECT_EQ(batch_a["reconciliation"], "over quota");
  uint64_t per_hour = 0;
  for (const auto& h : j["issuance_per_hour"]) per_hour += h["issued"].get<uint64_t>();
  EXPECT_EQ(per_hour, 3u);

  const std::string html = RenderReportHtml(j);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("dev-&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("data-k=\"/totals/issued\">3<"), std::string::npos);
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);

  EXPECT_FALSE(BuildAuditReport(*logs, {.from = to + 1, .to = to}).ok());
}

}  // namespace
}  // namespace mirrorca::audit
