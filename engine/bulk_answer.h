// The JSON of enrollment results: one result as an object (ResultJson), and
// the body of an enroll-bulk answer (BulkAnswerJson).
//
// BulkAnswerJson writes exactly what nlohmann's dump() writes for
// {"issued", "rejected", "results": [ResultJson…]} (keys sorted, no spaces),
// but appends each issued certificate chain — PEM, a few kilobytes, the
// bulk of the answer — as it is with only its newlines escaped, instead of
// through the generic serializer byte by byte (measured: a tenth of the
// CA's CPU per certificate in a bulk request). Every other value, and a
// chain with any character outside PEM's alphabet, goes through nlohmann.
// engine/enrollment_api_test.cc compares both for issued and refused items.
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_ENGINE_BULK_ANSWER_H_
#define MIRRORCA_ENGINE_BULK_ANSWER_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/factory_ca.h"

namespace mirrorca::engine {

// ResultJson: {"device_serial", "status": "issued", "serial", "log_seq",
// "certificate_chain"} or {"device_serial", "status": "rejected", "error":
// {"status", "code", "detail"}}.
nlohmann::json ResultJson(const EnrollResult& r);

// BulkAnswerJson: the answer's body for `results`, in request order.
std::string BulkAnswerJson(const std::vector<EnrollResult>& results);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_BULK_ANSWER_H_
