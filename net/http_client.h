// HttpClient: a blocking HTTP/1.1 client over mutual TLS (or plain TCP, for
// benchmarking peers that speak plain HTTP), keep-alive, responses parsed by
// libhttp-parser. One connection per client; used by the RA and the load
// drivers (one client per thread).
//
// Thread-safety: not thread-safe; one thread per HttpClient.
#ifndef MIRRORCA_NET_HTTP_CLIENT_H_
#define MIRRORCA_NET_HTTP_CLIENT_H_

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <map>
#include <memory>
#include <string>

#include "base/result.h"

namespace mirrorca::net {

struct HttpClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;
};

class HttpClient {
 public:
  // Connect opens a connection to host:port; with a TLS context it performs
  // the TLS handshake (server verified against the context's trust anchor).
  static Result<std::unique_ptr<HttpClient>> Connect(
      const std::string& host, uint16_t port, std::shared_ptr<asio::ssl::context> tls);
  ~HttpClient();

  Result<HttpClientResponse> Request(const std::string& method, const std::string& target,
                                     const std::string& content_type, const std::string& body);

  // Send writes raw bytes (tests of malformed requests); ReadResponse reads one.
  Status Send(std::string_view bytes);
  Result<HttpClientResponse> ReadResponse();

 private:
  HttpClient() = default;
  Result<size_t> ReadSome(char* buf, size_t n);

  asio::io_context io_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_stream_;
  std::unique_ptr<asio::ip::tcp::socket> plain_;
  std::string host_;
  std::string pending_;
};

// ParseUrl splits "https://host:port/path" into its parts.
struct Url {
  std::string scheme, host, path;
  uint16_t port = 0;
};
Result<Url> ParseUrl(const std::string& url);

}  // namespace mirrorca::net

#endif  // MIRRORCA_NET_HTTP_CLIENT_H_
