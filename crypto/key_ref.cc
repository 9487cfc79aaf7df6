#include "crypto/key_ref.h"

#include <cctype>
#include <cstdlib>
#include <map>

#include "base/encoding.h"
#include "base/status_macros.h"

namespace mirrorca::crypto {
namespace {

constexpr std::string_view kScheme = "pkcs11:";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) {
      return Status::InvalidArgument("pkcs11 URI: a '%' without two hex digits in " + std::string(what));
    }
    const int hi = HexDigit(s[i + 1]), lo = HexDigit(s[i + 2]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("pkcs11 URI: bad percent encoding in " + std::string(what));
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// Attributes splits "a=b;c=d" (or '&' for the query) into a map; a name
// given twice is refused.
Result<std::map<std::string, std::string>> Attributes(std::string_view s, char sep) {
  std::map<std::string, std::string> out;
  while (!s.empty()) {
    const size_t end = s.find(sep);
    std::string_view part = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view() : s.substr(end + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::InvalidArgument("pkcs11 URI: '" + std::string(part.substr(0, 40)) + "' is not name=value");
    }
    const std::string name(part.substr(0, eq));
    ASSIGN_OR_RETURN(std::string value, PercentDecode(part.substr(eq + 1), name));
    if (!out.emplace(name, std::move(value)).second) {
      return Status::InvalidArgument("pkcs11 URI: '" + name + "' is given twice");
    }
  }
  return out;
}

}  // namespace

Result<KeyRef> ParseKeyRef(std::string_view text, RefTarget target) {
  KeyRef ref;
  if (text.substr(0, kScheme.size()) != kScheme) {
    if (text.empty()) return Status::InvalidArgument("an empty key reference");
    ref.path = std::string(text);
    return ref;
  }
  ref.kind = KeyRef::Kind::kPkcs11;
  std::string_view rest = text.substr(kScheme.size());
  const size_t q = rest.find('?');
  ASSIGN_OR_RETURN(auto path, Attributes(rest.substr(0, q), ';'));
  std::map<std::string, std::string> query;
  if (q != std::string_view::npos) {
    ASSIGN_OR_RETURN(query, Attributes(rest.substr(q + 1), '&'));
  }
  for (const auto& [name, value] : path) {
    if (name == "token") {
      ref.token = value;
    } else if (name == "object") {
      ref.object = value;
    } else if (name == "id") {
      ref.id.assign(value.begin(), value.end());
    } else if (name == "type") {
      if (value != "private") return Status::InvalidArgument("pkcs11 URI: a key reference names a private key (type=private)");
    } else if (name == "manufacturer" || name == "model" || name == "serial" || name == "library-description" ||
               name == "library-manufacturer" || name == "library-version" || name == "slot-description" ||
               name == "slot-id" || name == "slot-manufacturer") {
      // Narrowing attributes we do not need: accepted, not used.
    } else {
      return Status::InvalidArgument("pkcs11 URI: unknown attribute '" + name + "'");
    }
  }
  for (const auto& [name, value] : query) {
    if (name == "pin-value") {
      return Status::InvalidArgument(
          "pkcs11 URI: pin-value is refused (a URI shows in argv, configs and logs); use pin-source=file:PATH or env:NAME");
    }
    if (name == "pin-source") {
      if (value.rfind("file:", 0) != 0 && value.rfind("env:", 0) != 0) {
        return Status::InvalidArgument("pkcs11 URI: pin-source must be file:PATH or env:NAME");
      }
      ref.pin_source = value;
    } else if (name == "module-path") {
      ref.module_path = value;
    } else if (name != "module-name") {
      return Status::InvalidArgument("pkcs11 URI: unknown query attribute '" + name + "'");
    }
  }
  if (target == RefTarget::kToken && ref.token.empty()) {
    return Status::InvalidArgument("pkcs11 URI: name the token by token=");
  }
  if (target == RefTarget::kKey && ref.object.empty() && ref.id.empty()) {
    return Status::InvalidArgument("pkcs11 URI: name the key by object= or id=");
  }
  return ref;
}

std::string KeyRef::ToString() const {
  if (kind == Kind::kFile) return path;
  std::string out = "pkcs11:";
  auto add = [&](const std::string& name, const std::string& value) {
    if (value.empty()) return;
    if (out.back() != ':') out += ';';
    out += name + "=";
    for (unsigned char c : value) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
        out.push_back(static_cast<char>(c));
      } else {
        static const char* kHex = "0123456789ABCDEF";
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  };
  add("token", token);
  add("object", object);
  add("id", std::string(id.begin(), id.end()));
  std::string query;
  if (!pin_source.empty()) query += "pin-source=" + pin_source;  // names where the PIN is, not the PIN
  if (!module_path.empty()) query += (query.empty() ? "" : "&") + std::string("module-path=") + module_path;
  return query.empty() ? out : out + "?" + query;
}

Result<std::string> ReadPin(Env* env, const KeyRef& ref) {
  if (ref.pin_source.rfind("env:", 0) == 0) {
    const std::string name = ref.pin_source.substr(4);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return Status::NotFound("the PIN variable " + name + " is not set");
    return std::string(value);
  }
  if (ref.pin_source.rfind("file:", 0) == 0) {
    const std::string path = ref.pin_source.substr(5);
    ASSIGN_OR_RETURN(uint32_t mode, env->FileMode(path));
    if ((mode & 077) != 0) {
      return Status::PermissionDenied("PIN file " + path + " is readable by others (chmod 600)");
    }
    ASSIGN_OR_RETURN(std::string pin, env->ReadFile(path, 4096));
    while (!pin.empty() && (pin.back() == '\n' || pin.back() == '\r')) pin.pop_back();
    return pin;
  }
  return Status::InvalidArgument("no pin-source in " + ref.ToString());
}

}  // namespace mirrorca::crypto
