// TLS contexts for mirrorca's channels: TLS 1.3 only, mutual authentication,
// trust pinned to one CA file, and optionally to a set of peer public keys
// (SHA-256 of the SubjectPublicKeyInfo): a peer without a certificate, with
// one from another CA, an expired one or an unpinned key fails the
// handshake.
//
// Thread-safety: a configured context may be shared by many connections.
#ifndef MIRRORCA_NET_TLS_H_
#define MIRRORCA_NET_TLS_H_

#include <asio/ssl.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"

namespace mirrorca::net {

struct TlsIdentity {
  std::string cert_file;  // PEM: certificate, then intermediates
  std::string key_file;   // PEM private key (0600)
  std::string ca_file;    // PEM trust anchor(s) for the peer
};

// PinCheck says whether a peer key (hex SHA-256 of its SPKI DER) is pinned.
// It runs during handshakes, on I/O threads.
using PinCheck = std::function<bool(const std::string& spki_sha256_hex)>;

// ServerContext requires and verifies a client certificate. `pinned_spki`
// (lowercase hex SHA-256 of SPKI DER), when not empty, lists the only client
// keys accepted.
Result<std::shared_ptr<asio::ssl::context>> ServerContext(const TlsIdentity& id,
                                                          std::set<std::string> pinned_spki = {});
// With a pin check instead of a fixed set: the pins may change while the
// server runs (HQ's sync port as factories are onboarded or removed).
// A client key must chain to id.ca_file and pass `pinned` (required).
Result<std::shared_ptr<asio::ssl::context>> ServerContext(const TlsIdentity& id, PinCheck pinned);
// DeviceIssuers: certificates (with the chains up to their roots) whose
// directly issued certificates a server also accepts without a pin: a
// device's current certificate, on the factory's enrollment port, for EST
// re-enrollment (RFC 7030 §3.3.2). The request handler tells the two kinds of
// client apart (a pinned key is an RA; any other a device).
struct DeviceIssuers {
  std::vector<std::string> issuer_pems;  // each: the issuer, then its chain to the root
};
// ServerContext with devices: a client key is accepted when pinned (under
// id.ca_file), or when its certificate was issued by one of `devices`'
// issuers and chains to that issuer's root.
Result<std::shared_ptr<asio::ssl::context>> ServerContext(const TlsIdentity& id, std::set<std::string> pinned_spki,
                                                          const DeviceIssuers& devices);
// ClientContext presents `id` and verifies the server against id.ca_file.
// An empty cert_file means no client certificate (tests of refusal).
Result<std::shared_ptr<asio::ssl::context>> ClientContext(const TlsIdentity& id,
                                                          std::set<std::string> pinned_spki = {});

// PeerCertificateDer returns the DER of the peer certificate of `ssl`, or "".
std::string PeerCertificateDer(SSL* ssl);

// PeerSpkiHex returns the hex SHA-256 SPKI of the peer certificate of `ssl`,
// or "" when there is none.
std::string PeerSpkiHex(SSL* ssl);

}  // namespace mirrorca::net

#endif  // MIRRORCA_NET_TLS_H_
