#include "crypto/openssl_ptr.h"

#include <openssl/err.h>

#include <string>

namespace mirrorca::crypto {

Status OpenSslError(std::string_view what, StatusCode code) {
  std::string message(what);
  unsigned long err;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    message += "; ";
    message += buf;
  }
  return Status(code, message);
}

}  // namespace mirrorca::crypto
