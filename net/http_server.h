// HttpServer: HTTP/1.1 over TLS (mutual) — or plain, for signed public
// objects like OCSP responses and CRLs (a null TLS context) — on Asio, requests parsed by
// libhttp-parser. Keep-alive; limits on header and body size; a deadline on
// every handshake and request so a slow or silent client only holds its own
// connection. Handlers run on a separate worker pool (they may block, e.g.
// on a durable log append, which lets concurrent requests share one fsync);
// the I/O threads never block.
//
// Thread-safety: Start/Stop from one thread; the handler is called
// concurrently from the worker threads.
#ifndef MIRRORCA_NET_HTTP_SERVER_H_
#define MIRRORCA_NET_HTTP_SERVER_H_

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "net/source_limiter.h"

namespace mirrorca::net {

struct HttpRequest {
  std::string method;
  std::string path;   // decoded path component of the target, no query
  std::string query;  // raw query string
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string peer_spki;  // hex SHA-256 of the client's SPKI
  std::string peer_certificate_der;  // the client's TLS certificate (DER), "" without one
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0 = pick a free port
  unsigned io_threads = 2;
  unsigned worker_threads = 32;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 8 * 1024 * 1024;
  std::chrono::milliseconds handshake_timeout{5000};  // TCP accept to TLS established (pre-authentication)
  std::chrono::milliseconds request_timeout{30000};  // from first byte to full request
  std::chrono::milliseconds idle_timeout{60000};     // between keep-alive requests
  size_t max_connections = 1024;
  // One source address may hold at most this many connections (0: no
  // limit), so a flood from one address cannot take every slot.
  size_t max_connections_per_source = 64;
  // inline_handlers: call the handler on the I/O thread (for handlers that
  // never block for long); otherwise on the worker pool.
  bool inline_handlers = false;
};

class HttpServer {
 public:
  HttpServer(std::shared_ptr<asio::ssl::context> tls, HttpHandler handler,
             HttpServerOptions options = {});
  ~HttpServer();

  // Start binds and starts serving; returns once listening.
  Status Start();
  void Stop();
  uint16_t port() const { return port_; }
  uint64_t connections_accepted() const { return accepted_.load(); }

 private:
  class Connection;
  void Accept();

  // Counters first: connections (destroyed with io_) still update them.
  std::atomic<uint64_t> accepted_{0};
  std::atomic<size_t> open_connections_{0};
  std::atomic<bool> stopped_{false};
  std::shared_ptr<SourceLimiter> per_source_;
  std::shared_ptr<asio::ssl::context> tls_;
  HttpHandler handler_;
  HttpServerOptions options_;
  // One io_context per I/O thread: a connection lives on one of them, so
  // its handlers never contend for a lock with another thread's.
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  size_t next_io_ = 0;  // round-robin for accepted connections (accept handler only)
  // Keep each context running while it has no connection yet.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running_;
  std::unique_ptr<asio::thread_pool> workers_;
  asio::ip::tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
};

// StatusText returns the reason phrase of an HTTP status code.
const char* StatusText(int status);

}  // namespace mirrorca::net

#endif  // MIRRORCA_NET_HTTP_SERVER_H_
