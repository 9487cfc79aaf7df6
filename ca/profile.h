// Certificate profiles: what a certificate of one kind must contain, read
// from a TOML file (the shipped ones live in ca/profiles/ and are embedded in
// the binary). A profile fixes the allowed keys, the digest, the validity,
// the subject and SAN (as templates over vetted device data — never copied
// from a CSR) and the extensions.
//
// Templates: {device_serial} {product} {batch} {vid} {pid} (4 upper-case hex)
// {organization} {factory}. Values of a device come only from the vetted
// request and the HQ batch authorization.
//
// Thread-safety: a Profile is an immutable value after parsing.
#ifndef MIRRORCA_CA_PROFILE_H_
#define MIRRORCA_CA_PROFILE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "ca/keys.h"

namespace mirrorca::ca {

enum class BasicConstraints { kAbsent, kCaFalse, kCaFalseCritical, kCaTrueCritical };

struct SubjectAttribute {
  std::string type;   // short name (CN, O, OU, serialNumber, ...) or dotted OID
  std::string value;  // template
};

struct HardwareModuleNameTemplate {
  std::string hw_type;    // dotted OID
  std::string hw_serial;  // template
};

struct Profile {
  std::string name;
  bool is_ca = false;
  std::string description;
  std::vector<KeyType> keys;
  std::string digest;  // "sha256" | "sha384"; empty = by issuer key (sha384 for P-384)
  std::string device_serial_pattern;
  bool requires_vendor_id = false;
  // allow_shared_keys: one public key may be certified for several devices
  // (refused by default: a broken key generator would ship clones).
  bool allow_shared_keys = false;

  // Validity: a fixed notAfter (GeneralizedTime text) or a number of days.
  std::string not_after;
  int64_t validity_days = 0;
  int64_t backdate_seconds = 0;

  std::vector<SubjectAttribute> subject;

  BasicConstraints basic_constraints = BasicConstraints::kAbsent;
  std::optional<int> path_len;
  std::vector<std::string> key_usage;  // digitalSignature, keyAgreement, keyCertSign, ...
  bool key_usage_critical = true;
  std::vector<std::string> extended_key_usage;  // clientAuth, serverAuth, ...
  bool subject_key_id = true;
  bool authority_key_id = true;
  bool crl_distribution_point = false;
  bool ocsp_url = false;
  bool ocsp_nocheck = false;  // id-pkix-ocsp-nocheck (delegated OCSP responders)

  std::optional<HardwareModuleNameTemplate> hardware_module_name;
  std::vector<std::string> san_dns;  // templates
  std::vector<std::string> san_uri;  // templates

  bool AllowsKey(KeyType t) const;
};

// ParseProfile reads a profile TOML document; InvalidArgument naming the
// offending key when anything is missing, unknown or inconsistent.
Result<Profile> ParseProfile(std::string_view toml_text, std::string_view source = "profile");

// BuiltinProfileNames lists the profiles shipped in ca/profiles/.
std::vector<std::string> BuiltinProfileNames();
// BuiltinProfileText returns the TOML of a shipped profile; NotFound otherwise.
Result<std::string_view> BuiltinProfileText(std::string_view name);
Result<Profile> BuiltinProfile(std::string_view name);

// TemplateValues are the vetted values templates may use.
using TemplateValues = std::map<std::string, std::string, std::less<>>;
// ExpandTemplate replaces {name} by its value; InvalidArgument for an unknown
// or missing name (a profile can never produce a half-filled subject).
Result<std::string> ExpandTemplate(std::string_view tmpl, const TemplateValues& values);

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_PROFILE_H_
