#include "ca/openssl_types.h"

namespace mirrorca::ca {

Result<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len < 0) return OpenSslError("read BIO");
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace mirrorca::ca
