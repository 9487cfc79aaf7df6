// AdminApi: HQ's admin API over mutual TLS ([admin] in hq.toml) — the
// separate admin identity revokes, publishes CRLs and reads the batch
// ledger. Only pinned admin keys complete the handshake (not an RA's, not a
// sync peer's); each revocation records "admin:<key>" as requestedBy.
//
//   POST /v1/revoke   {"serial": HEX | "batch": B, "reason": R, "hold": bool,
//                      "release": bool, "time": RFC 3339, "invalidity_date": RFC 3339}
//   POST /v1/crl      {"ca": NAME, "delta": bool}
//   GET  /v1/batches  [?batch=B]
//
// Answers are JSON; errors are RFC 9457 problem documents.
//
// Thread-safety: requests may be handled concurrently (the VA serializes).
#ifndef MIRRORCA_CLI_ADMIN_API_H_
#define MIRRORCA_CLI_ADMIN_API_H_

#include "cli/hq_node.h"
#include "net/http_server.h"

namespace mirrorca::cli {

net::HttpResponse HandleAdmin(HqNode& node, const net::HttpRequest& request);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_ADMIN_API_H_
