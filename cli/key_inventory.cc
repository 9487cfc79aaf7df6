#include "cli/key_inventory.h"

#include <vector>

#include <toml++/toml.h>

#include "base/env.h"
#include "base/status_macros.h"
#include "cli/config.h"
#include "crypto/ed25519_signer.h"
#include "crypto/key_store.h"
#include "engine/cosigner.h"
#include "log/local_log.h"

namespace mirrorca::cli {
namespace {

using nlohmann::json;

struct KeyUse {
  std::string role;
  std::string path;
  bool ed25519 = false;  // a log key
};

// Opens reports whether the key opens and signs (the error otherwise).
Status Opens(Env* env, const KeyUse& k) {
  static constexpr uint8_t kProbe[] = {'p', 'r', 'o', 'b', 'e'};
  if (k.ed25519) {
    ASSIGN_OR_RETURN(crypto::Ed25519Signer s, crypto::Ed25519Signer::OpenAt(env, k.path));
    return s.Sign(ByteSpan(kProbe, sizeof(kProbe))).status();
  }
  ASSIGN_OR_RETURN(crypto::EvpPkeyPtr key, crypto::OpenKeyAt(env, k.path));
  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, kProbe, sizeof(kProbe)) != 1) {
    return crypto::OpenSslError("sign with " + k.path);
  }
  std::vector<uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, kProbe, sizeof(kProbe)) != 1) {
    return crypto::OpenSslError("sign with " + k.path);
  }
  return Status::Ok();
}

Result<std::vector<KeyUse>> KeysOf(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, env->ReadFile(path, 1 << 20));
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ": " + std::string(e.description()));
  }
  // The node a config is for: its one top-level table ([factory] in
  // factory.toml; hq.toml's [[factory]] entries are an array).
  auto has = [&](const char* section) { return table.get(section) != nullptr && table.get(section)->is_table(); };
  std::vector<KeyUse> keys;
  if (has("factory")) {
    ASSIGN_OR_RETURN(FactoryConfig c, LoadFactoryConfig(path));
    keys.push_back({"factory log", log::LogKeyPath(c.data_dir), true});
    keys.push_back({"issuing CA", c.ca_dir + "/ca.key"});
    for (const IssuingCaFiles& p : c.previous_cas) {  // kept for batches authorized under it, until removed
      if (env->FileExists(p.dir + "/ca.key")) keys.push_back({"previous issuing CA", p.dir + "/ca.key"});
    }
    keys.push_back({"enrollment TLS", c.tls.key});
    if (c.sync) keys.push_back({"sync TLS", c.sync->tls.key});
  } else if (has("hq")) {
    ASSIGN_OR_RETURN(HqConfig c, LoadHqConfig(path));
    keys.push_back({"hq log", log::LogKeyPath(c.data_dir), true});
    if (env->FileExists(engine::CosignerKeyPath(c.data_dir))) {
      keys.push_back({"hq cosigner", engine::CosignerKeyPath(c.data_dir), true});
    }
    keys.push_back({"root CA", c.root_dir + "/ca.key"});
    if (c.sync) keys.push_back({"sync TLS", c.sync->tls.key});
    if (c.admin) keys.push_back({"admin API TLS", c.admin->tls.key});
    for (const FactoryRef& f : c.factories) {
      for (const CaMirror& ca : f.AllCas()) {
        const std::string which = ca.ca_name == f.ca_name ? f.name : f.name + " (" + ca.ca_name + ", previous)";
        keys.push_back({"issuing CA of " + which + " (HQ's copy)", ca.ca_mirror_dir + "/ca.key"});
        if (env->FileExists(ca.ca_mirror_dir + "/ocsp-responder.key")) {
          keys.push_back({"OCSP responder of " + which, ca.ca_mirror_dir + "/ocsp-responder.key"});
        }
      }
    }
  } else if (has("ra")) {
    ASSIGN_OR_RETURN(RaConfig c, LoadRaConfig(path));
    keys.push_back({"RA TLS", c.tls.key});
  } else {
    return Status::InvalidArgument(path + " is not an hq.toml, factory.toml or ra.toml");
  }
  return keys;
}

}  // namespace

Result<json> KeyInventory(const std::string& config_path, bool open_keys) {
  Env* env = Env::Default();
  ASSIGN_OR_RETURN(std::vector<KeyUse> keys, KeysOf(env, config_path));
  json out = json::array();
  bool all_open = true;
  for (const KeyUse& k : keys) {
    json e = {{"role", k.role}, {"path", k.path}};
    Result<crypto::KeyRef> ref = crypto::KeyRefAt(env, k.path);
    if (!ref.ok()) {
      e["error"] = ref.status().ToString();
      all_open = false;
    } else if (ref->is_pkcs11()) {
      e["where"] = "token";
      e["token"] = ref->token;
      e["reference"] = ref->ToString();  // names the PIN's source, never the PIN
    } else {
      e["where"] = env->FileExists(k.path) ? "file" : "missing";
    }
    if (open_keys && ref.ok()) {
      Status s = Opens(env, k);
      e["opens"] = s.ok();
      if (!s.ok()) {
        e["error"] = s.ToString();
        all_open = false;
      }
    }
    out.push_back(std::move(e));
  }
  return json{{"config", config_path}, {"keys", out}, {"ok", all_open}};
}

}  // namespace mirrorca::cli
