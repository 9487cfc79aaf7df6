#include "cli/onboarding.h"

#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/hierarchy.h"
#include "ca/key_transport.h"
#include "ca/keys.h"
#include "crypto/key_store.h"
#include "cli/ceremony_files.h"
#include "cli/config.h"
#include "cli/hq_node.h"
#include "cli/sync_support.h"
#include "engine/cosigner.h"
#include "engine/log_authority.h"
#include "log/local_log.h"
#include "log/log_key.h"
#include "crypto/sha256.h"

namespace mirrorca::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kRequestFormat = "mirrorca-factory-request/1";
constexpr const char* kGrantFormat = "mirrorca-factory-grant/1";
constexpr size_t kMaxFile = kMaxCeremonyFile;

int64_t NowSeconds() { return CeremonyNow(); }

// WriteTlsIdentity makes DIR/NAME.key in `keys`, issues `name` for it under
// the TLS CA and writes DIR/NAME.pem; returns the SPKI SHA-256 (hex).
Result<std::string> WriteTlsIdentity(Env* env, const crypto::KeyStore& keys, const std::string& dir,
                                     const std::string& name, bool server, const std::string& organization,
                                     X509* ca_cert, EVP_PKEY* ca_key) {
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr key, crypto::CreateKey(env, keys, dir + "/" + name + ".key", crypto::TokenKeyType::kP256));
  ASSIGN_OR_RETURN(ca::KeyAndCertificate id,
                   ca::IssueTlsIdentity(name, server, organization, ca_cert, ca_key, NowSeconds(), std::move(key)));
  RETURN_IF_ERROR(WritePem(env, dir + "/" + name + ".pem", id.cert.get()));
  return ca::SpkiSha256Hex(id.cert.get());
}

// CreateSelfSigned makes DIR/ca.key in `keys` and writes DIR/ca.pem, a
// self-signed CA (a TLS trust anchor, or the OEM root with WriteCaDir).
Result<ca::KeyAndCertificate> CreateSelfSigned(Env* env, const crypto::KeyStore& keys, const std::string& dir,
                                               const ca::CaSubject& subject) {
  RETURN_IF_ERROR(env->CreateDirs(dir));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr key, crypto::CreateKey(env, keys, dir + "/ca.key", crypto::TokenKeyType::kP256));
  ASSIGN_OR_RETURN(ca::KeyAndCertificate ca, ca::CreateRoot(subject, std::move(key), NowSeconds()));
  RETURN_IF_ERROR(ca::WriteCaDir(env, dir, ca.cert.get(), nullptr, {}));
  return ca;
}

Result<ca::KeyAndCertificate> CreateTlsCa(Env* env, const crypto::KeyStore& keys, const std::string& dir,
                                          const std::string& label) {
  return CreateSelfSigned(env, keys, dir, {label, "", ""});
}

// NodeKeyStores reads a node's two key stores. A token for CA keys needs a
// token for the log key, and another one: libp11 cannot list a token that
// holds an Ed25519 key (docs/key_custody.md).
Result<std::pair<crypto::KeyStore, crypto::KeyStore>> NodeKeyStores(const std::string& keys,
                                                                     const std::string& log_keys) {
  ASSIGN_OR_RETURN(crypto::KeyStore k, crypto::ParseKeyStore(keys));
  ASSIGN_OR_RETURN(crypto::KeyStore l, crypto::ParseKeyStore(log_keys));
  if (k.in_token() && !l.in_token()) {
    return Status::InvalidArgument("--key puts CA keys in a token: give the log key a token too (--log-key pkcs11:token=…)");
  }
  if (k.in_token() && l.in_token() && k.token->token == l.token->token &&
      k.token->module_path == l.token->module_path) {
    return Status::InvalidArgument("--key and --log-key must be different tokens (an Ed25519 key hides the "
                                   "CA keys of its token from the PKCS#11 engine: docs/key_custody.md)");
  }
  return std::make_pair(std::move(k), std::move(l));
}

}  // namespace

Status InitRoot(const InitRootOptions& o) {
  Env* env = Env::Default();
  const std::string dir = Absolute(o.dir);
  const std::string config = o.config.empty() ? dir + "/hq.toml" : Absolute(o.config);
  if (env->FileExists(config)) return Status::AlreadyExists(config + " already exists");
  if (env->FileExists(dir + "/root/ca.key")) return Status::AlreadyExists(dir + " already holds a root");
  for (const std::string& listen : {o.sync_listen, o.va_listen, o.admin_listen}) {
    RETURN_IF_ERROR(HostPort(listen, "listen address", "pki init-root").status());
  }
  ASSIGN_OR_RETURN(auto stores, NodeKeyStores(o.keys, o.log_keys));
  const auto& [keys, log_keys] = stores;
  for (const char* sub : {"root", "tls", "factories"}) RETURN_IF_ERROR(env->CreateDirs(dir + "/" + sub));

  ASSIGN_OR_RETURN(ca::KeyAndCertificate root,
                   CreateSelfSigned(env, keys, dir + "/root", {o.organization, "", o.vendor_id}));
  ASSIGN_OR_RETURN(log::LocalLog hq, log::InitLocalLog(env, dir + "/data", o.hq_origin, {}, log_keys));
  // HQ's cosigner: a key of its own, set in HQ's log (engine/cosigner.h).
  RETURN_IF_ERROR(engine::SetCosigner(env, dir + "/data", *hq.log, "initial cosigner key", log_keys).status());

  ASSIGN_OR_RETURN(ca::KeyAndCertificate tls_ca, CreateTlsCa(env, keys, dir + "/tls", o.organization + " HQ TLS"));
  const std::string tls = dir + "/tls";
  RETURN_IF_ERROR(WriteTlsIdentity(env, keys, tls, "hq-sync", true, o.organization, tls_ca.cert.get(), tls_ca.key.get()).status());
  RETURN_IF_ERROR(WriteTlsIdentity(env, keys, tls, "hq-admin-api", true, o.organization, tls_ca.cert.get(), tls_ca.key.get()).status());
  ASSIGN_OR_RETURN(std::string admin_spki, WriteTlsIdentity(env, keys, tls, "hq-admin", false, o.organization,
                                                            tls_ca.cert.get(), tls_ca.key.get()));
  auto rel = [&](const std::string& p) { return Quote(Rel(p, config)); };
  std::string text =
      "# hq.toml — the HQ mirror node (mirrorca hq serve --config hq.toml).\n"
      "# Factories are added by `mirrorca pki certify-factory`, which appends a [[factory]].\n"
      "[hq]\n"
      "name = \"HQ\"\n"
      "organization = " + Quote(o.organization) + "\n"
      "data_dir = " + rel(dir + "/data") + "\n\n"
      "[root]\n"
      "dir = " + rel(dir + "/root") + "                  # the OEM root: keep offline in production\n\n"
      "[sync]\n"
      "listen = " + Quote(o.sync_listen) + "\n"
      "tls_cert = " + rel(tls + "/hq-sync.pem") + "\n"
      "tls_key = " + rel(tls + "/hq-sync.key") + "\n"
      "tls_ca = " + rel(tls + "/ca.pem") + "            # HQ's TLS CA: it certifies each factory's sync key\n\n"
      "[validation]\n"
      "listen = " + Quote(o.va_listen) + "\n";
  if (!o.public_url.empty()) text += "public_url = " + Quote(o.public_url) + "\n";
  text +=
      "\n[admin]                           # HQ admin API (mutual TLS): revoke, CRLs, batch ledger\n"
      "listen = " + Quote(o.admin_listen) + "\n"
      "tls_cert = " + rel(tls + "/hq-admin-api.pem") + "\n"
      "tls_key = " + rel(tls + "/hq-admin-api.key") + "\n"
      "tls_ca = " + rel(tls + "/ca.pem") + "\n"
      "spki_sha256 = [\"" + admin_spki + "\"]   # admin client keys (tls/hq-admin.pem)\n";
  RETURN_IF_ERROR(env->WriteFileAtomic(config, text, 0644));
  return LoadHqConfig(config).status();
}

Result<std::string> FactoryInit(const FactoryInitOptions& o) {
  Env* env = Env::Default();
  if (!PlainName(o.name)) {
    return Status::InvalidArgument("--name '" + o.name + "': 1 to 64 letters, digits, '-', '_' or '.'");
  }
  RETURN_IF_ERROR(HostPort(o.enroll_listen, "--enroll-listen", "pki factory-init").status());
  const std::string dir = Absolute(o.dir);
  const std::string origin = o.origin.empty() ? "factory-" + Lower(o.name) + ".mirrorca.example/log" : o.origin;
  const std::string request = o.request.empty() ? dir + "/" + o.name + ".req" : Absolute(o.request);
  if (env->FileExists(dir + "/init.json")) return Status::AlreadyExists(dir + " already holds a factory");
  ASSIGN_OR_RETURN(auto stores, NodeKeyStores(o.keys, o.log_keys));
  const auto& [keys, log_keys] = stores;
  RETURN_IF_ERROR(env->CreateDirs(dir + "/tls"));
  ASSIGN_OR_RETURN(log::LocalLog local, log::InitLocalLog(env, dir + "/data", origin, {}, log_keys));
  const std::string log_key = local.log->verifier().VerifierKey();

  // The factory LAN's TLS CA: its enrollment server and its RAs.
  ASSIGN_OR_RETURN(ca::KeyAndCertificate lan_ca,
                   CreateTlsCa(env, keys, dir + "/tls", o.organization + " " + o.name + " LAN TLS"));
  RETURN_IF_ERROR(WriteTlsIdentity(env, keys, dir + "/tls", "factory-enroll", true, o.organization,
                                   lan_ca.cert.get(), lan_ca.key.get()).status());
  // The sync key: HQ certifies it from the request.
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr sync_key,
                   crypto::CreateKey(env, keys, dir + "/tls/factory-sync.key", crypto::TokenKeyType::kP256));
  ASSIGN_OR_RETURN(ca::X509ReqPtr sync_csr, ca::CreateTlsRequest(sync_key.get(), "sync-" + o.name));
  ASSIGN_OR_RETURN(std::string sync_csr_pem, ca::RequestPem(sync_csr.get()));
  // The transport key: HQ seals the issuing-CA key to it.
  ASSIGN_OR_RETURN(ca::KeyAndCertificate transport,
                   ca::CreateTransportIdentity(o.name + " key transport", NowSeconds()));
  RETURN_IF_ERROR(ca::SavePrivateKeyPem(env, dir + "/transport.key", transport.key.get()));
  RETURN_IF_ERROR(WritePem(env, dir + "/transport.pem", transport.cert.get()));
  ASSIGN_OR_RETURN(std::string transport_pem, ca::CertificatePem(transport.cert.get()));

  const json init = {{"name", o.name}, {"log_origin", origin}, {"organization", o.organization},
                     {"production_line", o.production_line}, {"enroll_listen", o.enroll_listen}};
  RETURN_IF_ERROR(env->WriteFileAtomic(dir + "/init.json", init.dump(2) + "\n", 0644));
  const json req = {{"format", kRequestFormat},
                    {"factory", o.name},
                    {"log_origin", origin},
                    {"log_key", log_key},
                    {"organization", o.organization},
                    {"sync_csr_pem", sync_csr_pem},
                    {"transport_certificate_pem", transport_pem}};
  RETURN_IF_ERROR(env->WriteFileAtomic(request, req.dump(2) + "\n", 0644));
  return request;
}

Result<std::optional<json>> ReloadRunningHq(const std::string& data_dir) {
  Result<std::string> reloaded = Delegate(data_dir, json{{"cmd", "reload"}});
  if (!reloaded.ok()) {
    if (reloaded.status().code() == StatusCode::kNotFound) return std::optional<json>();  // none runs
    return reloaded.status().WithContext("ask the running hq serve");
  }
  json r = json::parse(*reloaded, nullptr, false);
  if (r.is_discarded() || !r.is_object() || !r.value("ok", false)) {
    return Status::FailedPrecondition("the running hq serve refused the change: " + *reloaded);
  }
  return std::optional<json>(std::move(r));
}

Result<HqRegistration> RegisterAtHq(const std::string& config_path, const std::string& data_dir,
                                    const std::string& origin) {
  Env* env = Env::Default();
  HqRegistration out;
  ASSIGN_OR_RETURN(std::optional<json> reloaded, ReloadRunningHq(data_dir));
  if (reloaded) {
    const json active = reloaded->value("active", json::array());
    if (std::find(active.begin(), active.end(), json(origin)) == active.end()) {
      return Status::FailedPrecondition("the running hq serve did not take factory '" + origin +
                                        "' (removed at HQ?): " + reloaded->dump());
    }
    out.hq_origin = reloaded->value("hq_log", "");
    out.hq_log_key = reloaded->value("hq_log_key", "");
    out.by_running_hq = true;
    return out;
  }
  ASSIGN_OR_RETURN(HqConfig now, LoadHqConfig(config_path));
  Result<log::LocalLog> opened = log::OpenLocalLog(env, data_dir, /*with_key=*/true);
  if (!opened.ok()) return opened.status().WithContext("open HQ's store");
  log::LocalLog& hq = *opened;
  engine::LogAuthority authority(hq.log->origin());
  RETURN_IF_ERROR(RegisterFactories(now, *hq.log, authority));
  if (!authority.Active(origin)) {
    return Status::FailedPrecondition("HQ's log says factory '" + origin + "' was removed");
  }
  out.hq_origin = hq.log->origin();
  out.hq_log_key = hq.log->verifier().VerifierKey();
  return out;
}

Result<CertifyResult> CertifyFactory(const CertifyOptions& o) {
  Env* env = Env::Default();
  const std::string config_path = Absolute(o.hq_config);
  ASSIGN_OR_RETURN(HqConfig c, LoadHqConfig(config_path));
  if (!c.sync) return Status::InvalidArgument(config_path + " has no [sync] section");
  ASSIGN_OR_RETURN(json req, ReadJson(env, o.request, kRequestFormat));
  ASSIGN_OR_RETURN(std::string name, Field(req, o.request, {"factory"}));
  ASSIGN_OR_RETURN(std::string origin, Field(req, o.request, {"log_origin"}));
  ASSIGN_OR_RETURN(std::string log_key, Field(req, o.request, {"log_key"}));
  ASSIGN_OR_RETURN(std::string sync_csr, Field(req, o.request, {"sync_csr_pem"}));
  ASSIGN_OR_RETURN(std::string transport_pem, Field(req, o.request, {"transport_certificate_pem"}));
  if (!PlainName(name)) return Status::InvalidArgument(o.request + ": factory name '" + name + "' is not plain");
  ASSIGN_OR_RETURN(log::LogVerifier verifier, log::LogVerifier::Parse(log_key));
  if (verifier.name() != origin) {
    return Status::InvalidArgument(o.request + ": the log key names '" + verifier.name() + "', not '" + origin + "'");
  }
  for (const FactoryRef& f : c.factories) {
    if (f.name == name || f.log_origin == origin) {
      return Status::AlreadyExists("factory '" + f.name + "' (" + f.log_origin + ") is already in " + config_path);
    }
  }
  ASSIGN_OR_RETURN(ca::X509Ptr transport, ca::ParseCertificate(transport_pem));
  if (X509_verify(transport.get(), X509_get0_pubkey(transport.get())) != 1) {
    return Status::InvalidArgument(o.request + ": the transport certificate is not self-signed by its key");
  }

  // The issuing CA, made here and certified by the root.
  std::string ca_profile_name = "issuing-ca", vid;
  if (o.profile == "matter") {
    ca_profile_name = "matter-pai";
    vid = o.vendor_id.empty() ? "FFF1" : o.vendor_id;
  } else if (o.profile != "idevid" && o.profile != "iec62443") {
    return Status::InvalidArgument("--profile must be idevid, matter or iec62443");
  }
  ASSIGN_OR_RETURN(ca::X509Ptr root_cert, ca::LoadCertificate(env, c.root_dir + "/ca.pem"));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr root_key, crypto::OpenKeyAt(env, c.root_dir + "/ca.key"));
  const std::string public_url = c.validation ? c.validation->public_url : "http://127.0.0.1";
  ASSIGN_OR_RETURN(ca::KeyAndCertificate issuing,
                   CertifyFactoryCa({c.organization, name, ca_profile_name, vid, public_url}, root_cert.get(),
                                    root_key.get()));
  ca::EvpPkeyPtr& ca_key = issuing.key;
  ca::X509Ptr& ca_cert = issuing.cert;
  const std::string mirror = FolderOf(c.root_dir) + "/factories/" + name + "/ca";
  if (env->FileExists(mirror + "/ca.key")) return Status::AlreadyExists(mirror + " already holds a CA key");
  // HQ's copy goes where HQ's root key is (its token, or a PEM file).
  ASSIGN_OR_RETURN(crypto::KeyStore hq_keys, crypto::StoreOfKeyAt(env, c.root_dir + "/ca.key"));
  RETURN_IF_ERROR(env->CreateDirs(mirror));
  RETURN_IF_ERROR(crypto::StoreKey(env, hq_keys, mirror + "/ca.key", ca_key.get()));
  RETURN_IF_ERROR(ca::WriteCaDir(env, mirror, ca_cert.get(), nullptr, {root_cert.get()}));

  // The factory's sync key, certified by HQ's TLS CA and bound to its log.
  ASSIGN_OR_RETURN(ca::X509Ptr tls_ca, ca::LoadCertificate(env, c.sync->tls.ca));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr tls_ca_key, crypto::OpenKeyAt(env, KeyPathOfCa(c.sync->tls.ca)));
  ASSIGN_OR_RETURN(ca::X509Ptr sync_cert,
                   ca::IssueTlsIdentityFromRequest(sync_csr, "sync-" + name, false, c.organization,
                                                   tls_ca.get(), tls_ca_key.get(), NowSeconds()));
  ASSIGN_OR_RETURN(std::string sync_spki, ca::SpkiSha256Hex(sync_cert.get()));
  ASSIGN_OR_RETURN(ca::X509Ptr hq_sync_cert, ca::LoadCertificate(env, c.sync->tls.cert));
  ASSIGN_OR_RETURN(std::string hq_sync_spki, ca::SpkiSha256Hex(hq_sync_cert.get()));

  // hq.toml gains the factory; HQ's log records it (factoryRegistered).
  CertifyResult out;
  out.factory = name;
  out.log_origin = origin;
  out.ca_name = o.ca_name.empty() ? origin.substr(0, std::min(origin.find('.'), origin.find('/'))) : o.ca_name;
  std::string block = "\n[[factory]]                       # added by mirrorca pki certify-factory\n"
                      "name = " + Quote(name) + "\n"
                      "log_origin = " + Quote(origin) + "\n"
                      "log_key = " + Quote(log_key) + "\n"
                      "ca_mirror_dir = " + Quote(Rel(mirror, config_path)) + "   # CRL and responder signing only\n"
                      "sync_spki_sha256 = [\"" + sync_spki + "\"]   # TLS keys bound to this log\n";
  if (!o.ca_name.empty()) block += "ca_name = " + Quote(o.ca_name) + "\n";
  if (!o.unseen_serials.empty()) block += "unseen_serials = " + Quote(o.unseen_serials) + "\n";
  if (!o.factory_data_dir.empty()) {
    block += "data_dir = " + Quote(Rel(Absolute(o.factory_data_dir), config_path)) +
             "   # local delivery (batch authorize --deliver)\n";
  }
  // On a refusal nothing stays: neither the [[factory]] nor HQ's copy of the key.
  auto forget_key = [&](const Status& s) {
    (void)crypto::RemoveKey(env, mirror + "/ca.key");
    std::error_code ec;
    fs::remove_all(FolderOf(mirror), ec);
    return s;
  };
  ASSIGN_OR_RETURN(std::string before, env->ReadFile(config_path, kMaxFile));
  if (Status s = AppendChecked(env, config_path, block, LoadHqConfig); !s.ok()) return forget_key(s);
  auto restore = [&](const Status& s) {
    (void)env->WriteFileAtomic(config_path, before, 0644);
    return forget_key(s);
  };
  Result<HqRegistration> registered = RegisterAtHq(config_path, c.data_dir, origin);
  if (!registered.ok()) return restore(registered.status());
  const std::string& hq_origin = registered->hq_origin;
  const std::string& hq_key = registered->hq_log_key;
  out.registered_by_running_hq = registered->by_running_hq;

  // The grant: everything the factory needs, the CA key sealed to it.
  ASSIGN_OR_RETURN(json ca_grant, IssuingCaGrant(issuing, root_cert.get(), transport.get(), out.ca_name,
                                                 ca_profile_name, public_url));
  out.ca_key_fingerprint = ca_grant["key_fingerprint"].get<std::string>();
  ASSIGN_OR_RETURN(std::string sync_pem, ca::CertificatePem(sync_cert.get()));
  ASSIGN_OR_RETURN(std::string tls_ca_pem, ca::CertificatePem(tls_ca.get()));
  const json grant = {
      {"format", kGrantFormat},
      {"factory", name},
      {"log_origin", origin},
      {"organization", c.organization},
      {"hq",
       {{"log_origin", hq_origin},
        {"log_key", hq_key},
        {"sync_address", o.sync_address.empty() ? c.sync->listen_address + ":" + std::to_string(c.sync->listen_port)
                                                : o.sync_address},
        {"sync_spki_sha256", hq_sync_spki},
        {"tls_ca_pem", tls_ca_pem}}},
      {"ca", ca_grant},
      {"sync_tls_certificate_pem", sync_pem}};
  const std::string text = grant.dump(2) + "\n";
  RETURN_IF_ERROR(env->WriteFileAtomic(o.grant, text, 0600));
  out.grant_sha256 = HexEncode(crypto::Sha256(AsBytes(text)));
  return out;
}

Status FactoryJoin(const JoinOptions& o) {
  Env* env = Env::Default();
  const std::string dir = Absolute(o.dir);
  const std::string config = o.config.empty() ? dir + "/factory.toml" : Absolute(o.config);
  if (env->FileExists(config)) return Status::AlreadyExists(config + " already exists");
  ASSIGN_OR_RETURN(std::string init_text, env->ReadFile(dir + "/init.json", kMaxFile));
  json init = json::parse(init_text, nullptr, false);
  if (init.is_discarded() || !init.is_object()) return Status::InvalidArgument(dir + "/init.json does not parse");
  ASSIGN_OR_RETURN(json g, ReadJson(env, o.grant, kGrantFormat));
  ASSIGN_OR_RETURN(std::string name, Field(g, o.grant, {"factory"}));
  ASSIGN_OR_RETURN(std::string origin, Field(g, o.grant, {"log_origin"}));
  if (name != init.value("name", "") || origin != init.value("log_origin", "")) {
    return Status::InvalidArgument(o.grant + " is for factory '" + name + "' (" + origin + "), not for the one in " + dir);
  }
  ASSIGN_OR_RETURN(log::LocalLog local, log::OpenLocalLog(env, dir + "/data", false));
  if (local.log->origin() != origin) return Status::InvalidArgument("the grant's log is not " + dir + "'s");
  ASSIGN_OR_RETURN(std::string hq_origin, Field(g, o.grant, {"hq", "log_origin"}));
  ASSIGN_OR_RETURN(std::string hq_key, Field(g, o.grant, {"hq", "log_key"}));
  ASSIGN_OR_RETURN(log::LogVerifier hq_verifier, log::LogVerifier::Parse(hq_key));
  if (hq_verifier.name() != hq_origin) return Status::InvalidArgument(o.grant + ": HQ's log key names another log");
  ASSIGN_OR_RETURN(std::string sync_address, Field(g, o.grant, {"hq", "sync_address"}));
  ASSIGN_OR_RETURN(std::string hq_spki, Field(g, o.grant, {"hq", "sync_spki_sha256"}));
  ASSIGN_OR_RETURN(std::string hq_tls_ca_pem, Field(g, o.grant, {"hq", "tls_ca_pem"}));
  ASSIGN_OR_RETURN(std::string sync_pem, Field(g, o.grant, {"sync_tls_certificate_pem"}));
  RETURN_IF_ERROR(HostPort(sync_address, "hq.sync_address", o.grant).status());

  ASSIGN_OR_RETURN(OpenedCaGrant issuing, OpenCaGrant(env, g, o.grant, dir));
  ca::EvpPkeyPtr& ca_key = issuing.key;
  ca::X509Ptr& ca_cert = issuing.cert;
  ca::X509Ptr& root = issuing.root;
  const std::string& crl_url = issuing.crl_url;
  const std::string& ocsp_url = issuing.ocsp_url;
  // The sync certificate: for our sync key, under HQ's TLS CA.
  ASSIGN_OR_RETURN(ca::X509Ptr sync_cert, ca::ParseCertificate(sync_pem));
  ASSIGN_OR_RETURN(ca::X509Ptr hq_tls_ca, ca::ParseCertificate(hq_tls_ca_pem));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr sync_key, crypto::OpenKeyAt(env, dir + "/tls/factory-sync.key"));
  if (!ca::KeyMatchesCertificate(sync_key.get(), sync_cert.get())) {
    return Status::InvalidArgument(o.grant + ": the sync certificate is not for this factory's sync key");
  }
  RETURN_IF_ERROR(ca::VerifyChain(sync_cert.get(), {}, hq_tls_ca.get()).WithContext("the sync certificate"));

  // The CA key goes where the factory's other keys are (its token, or a PEM file).
  ASSIGN_OR_RETURN(crypto::KeyStore keys, crypto::StoreOfKeyAt(env, dir + "/tls/ca.key"));
  RETURN_IF_ERROR(env->CreateDirs(dir + "/ca"));
  RETURN_IF_ERROR(crypto::RemoveKey(env, dir + "/ca/ca.key"));  // left by a join that failed later
  RETURN_IF_ERROR(crypto::StoreKey(env, keys, dir + "/ca/ca.key", ca_key.get()));
  RETURN_IF_ERROR(ca::WriteCaDir(env, dir + "/ca", ca_cert.get(), nullptr, {root.get()}));
  RETURN_IF_ERROR(WritePem(env, dir + "/tls/factory-sync.pem", sync_cert.get()));
  RETURN_IF_ERROR(WritePem(env, dir + "/tls/hq-tls-ca.pem", hq_tls_ca.get()));
  auto rel = [&](const std::string& p) { return Quote(Rel(p, config)); };
  const std::string text =
      "# factory.toml — the factory CA node (mirrorca factory serve --config factory.toml),\n"
      "# written by mirrorca pki factory-join. RAs are added by mirrorca pki add-ra.\n"
      "[factory]\n"
      "name = " + Quote(name) + "\n"
      "organization = " + Quote(init.value("organization", "")) + "\n"
      "production_line = " + Quote(init.value("production_line", "line-1")) + "\n"
      "data_dir = " + rel(dir + "/data") + "        # RocksDB store + log_key.pem (0600)\n"
      "checkpoint_interval = 1000\n\n"
      "[ca]\n"
      "dir = " + rel(dir + "/ca") + "               # ca.pem, ca.key (0600), chain.pem\n"
      "crl_url = " + Quote(crl_url) + "\n"
      "ocsp_url = " + Quote(ocsp_url) + "\n\n"
      "[hq]\n"
      "log_origin = " + Quote(hq_origin) + "\n"
      "log_key = " + Quote(hq_key) + "\n\n"
      "[enroll]\n"
      "listen = " + Quote(init.value("enroll_listen", "127.0.0.1:8443")) + "\n"
      "tls_cert = " + rel(dir + "/tls/factory-enroll.pem") + "\n"
      "tls_key = " + rel(dir + "/tls/factory-enroll.key") + "\n"
      "tls_ca = " + rel(dir + "/tls/ca.pem") + "           # the factory LAN's TLS CA: RA certificates chain here\n\n"
      "[sync]                            # mirrorca sync --config factory.toml\n"
      "hq_address = " + Quote(sync_address) + "\n"
      "tls_cert = " + rel(dir + "/tls/factory-sync.pem") + "\n"
      "tls_key = " + rel(dir + "/tls/factory-sync.key") + "\n"
      "tls_ca = " + rel(dir + "/tls/hq-tls-ca.pem") + "\n"
      "hq_spki_sha256 = \"" + hq_spki + "\"   # pinned HQ sync key\n"
      "continuous = false                # true: factory serve ships events as they happen\n";
  RETURN_IF_ERROR(env->WriteFileAtomic(config, text, 0644));
  RETURN_IF_ERROR(LoadFactoryConfig(config).status());
  // The transport key has done its one job.
  std::error_code ec;
  fs::remove(dir + "/transport.key", ec);
  fs::remove(dir + "/transport.pem", ec);
  return Status::Ok();
}

Result<std::string> AddRa(const AddRaOptions& o) {
  Env* env = Env::Default();
  const std::string factory_config = Absolute(o.factory_config);
  ASSIGN_OR_RETURN(FactoryConfig fc, LoadFactoryConfig(factory_config));
  if (!PlainName(o.id)) return Status::InvalidArgument("--id '" + o.id + "': 1 to 64 letters, digits, '-', '_' or '.'");
  for (const RaEntry& ra : fc.ras) {
    if (ra.id == o.id) return Status::AlreadyExists("RA '" + o.id + "' is already in " + factory_config);
  }
  if (o.batches.empty()) return Status::InvalidArgument("an RA needs at least one batch (\"*\": all)");
  const std::string out = Absolute(o.out_dir);
  const std::string ra_config = o.ra_config.empty() ? out + "/ra.toml" : Absolute(o.ra_config);
  if (env->FileExists(ra_config)) return Status::AlreadyExists(ra_config + " already exists");
  ASSIGN_OR_RETURN(ca::X509Ptr lan_ca, ca::LoadCertificate(env, fc.tls.ca));
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr lan_ca_key, crypto::OpenKeyAt(env, KeyPathOfCa(fc.tls.ca)));
  ASSIGN_OR_RETURN(crypto::KeyStore ra_keys, crypto::ParseKeyStore(o.keys));
  RETURN_IF_ERROR(env->CreateDirs(out));
  ASSIGN_OR_RETURN(std::string spki, WriteTlsIdentity(env, ra_keys, out, o.id, false, fc.organization, lan_ca.get(),
                                                      lan_ca_key.get()));
  RETURN_IF_ERROR(WritePem(env, out + "/ca.pem", lan_ca.get()));
  std::string batches;
  for (const std::string& b : o.batches) batches += (batches.empty() ? "" : ", ") + Quote(b);
  RETURN_IF_ERROR(AppendChecked(env, factory_config,
                                "\n[[ra]]                            # added by mirrorca pki add-ra\n"
                                "id = " + Quote(o.id) + "\n"
                                "spki_sha256 = \"" + spki + "\"   # pinned client key\n"
                                "batches = [" + batches + "]\n",
                                LoadFactoryConfig));
  auto rel = [&](const std::string& p) { return Quote(Rel(p, ra_config)); };
  const std::string text =
      "# ra.toml — the production computer (mirrorca ra enroll --config ra.toml ...)\n"
      "[ra]\n"
      "id = " + Quote(o.id) + "\n"
      "factory_url = " + Quote("https://" + fc.listen_address + ":" + std::to_string(fc.listen_port)) + "\n"
      "tls_cert = " + rel(out + "/" + o.id + ".pem") + "\n"
      "tls_key = " + rel(out + "/" + o.id + ".key") + "\n"
      "tls_ca = " + rel(out + "/ca.pem") + "\n"
      "connections = 2\n"
      "bulk_size = 250\n";
  RETURN_IF_ERROR(env->WriteFileAtomic(ra_config, text, 0644));
  RETURN_IF_ERROR(LoadRaConfig(ra_config).status());
  return spki;
}

}  // namespace mirrorca::cli
