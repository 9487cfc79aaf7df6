// EnrollmentApi: routes, request formats and RFC 9457 errors.
#include "engine/enrollment_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/bulk_answer.h"
#include "engine/test_factory.h"

namespace mirrorca::engine {
namespace {

using nlohmann::json;
using testing::P256Csr;
using testing::TestFactory;

ApiRequest Post(std::string path, std::string body, std::string query = "") {
  return ApiRequest{"POST", std::move(path), std::move(query), "", std::move(body), "ra-1"};
}

TEST(EnrollmentApiTest, EnrollWithPemBodyAndQuerySerial) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 10));
  EnrollmentApi api(f.ca.get());
  ApiResponse r = api.Handle(Post("/v1/batches/B1/enroll", P256Csr(), "device_serial=SN%2D1"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/pem-certificate-chain");
  EXPECT_EQ(std::count(r.body.begin(), r.body.end(), '\n') > 10, true);
  ApiResponse j = api.Handle(Post("/v1/batches/B1/enroll",
                                  json{{"device_serial", "SN-2"}, {"csr", P256Csr()}}.dump()));
  EXPECT_EQ(j.status, 200) << j.body;
  ApiResponse status = api.Handle({"GET", "/v1/batches/B1", "", "", "", "ra-1"});
  json s = json::parse(status.body);
  EXPECT_EQ(s["authorized"], 10);
  EXPECT_EQ(s["issued"], 2);
  EXPECT_EQ(s["rejected"], 0);
}

// The batch id in the path is percent-decoded like the query string; a bad
// escape is a 400, and a decoded '/' or '..' is no batch (never a path).
TEST(EnrollmentApiTest, ThePathsBatchIdIsPercentDecoded) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 10));
  EnrollmentApi api(f.ca.get());
  ApiResponse r = api.Handle(Post("/v1/batches/B%31/enroll", P256Csr(), "device_serial=SN-9"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(f.ca->Batch("B1")->issued, 1u);
  EXPECT_EQ(api.Handle(Post("/v1/batches/B%3/enroll", P256Csr(), "device_serial=SN-8")).status, 400);
  EXPECT_EQ(api.Handle(Post("/v1/batches/B%zz/enroll", P256Csr(), "device_serial=SN-8")).status, 400);
  ApiResponse slash = api.Handle(Post("/v1/batches/B1%2F..%2Fx/enroll", P256Csr(), "device_serial=SN-8"));
  EXPECT_EQ(slash.status, 404) << slash.body;
  EXPECT_NE(slash.body.find("unknown-batch"), std::string::npos) << slash.body;
  // A truncated escape in the query is not read as a literal '%'.
  EXPECT_EQ(api.Handle(Post("/v1/batches/B1/enroll", P256Csr(), "device_serial=SN%4")).status, 400);
}

TEST(EnrollmentApiTest, ErrorsAreProblemJsonWithStableCodes) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 1));
  EnrollmentApi api(f.ca.get());
  struct Case {
    ApiRequest req;
    int status;
    std::string code;
  };
  std::vector<Case> cases = {
      {Post("/v1/batches/B1/enroll", "junk", "device_serial=X1"), 400, "bad-csr"},
      {Post("/v1/batches/B1/enroll", P256Csr()), 400, "bad-request"},
      {Post("/v1/batches/B1/enroll", "{not json"), 400, "bad-json"},
      {Post("/v1/batches/B1/enroll-bulk", "{}"), 400, "bad-json"},
      {Post("/v1/batches/B1/enroll-bulk", "[{\"device_serial\": 5}]"), 400, "bad-request"},
      {Post("/v1/batches/NOPE/enroll", P256Csr(), "device_serial=X1"), 404, "unknown-batch"},
      {Post("/v1/nothing", ""), 404, "not-found"},
      {{"GET", "/v1/batches/B1/enroll", "", "", "", "ra-1"}, 405, "method-not-allowed"},
      {Post("/v1/batches/B1/keygen", json{{"device_serial", "K"}}.dump()), 400, "bad-request"},
  };
  for (const Case& c : cases) {
    ApiResponse r = api.Handle(c.req);
    EXPECT_EQ(r.status, c.status) << c.req.path << " " << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
    json j = json::parse(r.body);
    EXPECT_EQ(j["code"], c.code) << r.body;
    EXPECT_EQ(j["status"], c.status);
    EXPECT_TRUE(j["type"].get<std::string>().starts_with("https://"));
  }
  ASSERT_EQ(api.Handle(Post("/v1/batches/B1/enroll", P256Csr(), "device_serial=Q1")).status, 200);
  ApiResponse over = api.Handle(Post("/v1/batches/B1/enroll", P256Csr(), "device_serial=Q2"));
  EXPECT_EQ(over.status, 409);  // closed when the quota of 1 was used
  EXPECT_EQ(json::parse(over.body)["code"], "batch-closed");
}

TEST(EnrollmentApiTest, BulkReturnsPerItemResultsAndCapsTheSize) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 3));
  EnrollmentApi api(f.ca.get());
  json items = json::array();
  for (int i = 0; i < 4; ++i) items.push_back({{"device_serial", "D" + std::to_string(i)}, {"csr", P256Csr()}});
  ApiResponse r = api.Handle(Post("/v1/batches/B1/enroll-bulk", items.dump()));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["issued"], 3);
  EXPECT_EQ(j["rejected"], 1);
  EXPECT_EQ(j["results"][3]["status"], "rejected");
  EXPECT_EQ(j["results"][3]["error"]["code"], "quota-exhausted");
  json big = json::array();
  for (int i = 0; i < 1001; ++i) big.push_back({{"device_serial", "x"}, {"csr", "y"}});
  EXPECT_EQ(api.Handle(Post("/v1/batches/B1/enroll-bulk", big.dump())).status, 413);
}

// The bulk answer is written without the generic serializer for issued
// chains; it must be byte for byte what nlohmann writes.
TEST(EnrollmentApiTest, BulkAnswerIsWhatTheJsonLibraryWrites) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 2));
  std::vector<EnrollRequest> reqs;
  for (int i = 0; i < 3; ++i) reqs.push_back({"B1", "D" + std::to_string(i), P256Csr(), "ra-1"});
  std::vector<EnrollResult> results = f.ca->EnrollBulk(reqs);  // two issued, one over quota
  ASSERT_TRUE(results[0].ok() && results[1].ok() && !results[2].ok());
  // Values a serializer must escape: quotes, backslashes, control and non-ASCII characters.
  EnrollResult odd = results[0];
  odd.device_serial = "D\"q\\\x01\u00e9\t";
  odd.serial_hex = "0A\x7f";
  EnrollResult odd_chain = results[1];
  odd_chain.chain_pem += "\"quoted\"\r\n";  // outside PEM's alphabet: the library writes it
  EnrollResult odd_refusal = results[2];
  odd_refusal.detail = "a \"detail\"\n\x02 with \u2028";
  results.push_back(odd);
  results.push_back(odd_chain);
  results.push_back(odd_refusal);
  EnrollResult empty_refusal;
  empty_refusal.error = EnrollError::kBadRequest;
  results.push_back(empty_refusal);
  json expected{{"issued", 4}, {"rejected", 3}, {"results", json::array()}};
  for (const EnrollResult& r : results) expected["results"].push_back(ResultJson(r));
  EXPECT_EQ(BulkAnswerJson(results), expected.dump());
  EXPECT_EQ(BulkAnswerJson({}), json({{"issued", 0}, {"rejected", 0}, {"results", json::array()}}).dump());
}

TEST(EnrollmentApiTest, CaChainAndMetrics) {
  TestFactory f;
  f.Authorize(f.Terms("B1", 3));
  EnrollmentApi api(f.ca.get());
  ApiResponse ca = api.Handle({"GET", "/v1/ca", "", "", "", "ra-1"});
  EXPECT_EQ(ca.status, 200);
  EXPECT_EQ(ca.body, f.ca->issuing_ca().chain_pem());
  ASSERT_EQ(api.Handle(Post("/v1/batches/B1/enroll", P256Csr(), "device_serial=M1")).status, 200);
  ApiResponse m = api.Handle({"GET", "/metrics", "", "", "", "ra-1"});
  EXPECT_NE(m.body.find("mirrorca_certificates_issued_total 1"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("mirrorca_batch_quota{batch=\"B1\"} 3"), std::string::npos);
}

}  // namespace
}  // namespace mirrorca::engine
