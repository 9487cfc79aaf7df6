// The crypto floor's names (crypto/: SHA-256, OpenSSL pointers, key files)
// as the log's own code spells them: log::Hash, log::Sha256, … Code outside
// log/ names them crypto::.
//
// Thread-safety: declarations only.
#ifndef MIRRORCA_LOG_CRYPTO_NAMES_H_
#define MIRRORCA_LOG_CRYPTO_NAMES_H_

#include "crypto/openssl_ptr.h"
#include "crypto/private_key_file.h"
#include "crypto/sha256.h"

namespace mirrorca::log {

using crypto::EvpMdCtxDeleter;
using crypto::EvpMdCtxPtr;
using crypto::EvpPkeyDeleter;
using crypto::EvpPkeyPtr;
using crypto::Hash;
using crypto::LoadPrivateKeyPem;
using crypto::OpenSslError;
using crypto::ParsePrivateKeyPem;
using crypto::SavePrivateKeyPem;
using crypto::Sha256;
using crypto::Sha256Stream;

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_CRYPTO_NAMES_H_
