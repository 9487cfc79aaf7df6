// ControlSocket: how the local operator's CLI asks a running node to do
// work that needs the node's store (RocksDB admits one process): `mirrorca
// sync` or `bundle import` while `factory serve` / `hq serve` runs. A
// Unix-domain socket in the node's data directory, mode 0600, and only
// peers with the node's own uid (SO_PEERCRED) are served. One JSON request
// line in; JSON lines out until the handler is done; then the connection
// closes. A client that hangs up makes the next reply fail, which ends
// long-running requests (continuous sync).
//
// Thread-safety: each connection runs its handler on its own thread;
// handlers must be thread-safe. Finished connection threads are joined when
// the next connection arrives; Stop (or destruction) joins the rest.
#ifndef MIRRORCA_NET_CONTROL_SOCKET_H_
#define MIRRORCA_NET_CONTROL_SOCKET_H_

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"

namespace mirrorca::net {

class ControlServer {
 public:
  // Reply writes one line to the client; false once the client is gone.
  using Reply = std::function<bool(const std::string& line)>;
  using Handler = std::function<void(const std::string& request, const Reply& reply)>;

  // Start listens on `path` (a stale socket file is replaced; a live one is
  // AlreadyExists: another node runs on this data directory).
  static Result<std::unique_ptr<ControlServer>> Start(const std::string& path, Handler handler);
  ~ControlServer();
  void Stop();

  // TEST_Connections: connection threads not joined yet.
  size_t TEST_Connections();

 private:
  ControlServer() = default;
  void AcceptLoop();
  void Serve(int fd);

  std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  struct Connection {
    std::thread thread;
    bool done = false;  // guarded by mu_: Serve has returned
  };
  // ReapLocked joins the connections whose Serve returned. Holds mu_.
  void ReapLocked();
  std::list<Connection> connections_;  // guarded by mu_
  std::list<int> open_fds_;            // guarded by mu_
};

// ControlRequest sends `request` to the node listening on `path` and calls
// on_line for each reply line. NotFound if no node listens there.
Status ControlRequest(const std::string& path, const std::string& request,
                      const std::function<void(const std::string&)>& on_line);

}  // namespace mirrorca::net

#endif  // MIRRORCA_NET_CONTROL_SOCKET_H_
