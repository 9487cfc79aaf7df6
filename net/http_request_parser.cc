#include "net/http_request_parser.h"

#include <algorithm>
#include <cctype>
#include <climits>

namespace mirrorca::net {

HttpRequestParser::HttpRequestParser(HttpLimits limits) : limits_(limits) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = [](http_parser* p) { return Self(p)->OnBegin(); };
  settings_.on_url = [](http_parser* p, const char* at, size_t n) {
    return Self(p)->OnHeaderBytes(Self(p)->url_, at, n);
  };
  settings_.on_header_field = [](http_parser* p, const char* at, size_t n) { return Self(p)->OnField(at, n); };
  settings_.on_header_value = [](http_parser* p, const char* at, size_t n) {
    Self(p)->last_was_value_ = true;
    return Self(p)->OnHeaderBytes(Self(p)->value_, at, n);
  };
  settings_.on_headers_complete = [](http_parser* p) { return Self(p)->OnHeadersComplete(); };
  settings_.on_body = [](http_parser* p, const char* at, size_t n) { return Self(p)->OnBody(at, n); };
  settings_.on_message_complete = [](http_parser* p) {
    Self(p)->state_ = State::kComplete;
    http_parser_pause(p, 1);  // one request at a time: the rest waits for Next()
    return 0;
  };
}

size_t HttpRequestParser::Feed(std::string_view bytes) {
  if (state_ == State::kComplete || state_ == State::kError || bytes.empty()) return 0;
  const size_t used = http_parser_execute(&parser_, &settings_, bytes.data(), bytes.size());
  const http_errno err = HTTP_PARSER_ERRNO(&parser_);
  if (state_ != State::kComplete && err != HPE_OK) state_ = State::kError;
  return used;
}

bool HttpRequestParser::keep_alive() const { return http_should_keep_alive(&parser_) != 0; }

void HttpRequestParser::Next() {
  if (state_ != State::kComplete) return;
  state_ = State::kIdle;
  http_parser_pause(&parser_, 0);
}

int HttpRequestParser::OnBegin() {
  request_ = HttpRequest{};
  url_.clear();
  field_.clear();
  value_.clear();
  header_bytes_ = 0;
  last_was_value_ = false;
  error_status_ = 0;
  state_ = State::kStarted;
  return 0;
}

int HttpRequestParser::OnHeaderBytes(std::string& into, const char* at, size_t n) {
  header_bytes_ += n;
  if (header_bytes_ > limits_.max_header_bytes) {
    error_status_ = 431;
    return 1;
  }
  into.append(at, n);
  return 0;
}

void HttpRequestParser::FlushHeader() {
  if (field_.empty()) return;
  std::string name = field_;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  request_.headers[name] = value_;
  field_.clear();
  value_.clear();
}

int HttpRequestParser::OnField(const char* at, size_t n) {
  if (last_was_value_) FlushHeader();  // a new header starts
  last_was_value_ = false;
  return OnHeaderBytes(field_, at, n);
}

int HttpRequestParser::OnHeadersComplete() {
  FlushHeader();
  request_.method = http_method_str(static_cast<http_method>(parser_.method));
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(url_.data(), url_.size(), 0, &u) != 0) {
    error_status_ = 400;
    return -1;  // (1 would mean "no body" to http_parser)
  }
  if (u.field_set & (1 << UF_PATH)) {
    request_.path = url_.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
  }
  if (u.field_set & (1 << UF_QUERY)) {
    request_.query = url_.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
  }
  if (parser_.content_length != ULLONG_MAX && parser_.content_length > limits_.max_body_bytes) {
    error_status_ = 413;
    return -1;  // (1 would mean "no body" to http_parser)
  }
  return 0;
}

int HttpRequestParser::OnBody(const char* at, size_t n) {
  if (request_.body.size() + n > limits_.max_body_bytes) {
    error_status_ = 413;
    return 1;
  }
  request_.body.append(at, n);
  return 0;
}

}  // namespace mirrorca::net
