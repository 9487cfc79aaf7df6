#include "ca/serial.h"

#include <openssl/rand.h>

#include "ca/openssl_types.h"

namespace mirrorca::ca {

Result<Bytes> RandomSerial() {
  Bytes serial(kSerialBytes);
  do {
    if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) {
      return OpenSslError("draw a random serial");
    }
    serial[0] &= 0x7f;
  } while (serial[0] == 0);
  return serial;
}

}  // namespace mirrorca::ca
