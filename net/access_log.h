// AccessLog: one structured line per HTTP request outcome (base/logging.h)
// — server, method, path (first 96 bytes, no query), status, milliseconds,
// the client's key (first 16 hex of its SPKI hash, mutual TLS only) and,
// for an RFC 9457 problem answer, its code. Never a body: no CSR,
// certificate, key or password reaches the log.
//
// Enrollment and admin requests log at info; anonymous OCSP/CRL and
// operator scrapes at debug (a flood of them must not flood the disk).
//
// Thread-safety: the wrapped handler is called as the server calls it.
#ifndef MIRRORCA_NET_ACCESS_LOG_H_
#define MIRRORCA_NET_ACCESS_LOG_H_

#include <string>

#include "base/logging.h"
#include "net/http_server.h"

namespace mirrorca::net {

// WithAccessLog wraps `inner` so that each request is logged at `level`
// under the event "http" with "server" = `server`.
HttpHandler WithAccessLog(std::string server, logging::Level level, HttpHandler inner);

}  // namespace mirrorca::net

#endif  // MIRRORCA_NET_ACCESS_LOG_H_
