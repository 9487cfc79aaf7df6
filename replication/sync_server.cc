#include "replication/sync_server.h"

#include <chrono>

#include <sys/socket.h>

#include "net/listen.h"
#include "replication/tls_channel.h"

namespace mirrorca::replication {

SyncServer::SyncServer(std::shared_ptr<asio::ssl::context> tls, HqSync* hq,
                       SyncServerOptions options)
    : tls_(std::move(tls)),
      hq_(hq),
      options_(std::move(options)),
      acceptor_(io_),
      per_source_(net::SourceLimiter::Create(options_.max_sessions_per_source)) {}

SyncServer::~SyncServer() { Stop(); }

Status SyncServer::Start() {
  Result<uint16_t> port = net::Listen(acceptor_, options_.address, options_.port);
  if (!port.ok()) return port.status().WithContext("sync");
  port_ = *port;
  Accept();
  accept_thread_ = std::thread([this] { io_.run(); });
  return Status::Ok();
}

void SyncServer::Accept() {
  acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted && !stopping_) Accept();
      return;
    }
    if (stopping_) return;
    asio::error_code ignored;
    const asio::ip::address source = socket.remote_endpoint(ignored).address();
    std::optional<net::SourceLimiter::Slot> slot;
    if (!ignored && active_.load() < options_.max_sessions) slot = per_source_->Acquire(source);
    if (!slot) {
      socket.close(ignored);  // over the limit (the server's, or this source's): the factory retries later
    } else {
      active_++;
      std::lock_guard lock(mu_);
      // Reap sessions that finished.
      for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (it->done->load()) {
          it->thread.join();
          it = sessions_.erase(it);
        } else {
          ++it;
        }
      }
      open_fds_.insert(socket.native_handle());
      auto done = std::make_shared<std::atomic<bool>>(false);
      std::thread t([this, done, s = std::move(socket), slot = std::move(*slot)]() mutable {
        RunSession(std::move(s), std::move(slot), done.get());
      });
      sessions_.push_back({std::move(t), std::move(done)});
    }
    Accept();
  });
}

// `slot` (its source's place) is held until the session ends.
void SyncServer::RunSession(asio::ip::tcp::socket socket, [[maybe_unused]] net::SourceLimiter::Slot slot,
                            std::atomic<bool>* done) {
  const int fd = socket.native_handle();
  Status result;
  {
    // Unauthenticated, it has the handshake deadline; authenticated, the I/O one.
    Result<std::unique_ptr<TlsChannel>> ch =
        TlsChannel::Accept(std::move(socket), tls_, std::min(options_.handshake_timeout, options_.io_timeout));
    if (!ch.ok()) {
      result = ch.status();
    } else {
      (*ch)->set_timeout(options_.io_timeout);
      result = hq_->Serve(**ch, (*ch)->PeerSpkiHex());
      if (!result.ok()) {
        // A lingering close: after a refusal the peer may still be sending
        // packages. Closing with unread data would reset the connection and
        // the peer would lose the Refusal; read and discard what it still
        // sends until it closes (bounded in time and frames).
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        for (int frames = 0; frames < 100000 && std::chrono::steady_clock::now() < until; ++frames) {
          if (!(*ch)->Receive().ok()) break;
        }
      }
      (*ch)->Close();
    }
  }
  {
    std::lock_guard lock(mu_);
    open_fds_.erase(fd);
  }
  if (options_.on_session_end) options_.on_session_end(result);
  active_--;
  done->store(true);
}

void SyncServer::Stop() {
  if (stopping_.exchange(true)) return;
  asio::post(io_, [this] {
    asio::error_code ignored;
    acceptor_.close(ignored);
  });
  if (accept_thread_.joinable()) accept_thread_.join();
  std::list<Session> sessions;
  {
    std::lock_guard lock(mu_);
    // Wake every blocked session: its next read or write fails at once.
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    sessions.swap(sessions_);
  }
  for (Session& s : sessions) s.thread.join();
}

}  // namespace mirrorca::replication
