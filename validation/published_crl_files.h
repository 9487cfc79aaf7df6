// PublishedCrlFiles: the CRLs `hq serve` published, read from the files it
// keeps in each CA folder (published-full.crl / published-delta.crl) — how a
// public VA process that holds no CA key (`mirrorca ocsp serve`) serves
// GET /crl/<name>.crl and /crl/<name>-delta.crl. A file is served only when
// it parses, is signed by its CA's certificate and is not past nextUpdate;
// a changed file is picked up at the next request.
//
// Thread-safety: Handle may be called from any number of threads.
#ifndef MIRRORCA_VALIDATION_PUBLISHED_CRL_FILES_H_
#define MIRRORCA_VALIDATION_PUBLISHED_CRL_FILES_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/result.h"
#include "ca/openssl_types.h"
#include "net/http_server.h"

namespace mirrorca::validation {

struct CrlFolder {
  std::string name;    // the URL name (/crl/<name>.crl): a factory's CA name, or "root"
  std::string ca_dir;  // ca.pem and the published CRL files
};

class PublishedCrlFiles {
 public:
  // Open reads each folder's CA certificate (never a key).
  static Result<std::unique_ptr<PublishedCrlFiles>> Open(std::vector<CrlFolder> folders, Env* env = nullptr);

  // Handle answers GET /crl/…; nullopt for any other path.
  std::optional<net::HttpResponse> Handle(const net::HttpRequest& request);

 private:
  struct Cached {
    std::string der;
    int64_t this_update = 0, next_update = 0;
  };
  struct Folder {
    CrlFolder where;
    ca::X509Ptr ca;
  };
  Result<Cached> Read(const Folder& f, bool delta);

  Env* env_ = nullptr;
  std::map<std::string, Folder> folders_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;  // by file path, guarded by mu_
};

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_PUBLISHED_CRL_FILES_H_
