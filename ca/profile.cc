#include "ca/profile.h"

#include <toml++/toml.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "base/embedded_file.h"
#include "base/status_macros.h"

namespace mirrorca {
extern const EmbeddedFile kBuiltinProfiles[];
extern const size_t kBuiltinProfiles_count;
}  // namespace mirrorca

namespace mirrorca::ca {
namespace {

const std::set<std::string, std::less<>> kKeyUsages = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
    "keyAgreement",     "keyCertSign",    "cRLSign"};
const std::set<std::string, std::less<>> kExtendedKeyUsages = {"clientAuth", "serverAuth",
                                                               "codeSigning", "OCSPSigning"};
const std::set<std::string, std::less<>> kTopKeys = {
    "name", "kind", "description", "keys", "digest", "device_serial_pattern",
    "requires_vendor_id", "allow_shared_keys", "validity", "subject", "extensions", "san"};

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status Error(std::string_view key, std::string_view what) const {
    return Status::InvalidArgument(source_ + ": " + std::string(key) + ": " + std::string(what));
  }

  Result<std::string> String(const toml::node_view<const toml::node>& n, std::string_view key,
                             bool required, std::string fallback = "") const {
    if (!n) {
      if (required) return Error(key, "missing");
      return fallback;
    }
    auto v = n.value<std::string>();
    if (!v) return Error(key, "must be a string");
    return *v;
  }

  Result<bool> Bool(const toml::node_view<const toml::node>& n, std::string_view key,
                    bool fallback) const {
    if (!n) return fallback;
    auto v = n.value<bool>();
    if (!v || !n.is_boolean()) return Error(key, "must be true or false");
    return *v;
  }

  Result<int64_t> Int(const toml::node_view<const toml::node>& n, std::string_view key,
                      int64_t fallback) const {
    if (!n) return fallback;
    if (!n.is_integer()) return Error(key, "must be an integer");
    return *n.value<int64_t>();
  }

  Result<std::vector<std::string>> Strings(const toml::node_view<const toml::node>& n,
                                           std::string_view key) const {
    std::vector<std::string> out;
    if (!n) return out;
    const toml::array* a = n.as_array();
    if (a == nullptr) return Error(key, "must be an array of strings");
    for (const toml::node& e : *a) {
      auto v = e.value<std::string>();
      if (!v) return Error(key, "must be an array of strings");
      out.push_back(*v);
    }
    return out;
  }

 private:
  std::string source_;
};

bool IsDottedOid(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots >= 2;
}

}  // namespace

bool Profile::AllowsKey(KeyType t) const {
  return std::find(keys.begin(), keys.end(), t) != keys.end();
}

Result<Profile> ParseProfile(std::string_view text, std::string_view source) {
  toml::table parsed;
  try {
    parsed = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source << ":" << e.source().begin.line << ": " << e.description();
    return Status::InvalidArgument(msg.str());
  }
  const toml::table& t = parsed;
  Reader r{std::string(source)};
  for (auto&& [k, v] : t) {
    if (!kTopKeys.contains(k.str())) return r.Error(k.str(), "unknown key");
  }
  Profile p;
  ASSIGN_OR_RETURN(p.name, r.String(t["name"], "name", true));
  ASSIGN_OR_RETURN(std::string kind, r.String(t["kind"], "kind", true));
  if (kind != "ca" && kind != "end-entity") return r.Error("kind", "must be 'ca' or 'end-entity'");
  p.is_ca = kind == "ca";
  ASSIGN_OR_RETURN(p.description, r.String(t["description"], "description", false));
  ASSIGN_OR_RETURN(std::vector<std::string> keys, r.Strings(t["keys"], "keys"));
  if (keys.empty()) return r.Error("keys", "at least one key type is required");
  for (const std::string& k : keys) {
    Result<KeyType> kt = ParseKeyType(k);
    if (!kt.ok()) return r.Error("keys", kt.status().message());
    p.keys.push_back(*kt);
  }
  ASSIGN_OR_RETURN(p.digest, r.String(t["digest"], "digest", false));
  if (!p.digest.empty() && p.digest != "sha256" && p.digest != "sha384") {
    return r.Error("digest", "must be sha256 or sha384");
  }
  ASSIGN_OR_RETURN(p.device_serial_pattern,
                   r.String(t["device_serial_pattern"], "device_serial_pattern", !p.is_ca));
  if (!p.device_serial_pattern.empty()) {
    try {
      std::regex re(p.device_serial_pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return r.Error("device_serial_pattern", std::string("invalid regular expression: ") + e.what());
    }
  }
  ASSIGN_OR_RETURN(p.requires_vendor_id,
                   r.Bool(t["requires_vendor_id"], "requires_vendor_id", false));
  ASSIGN_OR_RETURN(p.allow_shared_keys, r.Bool(t["allow_shared_keys"], "allow_shared_keys", false));

  ASSIGN_OR_RETURN(p.not_after, r.String(t["validity"]["not_after"], "validity.not_after", false));
  ASSIGN_OR_RETURN(p.validity_days, r.Int(t["validity"]["days"], "validity.days", 0));
  ASSIGN_OR_RETURN(p.backdate_seconds,
                   r.Int(t["validity"]["backdate_seconds"], "validity.backdate_seconds", 0));
  if (p.not_after.empty() == (p.validity_days == 0)) {
    return r.Error("validity", "set exactly one of not_after and days");
  }
  if (!p.not_after.empty() && (p.not_after.size() != 15 || p.not_after.back() != 'Z')) {
    return r.Error("validity.not_after", "must be GeneralizedTime YYYYMMDDHHMMSSZ");
  }
  if (p.validity_days < 0 || p.validity_days > 36500 || p.backdate_seconds < 0 ||
      p.backdate_seconds > 86400) {
    return r.Error("validity", "days must be in 1..36500 and backdate_seconds in 0..86400");
  }

  const toml::array* attrs = t["subject"]["attributes"].as_array();
  if (attrs == nullptr || attrs->empty()) {
    return r.Error("subject.attributes", "must be a non-empty array");
  }
  for (const toml::node& a : *attrs) {
    const toml::table* at = a.as_table();
    if (at == nullptr) return r.Error("subject.attributes", "entries are {type, value} tables");
    SubjectAttribute sa;
    ASSIGN_OR_RETURN(sa.type, r.String((*at)["type"], "subject.attributes.type", true));
    ASSIGN_OR_RETURN(sa.value, r.String((*at)["value"], "subject.attributes.value", true));
    if (!IsDottedOid(sa.type) && OBJ_txt2nid(sa.type.c_str()) == NID_undef) {
      return r.Error("subject.attributes.type", "unknown attribute '" + sa.type + "'");
    }
    p.subject.push_back(std::move(sa));
  }

  auto ext = t["extensions"];
  ASSIGN_OR_RETURN(std::string bc, r.String(ext["basic_constraints"],
                                            "extensions.basic_constraints", false, "absent"));
  if (bc == "absent") {
    p.basic_constraints = BasicConstraints::kAbsent;
  } else if (bc == "ca-false") {
    p.basic_constraints = BasicConstraints::kCaFalse;
  } else if (bc == "ca-false-critical") {
    p.basic_constraints = BasicConstraints::kCaFalseCritical;
  } else if (bc == "ca-true-critical") {
    p.basic_constraints = BasicConstraints::kCaTrueCritical;
  } else {
    return r.Error("extensions.basic_constraints",
                   "must be absent, ca-false, ca-false-critical or ca-true-critical");
  }
  if (p.is_ca != (p.basic_constraints == BasicConstraints::kCaTrueCritical)) {
    return r.Error("extensions.basic_constraints",
                   "a ca profile needs ca-true-critical and an end-entity profile must not");
  }
  if (ext["path_len"]) {
    ASSIGN_OR_RETURN(int64_t pl, r.Int(ext["path_len"], "extensions.path_len", 0));
    if (pl < 0 || pl > 8 || !p.is_ca) return r.Error("extensions.path_len", "0..8, CA only");
    p.path_len = static_cast<int>(pl);
  }
  ASSIGN_OR_RETURN(p.key_usage, r.Strings(ext["key_usage"], "extensions.key_usage"));
  for (const std::string& ku : p.key_usage) {
    if (!kKeyUsages.contains(ku)) return r.Error("extensions.key_usage", "unknown '" + ku + "'");
    const bool ca_usage = ku == "keyCertSign" || ku == "cRLSign";
    if (ca_usage && !p.is_ca) {
      return r.Error("extensions.key_usage", ku + " is for CA profiles only");
    }
  }
  if (p.key_usage.empty()) return r.Error("extensions.key_usage", "at least one usage");
  ASSIGN_OR_RETURN(p.key_usage_critical,
                   r.Bool(ext["key_usage_critical"], "extensions.key_usage_critical", true));
  ASSIGN_OR_RETURN(p.extended_key_usage,
                   r.Strings(ext["extended_key_usage"], "extensions.extended_key_usage"));
  for (const std::string& eku : p.extended_key_usage) {
    if (!kExtendedKeyUsages.contains(eku)) {
      return r.Error("extensions.extended_key_usage", "unknown '" + eku + "'");
    }
  }
  ASSIGN_OR_RETURN(p.subject_key_id,
                   r.Bool(ext["subject_key_id"], "extensions.subject_key_id", true));
  ASSIGN_OR_RETURN(p.authority_key_id,
                   r.Bool(ext["authority_key_id"], "extensions.authority_key_id", true));
  ASSIGN_OR_RETURN(p.crl_distribution_point, r.Bool(ext["crl_distribution_point"],
                                                    "extensions.crl_distribution_point", false));
  ASSIGN_OR_RETURN(p.ocsp_url, r.Bool(ext["ocsp_url"], "extensions.ocsp_url", false));
  ASSIGN_OR_RETURN(p.ocsp_nocheck, r.Bool(ext["ocsp_nocheck"], "extensions.ocsp_nocheck", false));

  auto san = t["san"];
  if (san["hardware_module_name"]) {
    HardwareModuleNameTemplate hw;
    ASSIGN_OR_RETURN(hw.hw_type, r.String(san["hardware_module_name"]["hw_type"],
                                          "san.hardware_module_name.hw_type", true));
    ASSIGN_OR_RETURN(hw.hw_serial, r.String(san["hardware_module_name"]["hw_serial"],
                                            "san.hardware_module_name.hw_serial", true));
    if (!IsDottedOid(hw.hw_type)) {
      return r.Error("san.hardware_module_name.hw_type", "must be a dotted OID");
    }
    p.hardware_module_name = std::move(hw);
  }
  ASSIGN_OR_RETURN(p.san_dns, r.Strings(san["dns"], "san.dns"));
  ASSIGN_OR_RETURN(p.san_uri, r.Strings(san["uri"], "san.uri"));
  return p;
}

std::vector<std::string> BuiltinProfileNames() {
  std::vector<std::string> names;
  for (size_t i = 0; i < kBuiltinProfiles_count; ++i) {
    names.emplace_back(kBuiltinProfiles[i].name);
  }
  return names;
}

Result<std::string_view> BuiltinProfileText(std::string_view name) {
  for (size_t i = 0; i < kBuiltinProfiles_count; ++i) {
    if (kBuiltinProfiles[i].name == name) return kBuiltinProfiles[i].data;
  }
  return Status::NotFound("no built-in profile '" + std::string(name) + "'");
}

Result<Profile> BuiltinProfile(std::string_view name) {
  ASSIGN_OR_RETURN(std::string_view text, BuiltinProfileText(name));
  return ParseProfile(text, "ca/profiles/" + std::string(name) + ".toml");
}

Result<std::string> ExpandTemplate(std::string_view tmpl, const TemplateValues& values) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t open = tmpl.find('{', i);
    if (open == std::string_view::npos) {
      out.append(tmpl.substr(i));
      break;
    }
    out.append(tmpl.substr(i, open - i));
    size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("unterminated '{' in template '" + std::string(tmpl) + "'");
    }
    std::string_view name = tmpl.substr(open + 1, close - open - 1);
    auto it = values.find(name);
    if (it == values.end() || it->second.empty()) {
      return Status::InvalidArgument("template '" + std::string(tmpl) + "' needs {" +
                                     std::string(name) + "}, which this request does not have");
    }
    out.append(it->second);
    i = close + 1;
  }
  return out;
}

}  // namespace mirrorca::ca
