#include "cli/ceremony_files.h"

#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>

#include "base/encoding.h"
#include "ca/certificate.h"
#include "ca/key_transport.h"
#include "ca/keys.h"
#include "crypto/key_store.h"

namespace mirrorca::cli {

namespace fs = std::filesystem;
using nlohmann::json;

int64_t CeremonyNow() { return static_cast<int64_t>(std::time(nullptr)); }

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string Absolute(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }
std::string FolderOf(const std::string& file) { return fs::path(file).parent_path().string(); }
std::string Rel(const std::string& path, const std::string& config) {
  return fs::relative(path, FolderOf(config)).string();
}

bool PlainName(const std::string& v) {
  return !v.empty() && v.size() <= 64 && std::isalnum(static_cast<unsigned char>(v[0])) &&
         std::all_of(v.begin(), v.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status WritePem(Env* env, const std::string& path, X509* cert) {
  ASSIGN_OR_RETURN(std::string pem, ca::CertificatePem(cert));
  return env->WriteFileAtomic(path, pem, 0644);
}

Result<json> ReadJson(Env* env, const std::string& path, const char* format) {
  ASSIGN_OR_RETURN(std::string text, env->ReadFile(path, kMaxCeremonyFile));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != format) {
    return Status::InvalidArgument(path + " is not a " + format + " file");
  }
  return j;
}

Result<std::string> Field(const json& j, const std::string& path, std::initializer_list<const char*> keys) {
  const json* at = &j;
  std::string name;
  for (const char* k : keys) {
    name += name.empty() ? k : std::string(".") + k;
    if (!at->is_object() || !at->contains(k)) return Status::InvalidArgument(path + ": missing " + name);
    at = &(*at)[k];
  }
  if (!at->is_string()) return Status::InvalidArgument(path + ": " + name + " must be a string");
  return at->get<std::string>();
}

std::string KeyPathOfCa(const std::string& ca_pem) { return FolderOf(ca_pem) + "/ca.key"; }

Result<ca::KeyAndCertificate> CertifyFactoryCa(const FactoryCaSpec& spec, X509* root_cert, EVP_PKEY* root_key) {
  ASSIGN_OR_RETURN(ca::Profile profile, ca::BuiltinProfile(spec.profile));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr key, ca::GenerateKey(ca::KeyType::kP256));
  const ca::CaSubject subject{spec.organization, spec.subject_name, spec.vendor_id};
  ASSIGN_OR_RETURN(ca::X509ReqPtr csr, ca::CreateCaRequest(key.get(), profile, subject));
  ASSIGN_OR_RETURN(std::string csr_pem, ca::RequestPem(csr.get()));
  ASSIGN_OR_RETURN(ca::X509Ptr cert,
                   ca::SignCaRequest(csr_pem, profile, subject, root_cert, root_key,
                                     {spec.public_url + "/crl/root.crl", spec.public_url + "/ocsp"}, CeremonyNow()));
  return ca::KeyAndCertificate{std::move(key), std::move(cert)};
}

Result<json> IssuingCaGrant(const ca::KeyAndCertificate& ca, X509* root_cert, X509* transport,
                            const std::string& ca_name, const std::string& profile, const std::string& public_url) {
  ASSIGN_OR_RETURN(Bytes fingerprint, ca::KeyFingerprint(ca.key.get()));
  ASSIGN_OR_RETURN(std::string sealed, ca::SealPrivateKey(ca.key.get(), transport));
  ASSIGN_OR_RETURN(std::string ca_pem, ca::CertificatePem(ca.cert.get()));
  ASSIGN_OR_RETURN(std::string root_pem, ca::CertificatePem(root_cert));
  return json{{"name", ca_name},
              {"profile", profile},
              {"certificate_pem", ca_pem},
              {"root_pem", root_pem},
              {"sealed_key_pem", sealed},
              {"key_fingerprint", HexEncode(fingerprint)},
              {"crl_url", public_url + "/crl/" + ca_name + ".crl"},
              {"ocsp_url", public_url + "/ocsp"}};
}

Result<OpenedCaGrant> OpenCaGrant(Env* env, const json& g, const std::string& path, const std::string& dir) {
  ASSIGN_OR_RETURN(std::string ca_pem, Field(g, path, {"ca", "certificate_pem"}));
  ASSIGN_OR_RETURN(std::string root_pem, Field(g, path, {"ca", "root_pem"}));
  ASSIGN_OR_RETURN(std::string sealed, Field(g, path, {"ca", "sealed_key_pem"}));
  ASSIGN_OR_RETURN(std::string fingerprint, Field(g, path, {"ca", "key_fingerprint"}));
  OpenedCaGrant out;
  ASSIGN_OR_RETURN(out.crl_url, Field(g, path, {"ca", "crl_url"}));
  ASSIGN_OR_RETURN(out.ocsp_url, Field(g, path, {"ca", "ocsp_url"}));
  // The key opens with our transport key, is the one the certificate
  // certifies, and the certificate chains to the root.
  ASSIGN_OR_RETURN(ca::X509Ptr transport, ca::LoadCertificate(env, dir + "/transport.pem"));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr transport_key, crypto::OpenKeyAt(env, dir + "/transport.key"));
  ASSIGN_OR_RETURN(out.key, ca::OpenSealedKey(sealed, transport.get(), transport_key.get()));
  ASSIGN_OR_RETURN(out.cert, ca::ParseCertificate(ca_pem));
  ASSIGN_OR_RETURN(out.root, ca::ParseCertificate(root_pem));
  if (!ca::KeyMatchesCertificate(out.key.get(), out.cert.get())) {
    return Status::InvalidArgument(path + ": the sealed key is not the key of the CA certificate");
  }
  ASSIGN_OR_RETURN(Bytes fp, ca::KeyFingerprint(out.key.get()));
  if (HexEncode(fp) != fingerprint) return Status::InvalidArgument(path + ": the CA key fingerprint does not match");
  RETURN_IF_ERROR(ca::VerifyChain(out.cert.get(), {}, out.root.get()).WithContext("the issuing CA certificate"));
  return out;
}

}  // namespace mirrorca::cli
