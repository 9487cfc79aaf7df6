// TlsChannel: a FrameChannel over one TLS 1.3 connection (net/tls.h
// contexts: mutual authentication, pinned peer keys). Every operation has a
// deadline: a peer that stalls mid-frame is dropped, never waited on
// forever. Blocking calls, each driving a private io_context, so a session
// reads like the protocol it implements.
//
// Thread-safety: one thread at a time per channel; channels are independent.
#ifndef MIRRORCA_REPLICATION_TLS_CHANNEL_H_
#define MIRRORCA_REPLICATION_TLS_CHANNEL_H_

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "replication/channel.h"

namespace mirrorca::replication {

class TlsChannel final : public FrameChannel {
 public:
  using Clock = std::chrono::steady_clock;

  // Connect opens a TLS connection to host:port as a client.
  // Unavailable if unreachable, PermissionDenied if the handshake fails.
  static Result<std::unique_ptr<TlsChannel>> Connect(const std::string& host, uint16_t port,
                                                     std::shared_ptr<asio::ssl::context> tls,
                                                     std::chrono::milliseconds timeout);
  // Accept runs the server handshake on an accepted socket (its native
  // handle is taken over).
  static Result<std::unique_ptr<TlsChannel>> Accept(asio::ip::tcp::socket socket,
                                                    std::shared_ptr<asio::ssl::context> tls,
                                                    std::chrono::milliseconds timeout);
  ~TlsChannel() override;

  Status Send(capnp::MessageBuilder& message) override;
  Result<std::unique_ptr<Frame>> Receive() override;

  // set_timeout changes the deadline of each later operation.
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  // PeerSpkiHex returns the SHA-256 (hex) of the peer's certificate key.
  std::string PeerSpkiHex();
  // Close shuts the connection down (TLS close_notify, bounded by the timeout).
  void Close();

 private:
  TlsChannel(std::shared_ptr<asio::ssl::context> tls, std::chrono::milliseconds timeout);
  // Run starts an async operation with `start(handler)` and drives the
  // io_context until it completes or the deadline passes (the socket is
  // then closed and DeadlineExceeded-like Unavailable returned).
  template <typename Start>
  Status Run(const char* what, Start start);
  Status ReadExact(void* out, size_t n);

  std::shared_ptr<asio::ssl::context> tls_;
  asio::io_context io_;
  asio::ssl::stream<asio::ip::tcp::socket> stream_;
  std::chrono::milliseconds timeout_;
  bool broken_ = false;
};

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_TLS_CHANNEL_H_
