#include "net/http_server.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>

#include "net/http_request_parser.h"
#include "net/listen.h"
#include "net/tls.h"

namespace mirrorca::net {

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

namespace {

// HeaderBlock: the status line and headers of `r` (its body is sent after
// them as it is, not copied behind them).
std::string HeaderBlock(const HttpResponse& r, bool keep_alive) {
  std::string out;
  out.reserve(256);
  out += "HTTP/1.1 " + std::to_string(r.status) + " " + StatusText(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

HttpResponse ProblemResponse(int status, const std::string& code, const std::string& detail) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  // Fixed, ASCII-only texts: no escaping needed.
  r.body = "{\"type\":\"https://mirrorca.dev/problems/" + code + "\",\"title\":\"" + detail +
           "\",\"status\":" + std::to_string(status) + ",\"code\":\"" + code + "\"}";
  return r;
}

}  // namespace

class HttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer* server, asio::ip::tcp::socket socket, SourceLimiter::Slot slot)
      : server_(server),
        slot_(std::move(slot)),
        ex_(socket.get_executor()),
        timer_(ex_),
        parser_(HttpLimits{server->options_.max_header_bytes, server->options_.max_body_bytes}) {
    if (server->tls_) {
      tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(socket),
                                                                       *server->tls_);
    } else {
      plain_ = std::make_unique<asio::ip::tcp::socket>(std::move(socket));
    }
  }

  ~Connection() { server_->open_connections_--; }

  void Start() {
    auto self = shared_from_this();
    if (!tls_) {  // plain HTTP (e.g. OCSP and CRLs: signed objects, cacheable)
      asio::dispatch(ex_, [self] {
        self->Arm(self->server_->options_.idle_timeout);
        self->ReadMore();
      });
      return;
    }
    Arm(server_->options_.handshake_timeout);
    tls_->async_handshake(asio::ssl::stream_base::server,
                          asio::bind_executor(ex_, [self](const asio::error_code& ec) {
                            if (ec) return self->Close();
                            self->peer_spki_ = PeerSpkiHex(self->tls_->native_handle());
                            self->peer_certificate_der_ = PeerCertificateDer(self->tls_->native_handle());
                            self->Arm(self->server_->options_.idle_timeout);
                            self->ReadMore();
                          }));
  }

 private:
  // Arm sets the connection's deadline. One timer per connection ticks at
  // most a second apart and closes the connection once the deadline has
  // passed, so a keep-alive request costs a clock read, not a timer
  // cancellation; deadlines hold to within a second.
  void Arm(std::chrono::milliseconds timeout) {
    deadline_ = std::chrono::steady_clock::now() + timeout;
    if (!timer_waiting_) WaitForDeadline();
  }

  void WaitForDeadline() {
    constexpr std::chrono::seconds kTick{1};
    timer_waiting_ = true;
    timer_.expires_at(std::min(deadline_, std::chrono::steady_clock::now() + kTick));
    std::weak_ptr<Connection> weak = shared_from_this();
    timer_.async_wait(asio::bind_executor(ex_, [weak](const asio::error_code& ec) {
      auto self = weak.lock();
      if (!self) return;
      self->timer_waiting_ = false;
      if (ec || self->closed_) return;  // cancelled: closing
      if (std::chrono::steady_clock::now() >= self->deadline_) return self->OnDeadline();
      self->WaitForDeadline();
    }));
  }

  // OnDeadline: a request begun and not finished in time (a Content-Length
  // longer than the body, a client gone quiet mid-headers) is answered 408
  // before the connection closes, so the client learns why; an idle
  // connection, or one whose 408 is itself stuck, just closes.
  void OnDeadline() {
    if (parser_.state() == HttpRequestParser::State::kStarted && !timed_out_) {
      timed_out_ = true;
      Arm(std::chrono::seconds(2));  // for the answer itself
      return Reply(ProblemResponse(408, "request-timeout", "the request was not received in time"),
                   /*keep_alive=*/false);
    }
    Close();
  }

  // WithStream calls f with the TLS stream or the plain socket.
  template <typename F>
  void WithStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  void ReadMore() {
    auto self = shared_from_this();
    WithStream([&](auto& stream) {
      stream.async_read_some(
          asio::buffer(buffer_),
          asio::bind_executor(ex_, [self](const asio::error_code& ec, size_t n) {
            if (ec) return self->Close();
            self->pending_.append(self->buffer_.data(), n);
            self->Parse();
          }));
    });
  }

  // Parse feeds pending bytes to the parser; dispatches a complete request.
  void Parse() {
    const bool was_started = parser_.state() == HttpRequestParser::State::kStarted;
    pending_.erase(0, parser_.Feed(pending_));
    if (!was_started && parser_.state() != HttpRequestParser::State::kIdle && !request_armed_) {
      request_armed_ = true;  // the request deadline runs from its first byte
      Arm(server_->options_.request_timeout);
    }
    if (parser_.state() == HttpRequestParser::State::kComplete) {
      Dispatch();
      return;
    }
    if (parser_.state() == HttpRequestParser::State::kError) {
      const int status = parser_.error_status();
      return Reply(ProblemResponse(status, status == 413   ? "too-large"
                                           : status == 431 ? "headers-too-large"
                                                           : "malformed-http",
                                   "the request could not be read"),
                   /*keep_alive=*/false);
    }
    ReadMore();
  }

  void Dispatch() {
    HttpRequest& request_ = parser_.request();
    request_.peer_spki = peer_spki_;
    request_.peer_certificate_der = peer_certificate_der_;
    const bool keep_alive = parser_.keep_alive();
    auto self = shared_from_this();
    if (server_->options_.inline_handlers) {
      // Fast, non-blocking handlers (OCSP, CRLs) answer on the I/O thread:
      // no hand-off to a worker and back.
      HttpResponse response;
      try {
        response = server_->handler_(request_);
      } catch (const std::exception&) {
        response = ProblemResponse(500, "internal-error", "the request failed");
      }
      Reply(std::move(response), keep_alive);
      return;
    }
    auto request = std::make_shared<HttpRequest>(std::move(request_));
    asio::post(*server_->workers_, [self, request, keep_alive] {
      HttpResponse response;
      try {
        response = self->server_->handler_(*request);
      } catch (const std::exception&) {
        response = ProblemResponse(500, "internal-error", "the request failed");
      }
      asio::post(self->ex_, [self, response = std::move(response), keep_alive]() mutable {
        self->Reply(std::move(response), keep_alive);
      });
    });
  }

  void Reply(HttpResponse response, bool keep_alive) {
    out_head_ = HeaderBlock(response, keep_alive);
    out_body_ = std::move(response.body);
    auto self = shared_from_this();
    WithStream([&](auto& stream) {
      const std::array<asio::const_buffer, 2> out{asio::buffer(out_head_), asio::buffer(out_body_)};
      asio::async_write(stream, out,
                        asio::bind_executor(ex_, [self, keep_alive](const asio::error_code& ec,
                                                                        size_t) {
                          if (ec || !keep_alive) return self->Close();
                          self->request_armed_ = false;
                          self->parser_.Next();
                          self->Arm(self->server_->options_.idle_timeout);
                          if (!self->pending_.empty()) {
                            self->Parse();
                          } else {
                            self->ReadMore();
                          }
                        }));
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    asio::error_code ignored;
    auto& socket = tls_ ? tls_->lowest_layer() : *plain_;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  HttpServer* server_;
  SourceLimiter::Slot slot_;  // its place in its source's quota
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;  // or
  std::unique_ptr<asio::ip::tcp::socket> plain_;
  asio::any_io_executor ex_;  // the connection's io_context: one thread
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
  bool timer_waiting_ = false;
  bool timed_out_ = false;  // a 408 was sent
  HttpRequestParser parser_;
  std::array<char, 16384> buffer_{};
  std::string pending_;
  std::string out_head_, out_body_;  // the answer being written
  bool request_armed_ = false;  // the request deadline is set for the request under way
  bool closed_ = false;
  std::string peer_spki_;
  std::string peer_certificate_der_;
};

namespace {

std::vector<std::unique_ptr<asio::io_context>> IoContexts(unsigned n) {
  std::vector<std::unique_ptr<asio::io_context>> out;
  for (unsigned i = 0; i < std::max(1u, n); ++i) {
    out.push_back(std::make_unique<asio::io_context>(1));  // one thread each
  }
  return out;
}

}  // namespace

HttpServer::HttpServer(std::shared_ptr<asio::ssl::context> tls, HttpHandler handler,
                       HttpServerOptions options)
    : tls_(std::move(tls)),
      handler_(std::move(handler)),
      options_(std::move(options)),
      ios_(IoContexts(options_.io_threads)),
      acceptor_(*ios_[0]) {
  per_source_ = SourceLimiter::Create(options_.max_connections_per_source);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  Result<uint16_t> port = Listen(acceptor_, options_.address, options_.port);
  if (!port.ok()) return port.status();
  port_ = *port;
  workers_ = std::make_unique<asio::thread_pool>(options_.worker_threads);
  Accept();
  for (auto& io : ios_) {
    asio::io_context* context = io.get();
    keep_running_.push_back(asio::make_work_guard(*context));
    threads_.emplace_back([context] { context->run(); });
  }
  return Status::Ok();
}

void HttpServer::Accept() {
  asio::io_context& target = *ios_[next_io_++ % ios_.size()];
  acceptor_.async_accept(target, [this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (stopped_) return;
    if (!ec) {
      asio::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      const asio::ip::address source = socket.remote_endpoint(ignored).address();
      std::optional<SourceLimiter::Slot> slot;
      if (!ignored && open_connections_.load() < options_.max_connections) slot = per_source_->Acquire(source);
      if (!slot) {
        socket.close(ignored);  // the server, or this source, holds all it may
      } else {
        open_connections_++;
        accepted_++;
        std::make_shared<Connection>(this, std::move(socket), std::move(*slot))->Start();
      }
    }
    Accept();
  });
}

void HttpServer::Stop() {
  if (stopped_.exchange(true)) return;
  asio::error_code ignored;
  acceptor_.close(ignored);
  if (workers_) workers_->join();
  keep_running_.clear();
  for (auto& io : ios_) io->stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

}  // namespace mirrorca::net
