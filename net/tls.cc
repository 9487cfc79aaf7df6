#include "net/tls.h"

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/encoding.h"
#include "base/env.h"
#include "base/status_macros.h"
#include "crypto/certificate_pem.h"
#include "crypto/openssl_ptr.h"
#include "crypto/key_store.h"
#include "crypto/spki.h"

namespace mirrorca::net {
namespace {


// ClientTrust: what the verify callback checks beyond the chain — the
// pinned keys, and the issuers whose certificates (devices') need no pin.
struct ClientTrust {
  PinCheck pinned;
  std::vector<crypto::X509Ptr> device_issuers;
};

// The trust lives in the context's ex_data so the verify callback can read it.
int TrustIndex() {
  static int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// IssuedByDeviceIssuer: the chain OpenSSL built for the leaf (already
// verified up to a trusted root) has one of the device issuers as its second element.
bool IssuedByDeviceIssuer(X509_STORE_CTX* store, const ClientTrust& trust) {
  if (trust.device_issuers.empty()) return false;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(store);
  if (chain == nullptr || sk_X509_num(chain) < 2) return false;
  X509* issuer = sk_X509_value(chain, 1);
  for (const crypto::X509Ptr& d : trust.device_issuers) {
    if (X509_cmp(issuer, d.get()) == 0) return true;
  }
  return false;
}

int VerifyWithPins(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1) return 0;
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  SSL* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* trust = static_cast<ClientTrust*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), TrustIndex()));
  if (trust == nullptr || (!trust->pinned && trust->device_issuers.empty())) return 1;
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  Result<std::string> spki = crypto::SpkiSha256Hex(cert);
  if (spki.ok() && trust->pinned && trust->pinned(*spki)) return 1;
  if (IssuedByDeviceIssuer(store, *trust)) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

Result<std::shared_ptr<asio::ssl::context>> Build(const TlsIdentity& id, bool server, PinCheck pins,
                                                  const DeviceIssuers& devices = {}) {
  auto ctx = std::make_shared<asio::ssl::context>(server ? asio::ssl::context::tls_server
                                                         : asio::ssl::context::tls_client);
  SSL_CTX* raw = ctx->native_handle();
  SSL_CTX_set_min_proto_version(raw, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  asio::error_code ec;
  if (!id.cert_file.empty()) {
    // Read through the one private-key loader, which refuses loose file modes.
    Result<crypto::EvpPkeyPtr> key = crypto::OpenKeyAt(Env::Default(), id.key_file);
    if (!key.ok()) return key.status().WithContext("TLS key");
    ctx->use_certificate_chain_file(id.cert_file, ec);
    if (ec) return Status::InvalidArgument("TLS certificate " + id.cert_file + ": " + ec.message());
    if (SSL_CTX_use_PrivateKey(raw, key->get()) != 1) {
      return crypto::OpenSslError("TLS key " + id.key_file + " does not fit its certificate",
                              StatusCode::kInvalidArgument);
    }
  }
  ctx->load_verify_file(id.ca_file, ec);
  if (ec) return Status::InvalidArgument("TLS trust anchors " + id.ca_file + ": " + ec.message());
  auto trust = std::make_shared<ClientTrust>();
  trust->pinned = std::move(pins);
  for (const std::string& pem : devices.issuer_pems) {
    Result<std::vector<crypto::X509Ptr>> chain = crypto::ParseCertificateChainPem(pem);
    if (!chain.ok()) return chain.status().WithContext("device issuer");
    for (const crypto::X509Ptr& c : *chain) {
      // Anchors of device chains; the pin-or-issuer rule at depth 0 keeps
      // every other certificate under them out.
      if (X509_STORE_add_cert(SSL_CTX_get_cert_store(raw), c.get()) != 1) ERR_clear_error();
    }
    trust->device_issuers.push_back(std::move(chain->front()));
  }
  int mode = SSL_VERIFY_PEER;
  if (server) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  // The trust lives as long as the context.
  SSL_CTX_set_ex_data(raw, TrustIndex(), trust.get());
  SSL_CTX_set_verify(raw, mode, VerifyWithPins);
  // Keep `trust` alive with the context via an aliasing shared_ptr.
  auto keep = std::shared_ptr<asio::ssl::context>(ctx.get(), [ctx, trust](asio::ssl::context*) {});
  return keep;
}

// PinSet checks against a fixed set; an empty set pins nothing.
PinCheck PinSet(std::set<std::string> pins) {
  if (pins.empty()) return nullptr;
  return [pins = std::move(pins)](const std::string& spki) { return pins.contains(spki); };
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> ServerContext(const TlsIdentity& id,
                                                          std::set<std::string> pinned_spki) {
  return Build(id, true, PinSet(std::move(pinned_spki)));
}

Result<std::shared_ptr<asio::ssl::context>> ServerContext(const TlsIdentity& id, PinCheck pinned) {
  if (!pinned) return Status::InvalidArgument("a pin check is required");
  return Build(id, true, std::move(pinned));
}

Result<std::shared_ptr<asio::ssl::context>> ServerContext(const TlsIdentity& id, std::set<std::string> pinned_spki,
                                                          const DeviceIssuers& devices) {
  if (pinned_spki.empty()) return Status::InvalidArgument("a port shared with devices needs pinned RA keys");
  return Build(id, true, PinSet(std::move(pinned_spki)), devices);
}

Result<std::shared_ptr<asio::ssl::context>> ClientContext(const TlsIdentity& id,
                                                          std::set<std::string> pinned_spki) {
  return Build(id, false, PinSet(std::move(pinned_spki)));
}

std::string PeerCertificateDer(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return "";
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n <= 0) return "";
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string PeerSpkiHex(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return "";
  Result<std::string> spki = crypto::SpkiSha256Hex(cert);
  return spki.ok() ? *spki : "";
}

}  // namespace mirrorca::net
