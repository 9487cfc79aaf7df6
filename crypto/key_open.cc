// The ENGINE API is deprecated in OpenSSL 3.0 but is the PKCS#11 path
// Debian 12 ships for OpenSSL (no pkcs11-provider): docs/key_custody.md.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "crypto/key_open.h"

#include <openssl/engine.h>
#include <openssl/err.h>

#include <map>
#include <mutex>

#include "base/status_macros.h"
#include "crypto/private_key_file.h"

namespace mirrorca::crypto {
namespace {

std::mutex engine_mu;  // guards the engines and every ctrl/login on them

struct EngineFree {
  void operator()(ENGINE* e) const {
    ENGINE_finish(e);
    ENGINE_free(e);
  }
};

// EngineFor returns the libp11 engine bound to `module` (one per module,
// kept for the process). Caller holds engine_mu.
Result<ENGINE*> EngineFor(const std::string& module) {
  static std::map<std::string, std::unique_ptr<ENGINE, EngineFree>>* engines =
      new std::map<std::string, std::unique_ptr<ENGINE, EngineFree>>();
  auto it = engines->find(module);
  if (it != engines->end()) return it->second.get();
  ENGINE_load_dynamic();
  ENGINE* e = ENGINE_by_id("dynamic");
  if (e == nullptr) return OpenSslError("the OpenSSL dynamic engine");
  if (ENGINE_ctrl_cmd_string(e, "SO_PATH", kPkcs11EnginePath, 0) != 1 ||
      ENGINE_ctrl_cmd_string(e, "ID", "pkcs11", 0) != 1 ||
      ENGINE_ctrl_cmd_string(e, "LOAD", nullptr, 0) != 1 ||
      ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module.c_str(), 0) != 1 || ENGINE_init(e) != 1) {
    ENGINE_free(e);
    return OpenSslError(std::string("load the PKCS#11 engine (") + kPkcs11EnginePath + ") for " + module,
                        StatusCode::kFailedPrecondition);
  }
  engines->emplace(module, std::unique_ptr<ENGINE, EngineFree>(e));
  return e;
}

// EngineUri: the reference as libp11 reads it — the path part only (the
// query, where pin-source and module-path are, is ours).
std::string EngineUri(const KeyRef& ref) {
  KeyRef path_only = ref;
  path_only.pin_source.clear();
  path_only.module_path.clear();
  return path_only.ToString() + ";type=private";
}

}  // namespace

Result<EvpPkeyPtr> OpenEvpKey(Env* env, const KeyRef& ref) {
  if (!ref.is_pkcs11()) return LoadPrivateKeyPem(env, ref.path);
  std::string pin;
  if (!ref.pin_source.empty()) {
    ASSIGN_OR_RETURN(pin, ReadPin(env, ref));
  }
  std::lock_guard lock(engine_mu);
  ASSIGN_OR_RETURN(ENGINE * e, EngineFor(ref.module_path.empty() ? kDefaultPkcs11Module : ref.module_path));
  if (!pin.empty() && ENGINE_ctrl_cmd_string(e, "PIN", pin.c_str(), 0) != 1) {
    OPENSSL_cleanse(pin.data(), pin.size());
    return OpenSslError("give the PIN to the PKCS#11 engine", StatusCode::kPermissionDenied);
  }
  OPENSSL_cleanse(pin.data(), pin.size());
  EVP_PKEY* key = ENGINE_load_private_key(e, EngineUri(ref).c_str(), nullptr, nullptr);
  if (key == nullptr) {
    const unsigned long err = ERR_peek_last_error();
    ERR_clear_error();
    const char* reason = err != 0 ? ERR_reason_error_string(err) : nullptr;
    return Status::NotFound("no private key " + ref.ToString() + " in the token (or the login failed)" +
                            (reason != nullptr ? std::string(": ") + reason : std::string()));
  }
  return EvpPkeyPtr(key);
}

}  // namespace mirrorca::crypto
