// HardwareModuleName (RFC 4108 §5, used by IEEE 802.1AR IDevIDs) as a
// subjectAltName otherName of type id-on-hardwareModuleName
// (1.3.6.1.5.5.7.8.4):
//
//   HardwareModuleName ::= SEQUENCE {
//       hwType OBJECT IDENTIFIER,
//       hwSerialNum OCTET STRING }
//
// Encoded with OpenSSL's ASN.1 templates (no hand-written DER).
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_CA_HARDWARE_MODULE_NAME_H_
#define MIRRORCA_CA_HARDWARE_MODULE_NAME_H_

#include <string_view>

#include "base/result.h"
#include "ca/openssl_types.h"

namespace mirrorca::ca {

inline constexpr const char* kHardwareModuleNameOid = "1.3.6.1.5.5.7.8.4";

// MakeHardwareModuleName returns the GENERAL_NAME otherName for the pair.
Result<GeneralNamePtr> MakeHardwareModuleName(std::string_view hw_type_oid,
                                              std::string_view hw_serial);

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_HARDWARE_MODULE_NAME_H_
