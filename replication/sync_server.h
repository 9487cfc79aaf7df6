// SyncServer: HQ's replication port. Accepts TLS 1.3 connections (mutual
// auth, client keys pinned to the factories of hq.toml) and runs each
// session on its own thread (HqSync::Serve); every read and write has a
// deadline, and the number of concurrent sessions is bounded.
//
// Thread-safety: Start and Stop from one owner thread; sessions run on
// their own threads.
#ifndef MIRRORCA_REPLICATION_SYNC_SERVER_H_
#define MIRRORCA_REPLICATION_SYNC_SERVER_H_

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "base/result.h"
#include "net/source_limiter.h"
#include "replication/hq_sync.h"

namespace mirrorca::replication {

struct SyncServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  std::chrono::milliseconds io_timeout{30000};
  // From TCP accept to an authenticated TLS session: a connection that has
  // not shown a pinned key by then gives its slot back.
  std::chrono::milliseconds handshake_timeout{5000};
  size_t max_sessions = 64;
  // One source address may hold at most this many sessions (0: no limit):
  // a factory or a VA needs one.
  size_t max_sessions_per_source = 4;
  // Called after each session with its outcome (e.g. to write metrics).
  std::function<void(const Status&)> on_session_end;
};

class SyncServer {
 public:
  // `hq` must outlive the server.
  SyncServer(std::shared_ptr<asio::ssl::context> tls, HqSync* hq, SyncServerOptions options);
  ~SyncServer();
  Status Start();
  uint16_t port() const { return port_; }
  // Stop closes the port and every open session, and joins their threads.
  void Stop();

 private:
  void Accept();
  void RunSession(asio::ip::tcp::socket socket, net::SourceLimiter::Slot slot, std::atomic<bool>* done);

  std::shared_ptr<asio::ssl::context> tls_;
  HqSync* const hq_;
  const SyncServerOptions options_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread accept_thread_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  struct Session {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Session> sessions_;          // guarded by mu_
  std::set<int> open_fds_;               // guarded by mu_
  std::atomic<size_t> active_{0};
  std::shared_ptr<net::SourceLimiter> per_source_;
};

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_SYNC_SERVER_H_
