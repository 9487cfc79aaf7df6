// HttpRequestParser: HTTP/1.1 request framing on libhttp-parser — bytes in,
// complete requests out, with the server's size limits enforced while the
// bytes arrive (headers, body) so that nothing above them is ever held.
// One parser per connection; pipelined requests come out one at a time.
//
//   HttpRequestParser p(limits);
//   size_t used = p.Feed(bytes);      // consumes up to the end of a request
//   if (p.state() == HttpRequestParser::State::kComplete) { use p.request(); p.Next(); }
//   if (p.state() == HttpRequestParser::State::kError) { answer p.error_status(); close }
//
// Thread-safety: not thread-safe (one connection's strand).
#ifndef MIRRORCA_NET_HTTP_REQUEST_PARSER_H_
#define MIRRORCA_NET_HTTP_REQUEST_PARSER_H_

#include <http_parser.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "net/http_server.h"

namespace mirrorca::net {

struct HttpLimits {
  size_t max_header_bytes = 16 * 1024;  // request line and headers
  size_t max_body_bytes = 8 * 1024 * 1024;
};

class HttpRequestParser {
 public:
  enum class State {
    kIdle,      // between requests
    kStarted,   // a request has begun
    kComplete,  // request() is whole; call Next() before feeding more
    kError,     // the bytes are not a request we take: answer error_status() and close
  };

  explicit HttpRequestParser(HttpLimits limits);
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Feed parses `bytes` and returns how many it consumed: all of them, or
  // up to the end of the request that completed (the rest is the next
  // pipelined request's, fed again after Next()).
  size_t Feed(std::string_view bytes);
  State state() const { return state_; }
  // request: the complete request (path decoded from the target, query raw,
  // header names lowercased).
  HttpRequest& request() { return request_; }
  bool keep_alive() const;
  // error_status: 400 (malformed), 413 (body too large), 431 (headers too large).
  int error_status() const { return error_status_ != 0 ? error_status_ : 400; }
  // Next readies the parser for the next request on the connection.
  void Next();

 private:
  static HttpRequestParser* Self(http_parser* p) { return static_cast<HttpRequestParser*>(p->data); }
  int OnBegin();
  int OnHeaderBytes(std::string& into, const char* at, size_t n);
  int OnField(const char* at, size_t n);
  void FlushHeader();
  int OnHeadersComplete();
  int OnBody(const char* at, size_t n);

  const HttpLimits limits_;
  http_parser parser_{};
  http_parser_settings settings_{};
  State state_ = State::kIdle;
  HttpRequest request_;
  std::string url_, field_, value_;
  bool last_was_value_ = false;
  size_t header_bytes_ = 0;
  int error_status_ = 0;
};

}  // namespace mirrorca::net

#endif  // MIRRORCA_NET_HTTP_REQUEST_PARSER_H_
