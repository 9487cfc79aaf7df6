#include "ca/request_vetting.h"

#include <regex>

#include "ca/certificate.h"
#include "ca/libctx_pool.h"

namespace mirrorca::ca {
namespace {

VetOutcome Fail(VetFailure f, std::string detail) {
  VetOutcome o;
  o.failure = f;
  o.detail = std::move(detail);
  return o;
}

}  // namespace

VetOutcome VetRequest(std::string_view csr, const Profile& profile) {
  // A context of our own: the default one's locks dominate under concurrency.
  LibCtxLease libctx;
  Result<X509ReqPtr> req = ParseRequest(csr, libctx.get());
  if (!req.ok()) return Fail(VetFailure::kBadCsr, req.status().message());
  EVP_PKEY* key = X509_REQ_get0_pubkey(req->get());
  if (key == nullptr) {
    ERR_clear_error();
    return Fail(VetFailure::kBadCsr, "CSR has no usable public key");
  }
  // Proof of possession: the request is signed by the key it carries.
  if (X509_REQ_verify_ex(req->get(), key, libctx.get(), nullptr) != 1) {
    ERR_clear_error();
    return Fail(VetFailure::kProofOfPossession, "CSR signature does not verify with its key");
  }
  const KeyType type = ClassifyKey(key);
  if (!profile.AllowsKey(type)) {
    std::string allowed;
    for (KeyType k : profile.keys) allowed += (allowed.empty() ? "" : ", ") + std::string(KeyTypeName(k));
    return Fail(VetFailure::kKeyNotAllowed, "key " + std::string(KeyTypeName(type)) +
                                                " is not allowed by profile " + profile.name +
                                                " (allowed: " + allowed + ")");
  }
  VetOutcome o;
  o.public_key = UpRef(key);
  o.request = std::move(*req);
  return o;
}

VetOutcome VetDeviceSerial(std::string_view device_serial, const Profile& profile) {
  if (device_serial.empty()) return Fail(VetFailure::kSubjectNotAllowed, "device_serial is empty");
  if (device_serial.size() > 64) {
    return Fail(VetFailure::kSubjectNotAllowed, "device_serial is longer than 64 characters");
  }
  // Patterns are short and fixed per profile; compile once per thread.
  thread_local std::string cached_pattern;
  thread_local std::regex cached_regex;
  if (cached_pattern != profile.device_serial_pattern) {
    try {
      cached_regex = std::regex(profile.device_serial_pattern, std::regex::ECMAScript);
      cached_pattern = profile.device_serial_pattern;
    } catch (const std::regex_error&) {
      return Fail(VetFailure::kSubjectNotAllowed,
                  "profile " + profile.name + " has an invalid device_serial_pattern");
    }
  }
  if (!std::regex_match(device_serial.begin(), device_serial.end(), cached_regex)) {
    return Fail(VetFailure::kSubjectNotAllowed, "device_serial does not match profile " +
                                                    profile.name + " pattern " +
                                                    profile.device_serial_pattern);
  }
  return {};
}

}  // namespace mirrorca::ca
