#include "cli/va_onboarding.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "ca/key_transport.h"
#include "ca/keys.h"
#include "ca/profile.h"
#include "crypto/sha256.h"
#include "base/encoding.h"
#include "cli/ceremony_files.h"
#include "cli/config.h"
#include "cli/onboarding.h"
#include "crypto/key_store.h"
#include "log/local_log.h"

namespace mirrorca::cli {
namespace {

using nlohmann::json;

constexpr const char* kRequestFormat = "mirrorca-va-request/1";
constexpr const char* kGrantFormat = "mirrorca-va-grant/1";

// VerifiedRequest parses a CSR and checks its proof of possession.
Result<ca::X509ReqPtr> VerifiedRequest(const std::string& pem, const std::string& what) {
  ASSIGN_OR_RETURN(ca::X509ReqPtr csr, ca::ParseRequest(pem));
  EVP_PKEY* key = X509_REQ_get0_pubkey(csr.get());
  if (key == nullptr || X509_REQ_verify(csr.get(), key) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument(what + ": the CSR's signature does not verify (proof of possession)");
  }
  return csr;
}

}  // namespace

Result<std::string> VaInit(const VaInitOptions& o) {
  Env* env = Env::Default();
  if (!PlainName(o.name) || Lower(o.name) != o.name) {
    return Status::InvalidArgument("--name '" + o.name + "': 1 to 64 lower-case letters, digits, '-', '_' or '.'");
  }
  RETURN_IF_ERROR(HostPort(o.listen, "--listen", "pki va-init").status());
  const std::string dir = Absolute(o.dir);
  const std::string request = o.request.empty() ? dir + "/" + o.name + ".req" : Absolute(o.request);
  if (env->FileExists(dir + "/va-init.json")) return Status::AlreadyExists(dir + " already holds a VA");
  ASSIGN_OR_RETURN(crypto::KeyStore keys, crypto::ParseKeyStore(o.keys));
  RETURN_IF_ERROR(env->CreateDirs(dir + "/tls"));
  // The responder key: made here, never leaves; HQ certifies it from the CSR.
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr responder,
                   crypto::CreateKey(env, keys, dir + "/responder.key", crypto::TokenKeyType::kP256));
  ASSIGN_OR_RETURN(ca::X509ReqPtr responder_csr, ca::CreateTlsRequest(responder.get(), "ocsp-" + o.name));
  ASSIGN_OR_RETURN(std::string responder_csr_pem, ca::RequestPem(responder_csr.get()));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr sync_key,
                   crypto::CreateKey(env, keys, dir + "/tls/va-sync.key", crypto::TokenKeyType::kP256));
  ASSIGN_OR_RETURN(ca::X509ReqPtr sync_csr, ca::CreateTlsRequest(sync_key.get(), "va-" + o.name));
  ASSIGN_OR_RETURN(std::string sync_csr_pem, ca::RequestPem(sync_csr.get()));
  const json init = {{"name", o.name}, {"listen", o.listen}};
  RETURN_IF_ERROR(env->WriteFileAtomic(dir + "/va-init.json", init.dump(2) + "\n", 0644));
  const json req = {{"format", kRequestFormat},
                    {"name", o.name},
                    {"responder_csr_pem", responder_csr_pem},
                    {"sync_csr_pem", sync_csr_pem}};
  RETURN_IF_ERROR(env->WriteFileAtomic(request, req.dump(2) + "\n", 0644));
  return request;
}

Result<CertifyVaResult> CertifyVa(const CertifyVaOptions& o) {
  Env* env = Env::Default();
  const std::string config_path = Absolute(o.hq_config);
  ASSIGN_OR_RETURN(HqConfig c, LoadHqConfig(config_path));
  if (!c.sync) return Status::InvalidArgument(config_path + " has no [sync] section: a VA follows HQ through it");
  ASSIGN_OR_RETURN(json req, ReadJson(env, o.request, kRequestFormat));
  ASSIGN_OR_RETURN(std::string name, Field(req, o.request, {"name"}));
  ASSIGN_OR_RETURN(std::string responder_csr_pem, Field(req, o.request, {"responder_csr_pem"}));
  ASSIGN_OR_RETURN(std::string sync_csr_pem, Field(req, o.request, {"sync_csr_pem"}));
  for (const VaRef& v : c.vas) {
    if (v.name == name) return Status::AlreadyExists("VA '" + name + "' is already in " + config_path);
  }
  ASSIGN_OR_RETURN(ca::X509ReqPtr responder_csr, VerifiedRequest(responder_csr_pem, o.request + ": responder key"));
  ASSIGN_OR_RETURN(ca::X509ReqPtr sync_csr, VerifiedRequest(sync_csr_pem, o.request + ": sync key"));
  ASSIGN_OR_RETURN(ca::Profile responder_profile, ca::BuiltinProfile("ocsp-responder"));
  const ca::KeyType responder_type = ca::ClassifyKey(X509_REQ_get0_pubkey(responder_csr.get()));
  if (!responder_profile.AllowsKey(responder_type)) {
    return Status::InvalidArgument(o.request + ": the ocsp-responder profile does not allow a " +
                                   std::string(ca::KeyTypeName(responder_type)) + " key");
  }
  CertifyVaResult out;
  out.name = name;
  ASSIGN_OR_RETURN(Bytes responder_spki, ca::SpkiDer(X509_REQ_get0_pubkey(responder_csr.get())));
  out.responder_spki = HexEncode(crypto::Sha256(responder_spki));

  // The VA's sync key, certified by HQ's TLS CA (a client identity).
  ASSIGN_OR_RETURN(ca::X509Ptr tls_ca, ca::LoadCertificate(env, c.sync->tls.ca));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr tls_ca_key, crypto::OpenKeyAt(env, KeyPathOfCa(c.sync->tls.ca)));
  ASSIGN_OR_RETURN(ca::X509Ptr sync_cert,
                   ca::IssueTlsIdentityFromRequest(sync_csr_pem, "va-" + name, false, c.organization, tls_ca.get(),
                                                   tls_ca_key.get(), CeremonyNow()));
  ASSIGN_OR_RETURN(out.sync_spki, ca::SpkiSha256Hex(sync_cert.get()));
  ASSIGN_OR_RETURN(ca::X509Ptr hq_sync_cert, ca::LoadCertificate(env, c.sync->tls.cert));
  ASSIGN_OR_RETURN(std::string hq_sync_spki, ca::SpkiSha256Hex(hq_sync_cert.get()));

  // HQ keeps the responder CSR (the proof of possession stays checkable).
  const std::string csr_path = FolderOf(c.root_dir) + "/vas/" + name + "/responder.csr";
  RETURN_IF_ERROR(env->CreateDirs(FolderOf(csr_path)));
  RETURN_IF_ERROR(env->WriteFileAtomic(csr_path, responder_csr_pem, 0644));
  ASSIGN_OR_RETURN(std::string before, env->ReadFile(config_path, kMaxCeremonyFile));
  RETURN_IF_ERROR(AppendChecked(env, config_path,
                                "\n[[va]]                            # added by mirrorca pki certify-va\n"
                                "name = " + Quote(name) + "\n"
                                "sync_spki_sha256 = \"" + out.sync_spki + "\"   # may follow HQ (read only)\n"
                                "responder_csr = " + Quote(Rel(csr_path, config_path)) +
                                "   # certified under every CA, each certificate logged\n",
                                LoadHqConfig));
  std::string hq_origin, hq_key;
  Result<std::optional<json>> reloaded = ReloadRunningHq(c.data_dir);
  if (!reloaded.ok()) {
    (void)env->WriteFileAtomic(config_path, before, 0644);
    return reloaded.status();
  }
  if (*reloaded) {
    const json& r = **reloaded;
    const json vas = r.value("vas", json::array());
    if (std::find(vas.begin(), vas.end(), json(name)) == vas.end()) {
      (void)env->WriteFileAtomic(config_path, before, 0644);
      return Status::FailedPrecondition("the running hq serve refused the VA: " + r.dump());
    }
    hq_origin = r.value("hq_log", "");
    hq_key = r.value("hq_log_key", "");
    out.taken_by_running_hq = true;
  } else {  // no hq serve: it takes the VA at its start
    Result<log::LocalLog> hq = log::OpenLocalLog(env, c.data_dir, /*with_key=*/false);
    if (!hq.ok()) {
      (void)env->WriteFileAtomic(config_path, before, 0644);
      return hq.status().WithContext("open HQ's store");
    }
    hq_origin = hq->log->origin();
    hq_key = hq->log->verifier().VerifierKey();
  }
  ASSIGN_OR_RETURN(std::string sync_pem, ca::CertificatePem(sync_cert.get()));
  ASSIGN_OR_RETURN(std::string tls_ca_pem, ca::CertificatePem(tls_ca.get()));
  const json grant = {
      {"format", kGrantFormat},
      {"name", name},
      {"hq",
       {{"log_origin", hq_origin},
        {"log_key", hq_key},
        {"sync_address", o.sync_address.empty() ? c.sync->listen_address + ":" + std::to_string(c.sync->listen_port)
                                                : o.sync_address},
        {"sync_spki_sha256", hq_sync_spki},
        {"tls_ca_pem", tls_ca_pem}}},
      {"sync_tls_certificate_pem", sync_pem}};
  RETURN_IF_ERROR(env->WriteFileAtomic(o.grant, grant.dump(2) + "\n", 0644));
  return out;
}

Result<std::string> VaJoin(const VaJoinOptions& o) {
  Env* env = Env::Default();
  const std::string dir = Absolute(o.dir);
  const std::string config = o.config.empty() ? dir + "/va.toml" : Absolute(o.config);
  if (env->FileExists(config)) return Status::AlreadyExists(config + " already exists");
  ASSIGN_OR_RETURN(std::string init_text, env->ReadFile(dir + "/va-init.json", kMaxCeremonyFile));
  json init = json::parse(init_text, nullptr, false);
  if (init.is_discarded() || !init.is_object()) return Status::InvalidArgument(dir + "/va-init.json does not parse");
  ASSIGN_OR_RETURN(json g, ReadJson(env, o.grant, kGrantFormat));
  ASSIGN_OR_RETURN(std::string name, Field(g, o.grant, {"name"}));
  if (name != init.value("name", "")) return Status::InvalidArgument(o.grant + " is for VA '" + name + "', not this one");
  ASSIGN_OR_RETURN(std::string hq_origin, Field(g, o.grant, {"hq", "log_origin"}));
  ASSIGN_OR_RETURN(std::string hq_key, Field(g, o.grant, {"hq", "log_key"}));
  ASSIGN_OR_RETURN(log::LogVerifier hq_verifier, log::LogVerifier::Parse(hq_key));
  if (hq_verifier.name() != hq_origin) return Status::InvalidArgument(o.grant + ": HQ's log key names another log");
  ASSIGN_OR_RETURN(std::string sync_address, Field(g, o.grant, {"hq", "sync_address"}));
  RETURN_IF_ERROR(HostPort(sync_address, "hq.sync_address", o.grant).status());
  ASSIGN_OR_RETURN(std::string hq_spki, Field(g, o.grant, {"hq", "sync_spki_sha256"}));
  ASSIGN_OR_RETURN(std::string tls_ca_pem, Field(g, o.grant, {"hq", "tls_ca_pem"}));
  ASSIGN_OR_RETURN(std::string sync_pem, Field(g, o.grant, {"sync_tls_certificate_pem"}));
  ASSIGN_OR_RETURN(ca::X509Ptr sync_cert, ca::ParseCertificate(sync_pem));
  ASSIGN_OR_RETURN(ca::X509Ptr hq_tls_ca, ca::ParseCertificate(tls_ca_pem));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr sync_key, crypto::OpenKeyAt(env, dir + "/tls/va-sync.key"));
  if (!ca::KeyMatchesCertificate(sync_key.get(), sync_cert.get())) {
    return Status::InvalidArgument(o.grant + ": the sync certificate is not for this VA's sync key");
  }
  RETURN_IF_ERROR(ca::VerifyChain(sync_cert.get(), {}, hq_tls_ca.get()).WithContext("the sync certificate"));
  RETURN_IF_ERROR(WritePem(env, dir + "/tls/va-sync.pem", sync_cert.get()));
  RETURN_IF_ERROR(WritePem(env, dir + "/tls/hq-tls-ca.pem", hq_tls_ca.get()));
  auto rel = [&](const std::string& p) { return Quote(Rel(p, config)); };
  const std::string text =
      "# va.toml — a validation authority following HQ (mirrorca ocsp serve --config va.toml),\n"
      "# written by mirrorca pki va-join. It holds no CA key: only its OCSP responder key.\n"
      "[va]\n"
      "name = " + Quote(name) + "\n"
      "data_dir = " + rel(dir + "/data") + "          # the mirrored logs and the status projection\n"
      "responder_key = " + rel(dir + "/responder.key") + "   # made here; HQ certifies it under every CA\n"
      "unseen_serials = \"revoked\"        # or \"unknown\": OCSP for serials no log issued\n"
      "follow_seconds = 2                # how often it asks HQ for what is new\n\n"
      "[hq]\n"
      "log_origin = " + Quote(hq_origin) + "\n"
      "log_key = " + Quote(hq_key) + "   # pinned\n"
      "sync_address = " + Quote(sync_address) + "\n"
      "tls_cert = " + rel(dir + "/tls/va-sync.pem") + "\n"
      "tls_key = " + rel(dir + "/tls/va-sync.key") + "\n"
      "tls_ca = " + rel(dir + "/tls/hq-tls-ca.pem") + "\n"
      "hq_spki_sha256 = \"" + hq_spki + "\"   # pinned HQ sync key\n\n"
      "[validation]\n"
      "listen = " + Quote(init.value("listen", "127.0.0.1:8090")) + "\n"
      "ocsp_validity_minutes = 240\n"
      "ocsp_max_age_seconds = 60\n";
  RETURN_IF_ERROR(env->WriteFileAtomic(config, text, 0644));
  RETURN_IF_ERROR(LoadVaConfig(config).status());
  return config;
}

}  // namespace mirrorca::cli
