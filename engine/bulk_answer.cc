#include "engine/bulk_answer.h"

#include <array>
#include <string_view>

#include "engine/enrollment_api.h"

namespace mirrorca::engine {
namespace {

using nlohmann::json;

// PemOnly: every character is one PEM writes (base64, '=', '-', ' ', the
// label's capitals, '\n'), so none but '\n' needs escaping in JSON.
bool PemOnly(std::string_view s) {
  static const std::array<bool, 256> kPem = [] {
    std::array<bool, 256> t{};
    for (unsigned char c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (unsigned char c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (unsigned char c = '0'; c <= '9'; ++c) t[c] = true;
    for (unsigned char c : std::string_view("+/=- \n")) t[c] = true;
    return t;
  }();
  for (char c : s) {
    if (!kPem[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

void AppendPemString(std::string& out, std::string_view pem) {
  out.push_back('"');
  size_t from = 0;
  for (size_t nl = pem.find('\n'); nl != std::string_view::npos; nl = pem.find('\n', from)) {
    out.append(pem.substr(from, nl - from)).append("\\n");
    from = nl + 1;
  }
  out.append(pem.substr(from)).push_back('"');
}

}  // namespace

json ResultJson(const EnrollResult& r) {
  json j{{"device_serial", r.device_serial}};
  if (r.ok()) {
    j["status"] = "issued";
    j["serial"] = r.serial_hex;
    j["log_seq"] = r.log_seq;
    j["certificate_chain"] = r.chain_pem;
  } else {
    j["status"] = "rejected";
    j["error"] = {{"status", HttpStatusOf(r.error)}, {"code", RejectionCode(r.reason)}, {"detail", r.detail}};
  }
  return j;
}

std::string BulkAnswerJson(const std::vector<EnrollResult>& results) {
  size_t issued = 0, bytes = 64;
  for (const EnrollResult& r : results) {
    issued += r.ok() ? 1 : 0;
    bytes += r.chain_pem.size() + r.chain_pem.size() / 60 + 160;
  }
  std::string out;
  out.reserve(bytes);
  out.append("{\"issued\":").append(std::to_string(issued));
  out.append(",\"rejected\":").append(std::to_string(results.size() - issued));
  out.append(",\"results\":[");
  for (size_t i = 0; i < results.size(); ++i) {
    const EnrollResult& r = results[i];
    if (i > 0) out.push_back(',');
    if (!r.ok() || !PemOnly(r.chain_pem)) {
      out.append(ResultJson(r).dump());
      continue;
    }
    // The keys in nlohmann's (sorted) order.
    out.append("{\"certificate_chain\":");
    AppendPemString(out, r.chain_pem);
    out.append(",\"device_serial\":").append(json(r.device_serial).dump());
    out.append(",\"log_seq\":").append(std::to_string(r.log_seq));
    out.append(",\"serial\":").append(json(r.serial_hex).dump());
    out.append(",\"status\":\"issued\"}");
  }
  out.append("]}");
  return out;
}

}  // namespace mirrorca::engine
