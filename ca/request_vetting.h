// Request vetting: everything the CA checks about a device's PKCS#10 request
// before anything is signed — it parses, its signature verifies (proof of
// possession), its key is one the profile allows — and about the device
// data (the device serial matches the profile's pattern). The subject and
// SAN of the CSR are ignored on purpose: certificates are built from vetted
// values only.
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_CA_REQUEST_VETTING_H_
#define MIRRORCA_CA_REQUEST_VETTING_H_

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "ca/openssl_types.h"
#include "ca/p256_request.h"
#include "ca/profile.h"

namespace mirrorca::ca {

// Why a request was refused; engine/ maps these to event RejectionReasons.
enum class VetFailure { kNone, kBadCsr, kProofOfPossession, kKeyNotAllowed, kSubjectNotAllowed };

struct VetOutcome {
  VetFailure failure = VetFailure::kNone;
  std::string detail;      // operator-facing; never secrets
  EvpPkeyPtr public_key;   // the CSR's key, set when failure == kNone (but see RequestKey)
  // The CSR's SubjectPublicKeyInfo, for the certificate: `spki` (a P-256
  // request read without the generic decoder, ca/p256_request.h) or that
  // of `request` (the parsed CSR, any other request); `spki_der` its DER
  // as the CSR encodes it. Set when failure == kNone (VetRequest).
  X509PubkeyPtr spki;
  X509ReqPtr request;
  std::string spki_der;
  bool ok() const { return failure == VetFailure::kNone; }
};

// Whether VetRequest's caller needs the request's key as an EVP_PKEY
// (`public_key`), or builds the certificate from the SPKI alone: then a
// P-256 request's key is verified without a copy of its own and
// `public_key` stays null (`spki` and `spki_der` are set either way).
enum class RequestKey { kKeep, kSpkiOnly };

// VetRequest checks a PEM or DER CSR against `profile`.
VetOutcome VetRequest(std::string_view csr, const Profile& profile, RequestKey key_use = RequestKey::kKeep);

// VetPublicKey checks a SubjectPublicKeyInfo (DER) whose possession the
// enrollment protocol proved (CMP's proof of possession, verified by
// OpenSSL's CMP server): it parses and the profile allows its key.
// VetKey checks a parsed key the same way.
VetOutcome VetPublicKey(std::string_view spki_der, const Profile& profile);
VetOutcome VetKey(EVP_PKEY* key, const Profile& profile);

// VetDeviceSerial checks a device serial against the profile's pattern.
VetOutcome VetDeviceSerial(std::string_view device_serial, const Profile& profile);

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_REQUEST_VETTING_H_
