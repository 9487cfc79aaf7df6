#include "net/tls.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/encoding.h"
#include "base/env.h"
#include "crypto/openssl_ptr.h"
#include "crypto/key_store.h"
#include "crypto/spki.h"

namespace mirrorca::net {
namespace {

// Pins live in the context's ex_data so the verify callback can read them.
int PinIndex() {
  static int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int VerifyWithPins(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1) return 0;
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  SSL* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* pinned = static_cast<PinCheck*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), PinIndex()));
  if (pinned == nullptr || !*pinned) return 1;
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  Result<std::string> spki = crypto::SpkiSha256Hex(cert);
  if (spki.ok() && (*pinned)(*spki)) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

Result<std::shared_ptr<asio::ssl::context>> Build(const TlsIdentity& id, bool server, PinCheck pins) {
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
  int mode = SSL_VERIFY_PEER;
  if (server) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  auto* owned_pins = new PinCheck(std::move(pins));
  // The pin check lives as long as the context.
  SSL_CTX_set_ex_data(raw, PinIndex(), owned_pins);
  struct PinOwner {
    PinCheck* p;
    ~PinOwner() { delete p; }
  };
  auto holder = std::shared_ptr<PinOwner>(new PinOwner{owned_pins});
  SSL_CTX_set_verify(raw, mode, VerifyWithPins);
  // Keep `holder` alive with the context via an aliasing shared_ptr.
  auto keep = std::shared_ptr<asio::ssl::context>(ctx.get(), [ctx, holder](asio::ssl::context*) {});
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

Result<std::shared_ptr<asio::ssl::context>> ClientContext(const TlsIdentity& id,
                                                          std::set<std::string> pinned_spki) {
  return Build(id, false, PinSet(std::move(pinned_spki)));
}

std::string PeerSpkiHex(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return "";
  Result<std::string> spki = crypto::SpkiSha256Hex(cert);
  return spki.ok() ? *spki : "";
}

}  // namespace mirrorca::net
