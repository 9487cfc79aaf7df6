#include "validation/published_crl_files.h"

#include <openssl/err.h>
#include <openssl/x509.h>


#include "base/status_macros.h"
#include "ca/certificate.h"
#include "validation/crl_http.h"

namespace mirrorca::validation {
namespace {

net::HttpResponse Text(int status, std::string body) {
  net::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

Result<std::unique_ptr<PublishedCrlFiles>> PublishedCrlFiles::Open(std::vector<CrlFolder> folders, Env* env) {
  std::unique_ptr<PublishedCrlFiles> p(new PublishedCrlFiles());
  p->env_ = env != nullptr ? env : Env::Default();
  for (CrlFolder& f : folders) {
    ASSIGN_OR_RETURN(ca::X509Ptr cert, ca::LoadCertificate(p->env_, f.ca_dir + "/ca.pem"));
    std::string name = f.name;
    p->folders_.emplace(name, Folder{std::move(f), std::move(cert)});
  }
  return p;
}

Result<PublishedCrlFiles::Cached> PublishedCrlFiles::Read(const Folder& f, bool delta) {
  const std::string path = f.where.ca_dir + (delta ? "/published-delta.crl" : "/published-full.crl");
  ASSIGN_OR_RETURN(std::string der, env_->ReadFile(path, 64 << 20));
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(path);
    if (it != cache_.end() && it->second.der == der) return it->second;
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ca::OpenSslPtr<X509_CRL, X509_CRL_free> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return Status::Corruption(path + " is not one DER CRL");
  }
  if (X509_CRL_verify(crl.get(), X509_get0_pubkey(f.ca.get())) != 1) {
    ERR_clear_error();
    return Status::Corruption(path + " is not signed by the CA of " + f.where.name);
  }
  std::tm a{}, b{};
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
  if (next == nullptr || ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(crl.get()), &a) != 1 ||
      ASN1_TIME_to_tm(next, &b) != 1) {
    return Status::Corruption(path + " has no valid thisUpdate/nextUpdate");
  }
  Cached c{std::move(der), timegm(&a), timegm(&b)};
  std::lock_guard lock(mu_);
  cache_[path] = c;
  return c;
}

std::optional<net::HttpResponse> PublishedCrlFiles::Handle(const net::HttpRequest& q) {
  if (q.path.rfind("/crl/", 0) != 0) return std::nullopt;
  if (q.method != "GET") return Text(405, "GET only\n");
  std::optional<CrlRoute> route = ParseCrlPath(q.path);
  if (!route) return Text(404, "not found\n");
  auto it = folders_.find(route->name);
  if (it == folders_.end()) return Text(404, "no CA named " + route->name + "\n");
  Result<Cached> c = Read(it->second, route->delta);
  const int64_t now = env_->NowMicros() / 1000000;
  if (!c.ok() || c->next_update <= now) {
    // Nothing valid published yet (or the file is being replaced): HQ
    // publishes on schedule; this process never signs.
    net::HttpResponse r = Text(503, "no valid published CRL of " + route->name + " yet\n");
    r.headers = {{"Retry-After", "5"}};
    return r;
  }
  return CrlResponse(c->der, c->this_update, c->next_update, now);
}

}  // namespace mirrorca::validation
