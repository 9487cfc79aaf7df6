#include "cli/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>

#include "base/env.h"
#include "base/status_macros.h"
#include "crypto/key_ref.h"

namespace mirrorca::cli {

Result<std::pair<std::string, uint16_t>> HostPort(const std::string& s, const std::string& key,
                                                  const std::string& path);

namespace {

// Doc wraps a parsed TOML file with typed, key-checked accessors.
class Doc {
 public:
  static Result<Doc> Load(const std::string& path) {
    ASSIGN_OR_RETURN(std::string text, Env::Default()->ReadFile(path, 1 << 20));
    Doc d;
    d.path_ = path;
    d.dir_ = std::filesystem::absolute(path).parent_path().string();
    try {
      d.table_ = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
      std::ostringstream msg;
      msg << path << ":" << e.source().begin.line << ": " << e.description();
      return Status::InvalidArgument(msg.str());
    }
    return d;
  }

  Status Error(const std::string& key, const std::string& what) const {
    return Status::InvalidArgument(path_ + ": " + key + ": " + what);
  }

  // Only checks the listed keys exist in `section` (and no others).
  Status Known(const toml::table& t, const std::string& section,
               std::initializer_list<std::string_view> keys) const {
    for (auto&& [k, v] : t) {
      if (std::find(keys.begin(), keys.end(), k.str()) == keys.end()) {
        return Error(section.empty() ? std::string(k.str()) : section + "." + std::string(k.str()),
                     "unknown key");
      }
    }
    return Status::Ok();
  }

  Result<std::string> Str(const toml::table& t, const std::string& section, const char* key,
                          bool required, std::string fallback = "") const {
    const toml::node* n = t.get(key);
    if (n == nullptr) {
      if (required) return Error(section + "." + key, "missing");
      return fallback;
    }
    auto v = n->value<std::string>();
    if (!v) return Error(section + "." + key, "must be a string");
    return *v;
  }

  Result<std::string> PathOf(const toml::table& t, const std::string& section, const char* key,
                             bool required) const {
    Result<std::string> p = Str(t, section, key, required);
    if (!p.ok() || p->empty() || p->front() == '/') return p;
    return dir_ + "/" + *p;
  }

  // KeyOf reads a private key: a file path (relative to the config) holding
  // a PEM key or a key reference, or a `pkcs11:` URI (crypto/key_store.h),
  // checked here so a bad one fails at load, naming the key.
  Result<std::string> KeyOf(const toml::table& t, const std::string& section, const char* key) const {
    ASSIGN_OR_RETURN(std::string v, Str(t, section, key, true));
    if (v.rfind("pkcs11:", 0) == 0) {
      if (Result<crypto::KeyRef> ref = crypto::ParseKeyRef(v); !ref.ok()) {
        return Error(section + "." + key, ref.status().message());
      }
      return v;
    }
    return PathOf(t, section, key, true);
  }

  Result<int64_t> Int(const toml::table& t, const std::string& section, const char* key,
                      int64_t fallback, int64_t lo, int64_t hi) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return fallback;
    if (!n->is_integer()) return Error(section + "." + key, "must be an integer");
    int64_t v = *n->value<int64_t>();
    if (v < lo || v > hi) {
      return Error(section + "." + key,
                   "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    return v;
  }

  Result<const toml::table*> Section(const std::string& name, bool required) const {
    const toml::node* n = table_.get(name);
    if (n == nullptr) {
      if (required) return Error("[" + name + "]", "missing section");
      static const toml::table kEmpty;
      return &kEmpty;
    }
    if (!n->is_table()) return Error(name, "must be a table");
    return n->as_table();
  }

  Result<std::vector<const toml::table*>> Array(const std::string& name) const {
    std::vector<const toml::table*> out;
    const toml::node* n = table_.get(name);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) return Error(name, "must be an array of tables ([[" + name + "]])");
    for (const toml::node& e : *a) {
      if (!e.is_table()) return Error(name, "must be an array of tables");
      out.push_back(e.as_table());
    }
    return out;
  }

  Result<TlsFiles> Tls(const toml::table& t, const std::string& section) const {
    TlsFiles f;
    ASSIGN_OR_RETURN(f.cert, PathOf(t, section, "tls_cert", true));
    ASSIGN_OR_RETURN(f.key, KeyOf(t, section, "tls_key"));
    ASSIGN_OR_RETURN(f.ca, PathOf(t, section, "tls_ca", true));
    return f;
  }

  // SpkiPins reads `key` as one pinned SubjectPublicKeyInfo SHA-256 (64 hex
  // digits) or a list of them; absent: none.
  Result<std::set<std::string>> SpkiPins(const toml::table& t, const std::string& section,
                                         const char* key) const {
    std::set<std::string> pins;
    if (const toml::array* list = t.get_as<toml::array>(key)) {
      for (const toml::node& n : *list) {
        std::optional<std::string> v = n.value<std::string>();
        if (!v || v->size() != 64) return Error(section + "." + key, "must be 64 hex digits each");
        pins.insert(*v);
      }
    } else if (t.contains(key)) {
      ASSIGN_OR_RETURN(std::string pin, Str(t, section, key, true));
      if (pin.size() != 64) return Error(section + "." + key, "must be 64 hex digits");
      pins.insert(pin);
    }
    return pins;
  }

  // Listen reads the section's required "listen" as HOST:PORT.
  Result<std::pair<std::string, uint16_t>> Listen(const toml::table& t, const std::string& section) const {
    ASSIGN_OR_RETURN(std::string listen, Str(t, section, "listen", true));
    return HostPort(listen, section + ".listen", path_);
  }

  const toml::table& root() const { return table_; }

  // Operator reads [operator] (absent: no listener). `sync_age`: whether
  // max_sync_age_hours applies (HQ only).
  Result<std::optional<OperatorConfig>> Operator(bool sync_age) const {
    ASSIGN_OR_RETURN(const toml::table* t, Section("operator", false));
    if (t->empty()) return std::optional<OperatorConfig>();
    if (sync_age) {
      RETURN_IF_ERROR(Known(*t, "operator", {"listen", "max_sync_age_hours"}));
    } else {
      RETURN_IF_ERROR(Known(*t, "operator", {"listen"}));
    }
    OperatorConfig o;
    ASSIGN_OR_RETURN(auto hp, Listen(*t, "operator"));
    o.listen_address = hp.first;
    o.listen_port = hp.second;
    if (sync_age) {
      ASSIGN_OR_RETURN(int64_t hours, Int(*t, "operator", "max_sync_age_hours", 48, 0, 24 * 366));
      o.max_sync_age_seconds = hours * 3600;
    }
    return std::optional<OperatorConfig>(o);
  }

 private:
  std::string path_, dir_;
  toml::table table_;
};


// PlainCaName: a CA's URL name (/crl/<name>.crl).
bool PlainCaName(const std::string& v) {
  return !v.empty() && v.size() <= 64 && v != "root" && std::all_of(v.begin(), v.end(), [](char ch) {
    return std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) ||
           ch == '-' || ch == '_' || ch == '.';
  });
}

}  // namespace

std::vector<CaMirror> FactoryRef::AllCas() const {
  std::vector<CaMirror> all = previous_cas;
  all.push_back({ca_name, ca_mirror_dir});
  return all;
}

Result<std::pair<std::string, uint16_t>> HostPort(const std::string& s, const std::string& key,
                                                  const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(path + ": " + key + ": '" + s + "': " + why);
  };
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos) return bad("expected HOST:PORT");
  std::string host = s.substr(0, colon);
  const std::string port_text = s.substr(colon + 1);
  // The whole port, digits only: "80abc", "+4082", " 4081" and "" are refused
  // (std::stoi would have read a prefix and bound another port).
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("the port must be a number from 0 to 65535");
  }
  const unsigned long port = std::stoul(port_text);
  if (port > 65535) return bad("the port must be a number from 0 to 65535");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);  // [::1]
  if (host.empty() || std::any_of(host.begin(), host.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c));
      })) {
    return bad("the host must be a name or an address, without spaces");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<FactoryConfig> LoadFactoryConfig(const std::string& path) {
  ASSIGN_OR_RETURN(Doc d, Doc::Load(path));
  RETURN_IF_ERROR(d.Known(d.root(), "", {"factory", "ca", "issuing_ca", "hq", "enroll", "ra", "profiles", "sync", "operator"}));
  FactoryConfig c;
  c.path = path;
  ASSIGN_OR_RETURN(const toml::table* f, d.Section("factory", true));
  RETURN_IF_ERROR(d.Known(*f, "factory", {"name", "organization", "production_line", "data_dir",
                                          "checkpoint_interval", "min_free_mb", "max_clock_jump_minutes"}));
  ASSIGN_OR_RETURN(c.name, d.Str(*f, "factory", "name", true));
  ASSIGN_OR_RETURN(c.organization, d.Str(*f, "factory", "organization", true));
  ASSIGN_OR_RETURN(c.production_line, d.Str(*f, "factory", "production_line", false));
  ASSIGN_OR_RETURN(c.data_dir, d.PathOf(*f, "factory", "data_dir", true));
  ASSIGN_OR_RETURN(int64_t interval,
                   d.Int(*f, "factory", "checkpoint_interval", 1000, 1, 1 << 30));
  c.checkpoint_interval = static_cast<uint64_t>(interval);
  ASSIGN_OR_RETURN(int64_t min_free_mb, d.Int(*f, "factory", "min_free_mb", 64, 0, 1 << 20));
  c.min_free_bytes = static_cast<uint64_t>(min_free_mb) << 20;
  ASSIGN_OR_RETURN(int64_t jump_minutes, d.Int(*f, "factory", "max_clock_jump_minutes", 10, 0, 7 * 24 * 60));
  c.max_clock_jump_seconds = jump_minutes * 60;

  ASSIGN_OR_RETURN(const toml::table* ca, d.Section("ca", true));
  RETURN_IF_ERROR(d.Known(*ca, "ca", {"dir", "crl_url", "ocsp_url"}));
  ASSIGN_OR_RETURN(c.ca_dir, d.PathOf(*ca, "ca", "dir", true));
  ASSIGN_OR_RETURN(c.crl_url, d.Str(*ca, "ca", "crl_url", false));
  ASSIGN_OR_RETURN(c.ocsp_url, d.Str(*ca, "ca", "ocsp_url", false));
  // [[issuing_ca]]: a CA that replaced the one before it (pki ca-join).
  ASSIGN_OR_RETURN(std::vector<const toml::table*> next_cas, d.Array("issuing_ca"));
  for (const toml::table* n : next_cas) {
    RETURN_IF_ERROR(d.Known(*n, "issuing_ca", {"dir", "crl_url", "ocsp_url"}));
    IssuingCaFiles next;
    ASSIGN_OR_RETURN(next.dir, d.PathOf(*n, "issuing_ca", "dir", true));
    ASSIGN_OR_RETURN(next.crl_url, d.Str(*n, "issuing_ca", "crl_url", false));
    ASSIGN_OR_RETURN(next.ocsp_url, d.Str(*n, "issuing_ca", "ocsp_url", false));
    if (next.dir == c.ca_dir || std::any_of(c.previous_cas.begin(), c.previous_cas.end(),
                                            [&](const IssuingCaFiles& p) { return p.dir == next.dir; })) {
      return d.Error("issuing_ca.dir", "'" + next.dir + "' is already an issuing CA of this factory");
    }
    c.previous_cas.push_back({c.ca_dir, c.crl_url, c.ocsp_url});
    c.ca_dir = next.dir;
    c.crl_url = next.crl_url;
    c.ocsp_url = next.ocsp_url;
  }

  ASSIGN_OR_RETURN(const toml::table* hq, d.Section("hq", true));
  RETURN_IF_ERROR(d.Known(*hq, "hq", {"log_origin", "log_key"}));
  ASSIGN_OR_RETURN(c.hq_log_origin, d.Str(*hq, "hq", "log_origin", true));
  ASSIGN_OR_RETURN(c.hq_log_key, d.Str(*hq, "hq", "log_key", true));

  ASSIGN_OR_RETURN(const toml::table* en, d.Section("enroll", true));
  RETURN_IF_ERROR(d.Known(*en, "enroll", {"listen", "tls_cert", "tls_key", "tls_ca", "cmp_secrets_dir"}));
  ASSIGN_OR_RETURN(c.cmp_secrets_dir, d.PathOf(*en, "enroll", "cmp_secrets_dir", false));
  ASSIGN_OR_RETURN(auto hp, d.Listen(*en, "enroll"));
  c.listen_address = hp.first;
  c.listen_port = hp.second;
  ASSIGN_OR_RETURN(c.tls, d.Tls(*en, "enroll"));

  ASSIGN_OR_RETURN(std::vector<const toml::table*> ras, d.Array("ra"));
  for (const toml::table* r : ras) {
    RETURN_IF_ERROR(d.Known(*r, "ra", {"id", "spki_sha256", "batches"}));
    RaEntry e;
    ASSIGN_OR_RETURN(e.id, d.Str(*r, "ra", "id", true));
    ASSIGN_OR_RETURN(e.spki_sha256, d.Str(*r, "ra", "spki_sha256", true));
    if (e.spki_sha256.size() != 64) return d.Error("ra.spki_sha256", "must be 64 hex digits");
    const toml::array* b = r->get_as<toml::array>("batches");
    if (b == nullptr) return d.Error("ra.batches", "missing (use [\"*\"] for every batch)");
    for (const toml::node& n : *b) {
      auto v = n.value<std::string>();
      if (!v) return d.Error("ra.batches", "must be strings");
      e.batches.insert(*v);
    }
    c.ras.push_back(std::move(e));
  }

  ASSIGN_OR_RETURN(const toml::table* sync, d.Section("sync", false));
  if (!sync->empty()) {
    RETURN_IF_ERROR(d.Known(*sync, "sync", {"hq_address", "tls_cert", "tls_key", "tls_ca",
                                            "hq_spki_sha256", "continuous",
                                            "io_timeout_seconds"}));
    SyncClientConfig s;
    ASSIGN_OR_RETURN(std::string addr, d.Str(*sync, "sync", "hq_address", true));
    ASSIGN_OR_RETURN(auto hp, HostPort(addr, "sync.hq_address", path));
    s.hq_host = hp.first;
    s.hq_port = hp.second;
    ASSIGN_OR_RETURN(s.tls, d.Tls(*sync, "sync"));
    ASSIGN_OR_RETURN(s.hq_spki_sha256, d.Str(*sync, "sync", "hq_spki_sha256", true));
    if (s.hq_spki_sha256.size() != 64) return d.Error("sync.hq_spki_sha256", "must be 64 hex digits");
    auto continuous = sync->get_as<bool>("continuous");
    if (sync->contains("continuous") && continuous == nullptr) {
      return d.Error("sync.continuous", "must be true or false");
    }
    s.continuous = continuous != nullptr && continuous->get();
    ASSIGN_OR_RETURN(int64_t t, d.Int(*sync, "sync", "io_timeout_seconds", 30, 1, 3600));
    s.io_timeout_seconds = static_cast<int>(t);
    c.sync = std::move(s);
  }

  ASSIGN_OR_RETURN(const toml::table* profiles, d.Section("profiles", false));
  for (auto&& [k, v] : *profiles) {
    auto p = v.value<std::string>();
    if (!p) return d.Error("profiles." + std::string(k.str()), "must be a file path");
    ASSIGN_OR_RETURN(std::string resolved, d.PathOf(*profiles, "profiles", std::string(k.str()).c_str(), true));
    c.profile_files[std::string(k.str())] = resolved;
  }
  ASSIGN_OR_RETURN(c.operator_listener, d.Operator(false));
  return c;
}

Result<HqConfig> LoadHqConfig(const std::string& path) {
  ASSIGN_OR_RETURN(Doc d, Doc::Load(path));
  RETURN_IF_ERROR(d.Known(d.root(), "", {"hq", "root", "factory", "factory_ca", "va", "sync", "validation", "admin", "operator"}));
  HqConfig c;
  c.path = path;
  ASSIGN_OR_RETURN(const toml::table* hq, d.Section("hq", true));
  RETURN_IF_ERROR(d.Known(*hq, "hq", {"name", "organization", "data_dir"}));
  ASSIGN_OR_RETURN(c.name, d.Str(*hq, "hq", "name", true));
  ASSIGN_OR_RETURN(c.organization, d.Str(*hq, "hq", "organization", true));
  ASSIGN_OR_RETURN(c.data_dir, d.PathOf(*hq, "hq", "data_dir", true));
  ASSIGN_OR_RETURN(const toml::table* root, d.Section("root", true));
  RETURN_IF_ERROR(d.Known(*root, "root", {"dir"}));
  ASSIGN_OR_RETURN(c.root_dir, d.PathOf(*root, "root", "dir", true));
  ASSIGN_OR_RETURN(std::vector<const toml::table*> fs, d.Array("factory"));
  for (const toml::table* f : fs) {
    RETURN_IF_ERROR(d.Known(*f, "factory", {"name", "log_origin", "log_key", "ca_mirror_dir",
                                            "data_dir", "sync_spki_sha256", "ca_name", "unseen_serials"}));
    FactoryRef r;
    ASSIGN_OR_RETURN(r.name, d.Str(*f, "factory", "name", true));
    ASSIGN_OR_RETURN(r.log_origin, d.Str(*f, "factory", "log_origin", true));
    ASSIGN_OR_RETURN(r.ca_name, d.Str(*f, "factory", "ca_name", false));
    if (r.ca_name.empty()) r.ca_name = r.log_origin.substr(0, std::min(r.log_origin.find('.'), r.log_origin.find('/')));
    ASSIGN_OR_RETURN(std::string unseen, d.Str(*f, "factory", "unseen_serials", false));
    if (!unseen.empty()) r.unseen_serials = unseen;
    if (r.unseen_serials != "revoked" && r.unseen_serials != "unknown") {
      return d.Error("factory.unseen_serials", "must be \"revoked\" or \"unknown\", not \"" + r.unseen_serials + "\"");
    }
    auto plain = [](const std::string& v, bool upper) {
      return !v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [upper](char ch) {
        return std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) ||
               ch == '-' || ch == '_' || ch == '.' || (upper && std::isupper(static_cast<unsigned char>(ch)));
      });
    };
    if (!plain(r.name, true)) {
      return d.Error("factory.name", "'" + r.name + "': 1 to 64 letters, digits, '-', '_' or '.' (it names batches: NAME/BATCH)");
    }
    if (!PlainCaName(r.ca_name)) {
      return d.Error("factory.ca_name", "'" + r.ca_name + "': 1 to 64 lower-case letters, digits, '-', '_' or '.', not \"root\" (it is a URL path)");
    }
    for (const FactoryRef& other : c.factories) {
      if (other.name == r.name) return d.Error("factory.name", "two factories are named '" + r.name + "'");
      if (other.log_origin == r.log_origin) {
        return d.Error("factory.log_origin", "factories '" + other.name + "' and '" + r.name + "' share the log '" + r.log_origin + "'");
      }
      if (other.ca_name == r.ca_name) {
        return d.Error("factory.ca_name", "factories '" + other.name + "' and '" + r.name + "' share the CA name '" + r.ca_name + "' (set ca_name)");
      }
    }
    ASSIGN_OR_RETURN(r.log_key, d.Str(*f, "factory", "log_key", true));
    ASSIGN_OR_RETURN(r.ca_mirror_dir, d.PathOf(*f, "factory", "ca_mirror_dir", true));
    ASSIGN_OR_RETURN(r.data_dir, d.PathOf(*f, "factory", "data_dir", false));
    ASSIGN_OR_RETURN(r.sync_spki_sha256, d.SpkiPins(*f, "factory", "sync_spki_sha256"));
    for (const FactoryRef& other : c.factories) {
      for (const std::string& pin : r.sync_spki_sha256) {
        if (other.sync_spki_sha256.count(pin) != 0) {
          return d.Error("factory.sync_spki_sha256", "the TLS key " + pin + " is bound to both '" + other.name + "' and '" + r.name + "'");
        }
      }
    }
    c.factories.push_back(std::move(r));
  }
  // [[factory_ca]]: a factory's next issuing CA (pki certify-ca); the one
  // before it stays served.
  ASSIGN_OR_RETURN(std::vector<const toml::table*> next_cas, d.Array("factory_ca"));
  for (const toml::table* n : next_cas) {
    RETURN_IF_ERROR(d.Known(*n, "factory_ca", {"factory", "ca_name", "ca_mirror_dir"}));
    ASSIGN_OR_RETURN(std::string factory, d.Str(*n, "factory_ca", "factory", true));
    CaMirror next;
    ASSIGN_OR_RETURN(next.ca_name, d.Str(*n, "factory_ca", "ca_name", true));
    ASSIGN_OR_RETURN(next.ca_mirror_dir, d.PathOf(*n, "factory_ca", "ca_mirror_dir", true));
    if (!PlainCaName(next.ca_name)) {
      return d.Error("factory_ca.ca_name", "'" + next.ca_name + "': 1 to 64 lower-case letters, digits, '-', '_' or '.', not \"root\" (it is a URL path)");
    }
    FactoryRef* owner = nullptr;
    for (FactoryRef& f : c.factories) {
      if (f.name == factory) owner = &f;
      for (const CaMirror& m : f.AllCas()) {
        if (m.ca_name == next.ca_name) return d.Error("factory_ca.ca_name", "the CA name '" + next.ca_name + "' is taken (factory '" + f.name + "')");
        if (m.ca_mirror_dir == next.ca_mirror_dir) return d.Error("factory_ca.ca_mirror_dir", "'" + next.ca_mirror_dir + "' already holds a CA of factory '" + f.name + "'");
      }
    }
    if (owner == nullptr) return d.Error("factory_ca.factory", "no [[factory]] is named '" + factory + "'");
    owner->previous_cas.push_back({owner->ca_name, owner->ca_mirror_dir});
    owner->ca_name = next.ca_name;
    owner->ca_mirror_dir = next.ca_mirror_dir;
  }
  ASSIGN_OR_RETURN(std::vector<const toml::table*> vas, d.Array("va"));
  for (const toml::table* v : vas) {
    RETURN_IF_ERROR(d.Known(*v, "va", {"name", "sync_spki_sha256", "responder_csr"}));
    VaRef r;
    ASSIGN_OR_RETURN(r.name, d.Str(*v, "va", "name", true));
    if (!PlainCaName(r.name)) return d.Error("va.name", "'" + r.name + "': 1 to 64 lower-case letters, digits, '-', '_' or '.'");
    ASSIGN_OR_RETURN(r.sync_spki_sha256, d.Str(*v, "va", "sync_spki_sha256", true));
    if (r.sync_spki_sha256.size() != 64) return d.Error("va.sync_spki_sha256", "must be 64 hex digits");
    ASSIGN_OR_RETURN(r.responder_csr, d.PathOf(*v, "va", "responder_csr", true));
    for (const VaRef& other : c.vas) {
      if (other.name == r.name) return d.Error("va.name", "two VAs are named '" + r.name + "'");
      if (other.sync_spki_sha256 == r.sync_spki_sha256) return d.Error("va.sync_spki_sha256", "two VAs share a key");
    }
    for (const FactoryRef& f : c.factories) {
      if (f.sync_spki_sha256.count(r.sync_spki_sha256) != 0) {
        return d.Error("va.sync_spki_sha256", "the TLS key " + r.sync_spki_sha256 + " is factory '" + f.name + "''s");
      }
    }
    c.vas.push_back(std::move(r));
  }
  ASSIGN_OR_RETURN(const toml::table* sync, d.Section("sync", false));
  if (!sync->empty()) {
    RETURN_IF_ERROR(d.Known(*sync, "sync", {"listen", "tls_cert", "tls_key", "tls_ca",
                                            "io_timeout_seconds", "max_sessions"}));
    SyncServerConfig s;
    ASSIGN_OR_RETURN(auto hp, d.Listen(*sync, "sync"));
    s.listen_address = hp.first;
    s.listen_port = hp.second;
    ASSIGN_OR_RETURN(s.tls, d.Tls(*sync, "sync"));
    ASSIGN_OR_RETURN(int64_t t, d.Int(*sync, "sync", "io_timeout_seconds", 30, 1, 3600));
    s.io_timeout_seconds = static_cast<int>(t);
    ASSIGN_OR_RETURN(int64_t m, d.Int(*sync, "sync", "max_sessions", 64, 1, 4096));
    s.max_sessions = static_cast<int>(m);
    c.sync = std::move(s);
  }
  ASSIGN_OR_RETURN(const toml::table* admin, d.Section("admin", false));
  if (!admin->empty()) {
    RETURN_IF_ERROR(d.Known(*admin, "admin", {"listen", "tls_cert", "tls_key", "tls_ca", "spki_sha256"}));
    ASSIGN_OR_RETURN(std::set<std::string> pins, d.SpkiPins(*admin, "admin", "spki_sha256"));
    if (admin->contains("listen")) {
      AdminConfig a;
      ASSIGN_OR_RETURN(auto hp, d.Listen(*admin, "admin"));
      a.listen_address = hp.first;
      a.listen_port = hp.second;
      ASSIGN_OR_RETURN(a.tls, d.Tls(*admin, "admin"));
      if (pins.empty()) return d.Error("admin.spki_sha256", "the admin API needs at least one pinned key");
      a.spki_sha256 = std::move(pins);
      c.admin = std::move(a);
    }
  }
  ASSIGN_OR_RETURN(const toml::table* va, d.Section("validation", false));
  if (!va->empty()) {
    RETURN_IF_ERROR(d.Known(*va, "validation", {"listen", "public_url", "crl_validity_hours",
                                                "crl_debounce_seconds", "ocsp_validity_minutes",
                                                "io_threads", "ocsp_max_age_seconds", "served_by", "ocsp_cache_mb", "ocsp_store_cache_mb",
                                                "ocsp_signatures_per_second"}));
    ValidationConfig v;
    ASSIGN_OR_RETURN(std::string listen, d.Str(*va, "validation", "listen", true));
    ASSIGN_OR_RETURN(auto hp, d.Listen(*va, "validation"));
    v.listen_address = hp.first;
    v.listen_port = hp.second;
    ASSIGN_OR_RETURN(v.public_url, d.Str(*va, "validation", "public_url", false));
    if (v.public_url.empty()) v.public_url = "http://" + listen;
    ASSIGN_OR_RETURN(int64_t crl_h, d.Int(*va, "validation", "crl_validity_hours", 24, 1, 24 * 365));
    ASSIGN_OR_RETURN(int64_t ocsp_m, d.Int(*va, "validation", "ocsp_validity_minutes", 240, 1, 60 * 24 * 30));
    v.crl_validity_seconds = crl_h * 3600;
    ASSIGN_OR_RETURN(v.crl_debounce_seconds, d.Int(*va, "validation", "crl_debounce_seconds", 2, 0, 3600));
    v.ocsp_validity_seconds = ocsp_m * 60;
    ASSIGN_OR_RETURN(int64_t io, d.Int(*va, "validation", "io_threads", 2, 1, 64));
    v.io_threads = static_cast<unsigned>(io);
    ASSIGN_OR_RETURN(v.ocsp_max_age_seconds,
                     d.Int(*va, "validation", "ocsp_max_age_seconds", 60, 0, 7 * 86400));
    ASSIGN_OR_RETURN(int64_t cache_mb, d.Int(*va, "validation", "ocsp_cache_mb", 256, 1, 1 << 16));
    v.ocsp_cache_bytes = static_cast<size_t>(cache_mb) << 20;
    ASSIGN_OR_RETURN(int64_t store_cache_mb, d.Int(*va, "validation", "ocsp_store_cache_mb", 256, 8, 1 << 20));
    v.ocsp_store_cache_bytes = static_cast<size_t>(store_cache_mb) << 20;
    ASSIGN_OR_RETURN(v.ocsp_signatures_per_second,
                     d.Int(*va, "validation", "ocsp_signatures_per_second", 1000, 1, 1'000'000));
    ASSIGN_OR_RETURN(std::string served_by, d.Str(*va, "validation", "served_by", false));
    if (!served_by.empty() && served_by != "hq" && served_by != "ocsp-serve") {
      return d.Error("validation.served_by", "must be \"hq\" or \"ocsp-serve\"");
    }
    v.served_by_hq = served_by != "ocsp-serve";
    c.validation = std::move(v);
  }
  ASSIGN_OR_RETURN(c.operator_listener, d.Operator(true));
  return c;
}

Result<RaConfig> LoadRaConfig(const std::string& path) {
  ASSIGN_OR_RETURN(Doc d, Doc::Load(path));
  RETURN_IF_ERROR(d.Known(d.root(), "", {"ra"}));
  ASSIGN_OR_RETURN(const toml::table* ra, d.Section("ra", true));
  RETURN_IF_ERROR(d.Known(*ra, "ra", {"id", "factory_url", "tls_cert", "tls_key", "tls_ca",
                                      "connections", "bulk_size"}));
  RaConfig c;
  c.path = path;
  ASSIGN_OR_RETURN(c.id, d.Str(*ra, "ra", "id", true));
  ASSIGN_OR_RETURN(c.factory_url, d.Str(*ra, "ra", "factory_url", true));
  ASSIGN_OR_RETURN(c.tls, d.Tls(*ra, "ra"));
  ASSIGN_OR_RETURN(int64_t conns, d.Int(*ra, "ra", "connections", 2, 1, 64));
  ASSIGN_OR_RETURN(int64_t bulk, d.Int(*ra, "ra", "bulk_size", 250, 1, 1000));
  c.connections = static_cast<unsigned>(conns);
  c.bulk_size = static_cast<unsigned>(bulk);
  return c;
}

Result<VaConfig> LoadVaConfig(const std::string& path) {
  ASSIGN_OR_RETURN(Doc d, Doc::Load(path));
  RETURN_IF_ERROR(d.Known(d.root(), "", {"va", "hq", "validation", "operator"}));
  VaConfig c;
  c.path = path;
  ASSIGN_OR_RETURN(const toml::table* va, d.Section("va", true));
  RETURN_IF_ERROR(d.Known(*va, "va", {"name", "data_dir", "responder_key", "unseen_serials", "follow_seconds"}));
  ASSIGN_OR_RETURN(c.name, d.Str(*va, "va", "name", true));
  ASSIGN_OR_RETURN(c.data_dir, d.PathOf(*va, "va", "data_dir", true));
  ASSIGN_OR_RETURN(c.responder_key, d.KeyOf(*va, "va", "responder_key"));
  ASSIGN_OR_RETURN(std::string unseen, d.Str(*va, "va", "unseen_serials", false));
  if (!unseen.empty() && unseen != "revoked" && unseen != "unknown") {
    return d.Error("va.unseen_serials", "must be \"revoked\" or \"unknown\"");
  }
  c.unseen_unknown = unseen == "unknown";
  ASSIGN_OR_RETURN(int64_t follow, d.Int(*va, "va", "follow_seconds", 2, 1, 3600));
  c.follow_seconds = static_cast<int>(follow);
  ASSIGN_OR_RETURN(const toml::table* hq, d.Section("hq", true));
  RETURN_IF_ERROR(d.Known(*hq, "hq", {"log_origin", "log_key", "sync_address", "tls_cert", "tls_key", "tls_ca",
                                      "hq_spki_sha256", "io_timeout_seconds"}));
  ASSIGN_OR_RETURN(c.hq_log_origin, d.Str(*hq, "hq", "log_origin", true));
  ASSIGN_OR_RETURN(c.hq_log_key, d.Str(*hq, "hq", "log_key", true));
  ASSIGN_OR_RETURN(std::string addr, d.Str(*hq, "hq", "sync_address", true));
  ASSIGN_OR_RETURN(auto hp, HostPort(addr, "hq.sync_address", path));
  c.hq_host = hp.first;
  c.hq_port = hp.second;
  ASSIGN_OR_RETURN(c.tls, d.Tls(*hq, "hq"));
  ASSIGN_OR_RETURN(c.hq_spki_sha256, d.Str(*hq, "hq", "hq_spki_sha256", true));
  if (c.hq_spki_sha256.size() != 64) return d.Error("hq.hq_spki_sha256", "must be 64 hex digits");
  ASSIGN_OR_RETURN(int64_t t, d.Int(*hq, "hq", "io_timeout_seconds", 30, 1, 3600));
  c.io_timeout_seconds = static_cast<int>(t);
  ASSIGN_OR_RETURN(const toml::table* v, d.Section("validation", true));
  RETURN_IF_ERROR(d.Known(*v, "validation", {"listen", "ocsp_validity_minutes", "ocsp_max_age_seconds", "io_threads",
                                             "ocsp_cache_mb", "ocsp_store_cache_mb", "ocsp_signatures_per_second"}));
  ASSIGN_OR_RETURN(auto listen, d.Listen(*v, "validation"));
  c.listen_address = listen.first;
  c.listen_port = listen.second;
  ASSIGN_OR_RETURN(int64_t ocsp_m, d.Int(*v, "validation", "ocsp_validity_minutes", 240, 1, 60 * 24 * 30));
  c.ocsp_validity_seconds = ocsp_m * 60;
  ASSIGN_OR_RETURN(c.ocsp_max_age_seconds, d.Int(*v, "validation", "ocsp_max_age_seconds", 60, 0, 7 * 86400));
  ASSIGN_OR_RETURN(int64_t cache_mb, d.Int(*v, "validation", "ocsp_cache_mb", 256, 1, 1 << 16));
  c.ocsp_cache_bytes = static_cast<size_t>(cache_mb) << 20;
  ASSIGN_OR_RETURN(int64_t store_cache_mb, d.Int(*v, "validation", "ocsp_store_cache_mb", 256, 8, 1 << 20));
  c.ocsp_store_cache_bytes = static_cast<size_t>(store_cache_mb) << 20;
  ASSIGN_OR_RETURN(c.ocsp_signatures_per_second,
                   d.Int(*v, "validation", "ocsp_signatures_per_second", 1000, 1, 1'000'000));
  ASSIGN_OR_RETURN(int64_t io, d.Int(*v, "validation", "io_threads", 2, 1, 64));
  c.io_threads = static_cast<unsigned>(io);
  ASSIGN_OR_RETURN(c.operator_listener, d.Operator(false));
  return c;
}

}  // namespace mirrorca::cli
