// Ceremony files: the small pieces every key-ceremony command shares — the
// request and grant files (JSON with a "format" line), config blocks
// appended to a node's TOML and checked, paths written relative to a config
// file, and the issuing CA a root certifies for a factory.
//
// Thread-safety: CLI-time free functions; one ceremony at a time per folder.
#ifndef MIRRORCA_CLI_CEREMONY_FILES_H_
#define MIRRORCA_CLI_CEREMONY_FILES_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/result.h"
#include "base/status_macros.h"
#include "ca/hierarchy.h"
#include "ca/openssl_types.h"

namespace mirrorca::cli {

inline constexpr size_t kMaxCeremonyFile = 1 << 20;

int64_t CeremonyNow();  // seconds since the epoch

// Quote writes `s` as a TOML basic string.
std::string Quote(const std::string& s);
std::string Absolute(const std::string& path);
std::string FolderOf(const std::string& file);
// Rel names `path` relative to the folder of the config file `config`.
std::string Rel(const std::string& path, const std::string& config);
// PlainName: 1 to 64 letters, digits, '-', '_' or '.', starting alphanumeric.
bool PlainName(const std::string& v);
std::string Lower(std::string s);

Status WritePem(Env* env, const std::string& path, X509* cert);

// ReadJson reads a ceremony file whose "format" is `format`.
Result<nlohmann::json> ReadJson(Env* env, const std::string& path, const char* format);
// Field reads a required string of a request or grant ("a.b" by keys).
Result<std::string> Field(const nlohmann::json& j, const std::string& path, std::initializer_list<const char*> keys);

// KeyPathOfCa: a TLS CA's key lives beside its certificate (ca.pem → ca.key).
std::string KeyPathOfCa(const std::string& ca_pem);

// AppendChecked appends `block` to the config `path` and checks that the
// result still loads with `load`; on failure the file is restored.
template <typename Load>
Status AppendChecked(Env* env, const std::string& path, const std::string& block, Load load) {
  ASSIGN_OR_RETURN(std::string before, env->ReadFile(path, kMaxCeremonyFile));
  RETURN_IF_ERROR(env->WriteFileAtomic(path, before + block, 0644));
  Status loaded = load(path).status();
  if (!loaded.ok()) {
    (void)env->WriteFileAtomic(path, before, 0644);
    return loaded;
  }
  return Status::Ok();
}

// FactoryCaSpec: the issuing CA a root certifies for a factory.
struct FactoryCaSpec {
  std::string organization;
  std::string subject_name;  // the {factory} of the CA profile's subject (unique per CA)
  std::string profile;       // "issuing-ca" | "matter-pai"
  std::string vendor_id;     // matter-pai: 4 hex digits
  std::string public_url;    // the root's CRL and OCSP are named under it
};
// CertifyFactoryCa makes a P-256 key (in memory: it is sealed to the
// factory and stored in HQ's key store by the caller) and the root's
// certificate for it.
Result<ca::KeyAndCertificate> CertifyFactoryCa(const FactoryCaSpec& spec, X509* root_cert, EVP_PKEY* root_key);

// IssuingCaGrant: the "ca" object of a grant — the certificate, the root,
// the key sealed to the factory's transport certificate, its fingerprint
// and the URLs the factory's certificates will name.
Result<nlohmann::json> IssuingCaGrant(const ca::KeyAndCertificate& ca, X509* root_cert, X509* transport,
                                      const std::string& ca_name, const std::string& profile,
                                      const std::string& public_url);

// OpenedCaGrant: a grant's "ca" object opened with the factory's transport
// key and checked (the key is the certificate's, its fingerprint matches,
// the certificate chains to the root).
struct OpenedCaGrant {
  ca::EvpPkeyPtr key;
  ca::X509Ptr cert;
  ca::X509Ptr root;
  std::string crl_url, ocsp_url;
};
Result<OpenedCaGrant> OpenCaGrant(Env* env, const nlohmann::json& grant, const std::string& grant_path,
                                  const std::string& transport_dir);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_CEREMONY_FILES_H_
