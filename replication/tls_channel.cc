#include "replication/tls_channel.h"

#include "base/status_macros.h"
#include "net/tls.h"

namespace mirrorca::replication {

TlsChannel::TlsChannel(std::shared_ptr<asio::ssl::context> tls, std::chrono::milliseconds timeout)
    : tls_(std::move(tls)), stream_(io_, *tls_), timeout_(timeout) {}

TlsChannel::~TlsChannel() {
  asio::error_code ignored;
  stream_.lowest_layer().close(ignored);
}

template <typename Start>
Status TlsChannel::Run(const char* what, Start start) {
  if (broken_) return Status::Unavailable(std::string(what) + ": connection already failed");
  bool done = false;
  asio::error_code result;
  start([&](const asio::error_code& ec, auto&&...) {
    result = ec;
    done = true;
  });
  io_.restart();
  io_.run_for(timeout_);
  if (!done) {
    broken_ = true;
    asio::error_code ignored;
    stream_.lowest_layer().close(ignored);  // aborts the operation
    io_.restart();
    io_.run();
    return Status::Unavailable(std::string(what) + ": no progress for " +
                               std::to_string(timeout_.count()) + " ms");
  }
  if (result) {
    broken_ = true;
    if (result == asio::error::eof || result == asio::ssl::error::stream_truncated) {
      return Status::Unavailable(std::string(what) + ": connection closed by the peer");
    }
    return Status::Unavailable(std::string(what) + ": " + result.message());
  }
  return Status::Ok();
}

Result<std::unique_ptr<TlsChannel>> TlsChannel::Connect(const std::string& host, uint16_t port,
                                                        std::shared_ptr<asio::ssl::context> tls,
                                                        std::chrono::milliseconds timeout) {
  std::unique_ptr<TlsChannel> c(new TlsChannel(std::move(tls), timeout));
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(c->io_);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return Status::Unavailable("resolve " + host + ": " + ec.message());
  const std::string where = host + ":" + std::to_string(port);
  RETURN_IF_ERROR(c->Run("connect", [&](auto handler) {
    asio::async_connect(c->stream_.lowest_layer(), endpoints,
                        [handler](const asio::error_code& e, const auto&) { handler(e); });
  }).WithContext(where));
  c->stream_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ec);
  Status hs = c->Run("TLS handshake", [&](auto handler) {
    c->stream_.async_handshake(asio::ssl::stream_base::client, handler);
  });
  if (!hs.ok()) return Status::PermissionDenied(where + ": " + hs.message());
  return c;
}

Result<std::unique_ptr<TlsChannel>> TlsChannel::Accept(asio::ip::tcp::socket socket,
                                                       std::shared_ptr<asio::ssl::context> tls,
                                                       std::chrono::milliseconds timeout) {
  std::unique_ptr<TlsChannel> c(new TlsChannel(std::move(tls), timeout));
  asio::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return Status::Unavailable("accepted socket: " + ec.message());
  c->stream_.lowest_layer().assign(protocol, socket.release(), ec);
  if (ec) return Status::Internal("adopt socket: " + ec.message());
  c->stream_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ec);
  Status hs = c->Run("TLS handshake", [&](auto handler) {
    c->stream_.async_handshake(asio::ssl::stream_base::server, handler);
  });
  if (!hs.ok()) return Status::PermissionDenied(hs.message());
  return c;
}

Status TlsChannel::ReadExact(void* out, size_t n) {
  Status s = Run("read", [&](auto handler) {
    asio::async_read(stream_, asio::buffer(out, n), handler);
  });
  if (s.ok()) bytes_received_ += n;
  return s;
}

Status TlsChannel::Send(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = EncodeFrame(message);
  const size_t n = words.size() * sizeof(capnp::word);
  Status s = Run("write", [&](auto handler) {
    asio::async_write(stream_, asio::buffer(words.begin(), n), handler);
  });
  if (s.ok()) bytes_sent_ += n;
  return s;
}

Result<std::unique_ptr<Frame>> TlsChannel::Receive() {
  return ReadFrame([this](void* out, size_t n) { return ReadExact(out, n); });
}

std::string TlsChannel::PeerSpkiHex() { return net::PeerSpkiHex(stream_.native_handle()); }

void TlsChannel::Close() {
  if (broken_) return;
  // Best effort: a peer that does not answer close_notify is not waited for.
  (void)Run("shutdown", [&](auto handler) { stream_.async_shutdown(handler); });
  asio::error_code ignored;
  stream_.lowest_layer().close(ignored);
}

}  // namespace mirrorca::replication
