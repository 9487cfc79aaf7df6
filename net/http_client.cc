#include "net/http_client.h"

#include <http_parser.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

namespace mirrorca::net {
namespace {

constexpr uint64_t kMaxResponseBody = 64u << 20;  // a larger body is refused

struct ResponseParse {
  HttpClientResponse response;
  std::string field, value;
  bool last_was_value = false;
  bool complete = false;

  void Flush() {
    if (field.empty()) return;
    std::transform(field.begin(), field.end(), field.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    response.headers[field] = value;
    field.clear();
    value.clear();
  }
};

ResponseParse* P(http_parser* p) { return static_cast<ResponseParse*>(p->data); }

}  // namespace

Result<std::unique_ptr<HttpClient>> HttpClient::Connect(const std::string& host, uint16_t port,
                                                        std::shared_ptr<asio::ssl::context> tls) {
  std::unique_ptr<HttpClient> c(new HttpClient());
  c->tls_ = std::move(tls);
  c->host_ = host;
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(c->io_);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return Status::IOError("resolve " + host + ": " + ec.message());
  asio::ip::tcp::socket socket(c->io_);
  asio::connect(socket, endpoints, ec);
  if (ec) return Status::IOError("connect " + host + ":" + std::to_string(port) + ": " + ec.message());
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  if (c->tls_) {
    c->tls_stream_ =
        std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(socket), *c->tls_);
    SSL_set_tlsext_host_name(c->tls_stream_->native_handle(), host.c_str());
    c->tls_stream_->set_verify_callback(asio::ssl::host_name_verification(host), ec);
    c->tls_stream_->handshake(asio::ssl::stream_base::client, ec);
    if (ec) return Status::PermissionDenied("TLS handshake with " + host + ": " + ec.message());
  } else {
    c->plain_ = std::make_unique<asio::ip::tcp::socket>(std::move(socket));
  }
  return c;
}

HttpClient::~HttpClient() {
  asio::error_code ignored;
  if (tls_stream_) {
    tls_stream_->lowest_layer().close(ignored);
  } else if (plain_) {
    plain_->close(ignored);
  }
}

Status HttpClient::Send(std::string_view bytes) {
  asio::error_code ec;
  if (tls_stream_) {
    asio::write(*tls_stream_, asio::buffer(bytes.data(), bytes.size()), ec);
  } else {
    asio::write(*plain_, asio::buffer(bytes.data(), bytes.size()), ec);
  }
  if (ec) return Status::IOError("send: " + ec.message());
  return Status::Ok();
}

Result<size_t> HttpClient::ReadSome(char* buf, size_t n) {
  asio::error_code ec;
  size_t got = tls_stream_ ? tls_stream_->read_some(asio::buffer(buf, n), ec)
                           : plain_->read_some(asio::buffer(buf, n), ec);
  if (ec) return Status::IOError("receive: " + ec.message());
  return got;
}

Result<HttpClientResponse> HttpClient::Request(const std::string& method,
                                               const std::string& target,
                                               const std::string& content_type,
                                               const std::string& body) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host_ + "\r\n";
  if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
  if (method != "GET" || !body.empty()) {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req += body;
  Status s = Send(req);
  if (!s.ok()) return s;
  return ReadResponse();
}

Result<HttpClientResponse> HttpClient::ReadResponse() {
  ResponseParse state;
  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  parser.data = &state;
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_header_field = [](http_parser* p, const char* at, size_t n) {
    if (P(p)->last_was_value) P(p)->Flush();
    P(p)->last_was_value = false;
    P(p)->field.append(at, n);
    return 0;
  };
  settings.on_header_value = [](http_parser* p, const char* at, size_t n) {
    P(p)->last_was_value = true;
    P(p)->value.append(at, n);
    return 0;
  };
  settings.on_headers_complete = [](http_parser* p) {
    P(p)->Flush();
    P(p)->response.status = static_cast<int>(p->status_code);
    // The body's room at once when its length is announced (within the cap).
    if (p->content_length > 0 && p->content_length <= kMaxResponseBody) {
      P(p)->response.body.reserve(static_cast<size_t>(p->content_length));
    }
    return 0;
  };
  settings.on_body = [](http_parser* p, const char* at, size_t n) {
    if (P(p)->response.body.size() + n > kMaxResponseBody) return 1;
    P(p)->response.body.append(at, n);
    return 0;
  };
  settings.on_message_complete = [](http_parser* p) {
    P(p)->complete = true;
    http_parser_pause(p, 1);
    return 0;
  };
  // Feed: bytes to the parser, where they lie; what it does not take (after
  // a complete response, or from an error on) is kept for the next call.
  // A complete response, an error, or nullopt: more bytes are needed.
  auto feed = [&](const char* data, size_t n) -> std::optional<Result<HttpClientResponse>> {
    const size_t used = http_parser_execute(&parser, &settings, data, n);
    if (state.complete || HTTP_PARSER_ERRNO(&parser) != HPE_OK) pending_.assign(data + used, n - used);
    if (state.complete) return Result<HttpClientResponse>(std::move(state.response));
    if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
      return Result<HttpClientResponse>(Status::Corruption(std::string("malformed HTTP response: ") +
                                                           http_errno_description(HTTP_PARSER_ERRNO(&parser))));
    }
    return std::nullopt;
  };
  if (!pending_.empty()) {
    const std::string held = std::exchange(pending_, std::string());
    if (std::optional<Result<HttpClientResponse>> r = feed(held.data(), held.size())) return std::move(*r);
  }
  char buf[16384];
  while (true) {
    Result<size_t> n = ReadSome(buf, sizeof(buf));
    if (!n.ok()) {
      // A response delimited by the connection's end.
      http_parser_execute(&parser, &settings, nullptr, 0);
      if (state.complete) return std::move(state.response);
      return n.status();
    }
    if (std::optional<Result<HttpClientResponse>> r = feed(buf, *n)) return std::move(*r);
  }
}

Result<Url> ParseUrl(const std::string& url) {
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(url.data(), url.size(), 0, &u) != 0 ||
      !(u.field_set & (1 << UF_HOST))) {
    return Status::InvalidArgument("bad URL '" + url + "'");
  }
  Url out;
  auto part = [&](int f) {
    return (u.field_set & (1 << f)) ? url.substr(u.field_data[f].off, u.field_data[f].len)
                                    : std::string();
  };
  out.scheme = part(UF_SCHEMA);
  out.host = part(UF_HOST);
  out.path = part(UF_PATH);
  out.port = u.port != 0 ? u.port : (out.scheme == "https" ? 443 : 80);
  return out;
}

}  // namespace mirrorca::net
