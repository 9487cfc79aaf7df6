// Text encodings of bytes: lower-case hex and standard base64 (RFC 4648 §4,
// with padding), as used in checkpoints, signed notes, proofs and exports.
// Decoders are strict: any character outside the alphabet, bad padding or a
// non-canonical trailing group is refused.
//
// Thread-safety: pure functions.
#ifndef MIRRORCA_BASE_ENCODING_H_
#define MIRRORCA_BASE_ENCODING_H_

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace mirrorca {

std::string HexEncode(ByteSpan data);
// HexDecode accepts upper or lower case; InvalidArgument on odd length or a non-hex digit.
Result<Bytes> HexDecode(std::string_view hex);

std::string Base64Encode(ByteSpan data);
// Base64Decode returns InvalidArgument for anything but canonical padded base64.
Result<Bytes> Base64Decode(std::string_view text);

// PercentDecode decodes %XX escapes (RFC 3986); '+' stays '+'.
// InvalidArgument for a truncated or non-hex escape.
Result<std::string> PercentDecode(std::string_view text);

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_ENCODING_H_
