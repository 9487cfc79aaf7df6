// DER parts: a structure's encoding assembled from its elements' encodings,
// and taken apart into them, with OpenSSL's ASN.1 code doing the framing
// (ASN1_object_size / ASN1_put_object for headers, d2i_ASN1_SEQUENCE_ANY
// for splitting). CertificateTemplate uses them to reuse a prototype
// certificate's constant elements byte for byte and to encode only the
// fields that change per certificate.
//
// Thread-safety: free functions, no shared state.
#ifndef MIRRORCA_CA_DER_PARTS_H_
#define MIRRORCA_CA_DER_PARTS_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mirrorca::ca {

// DerConstructed: the encoding of a constructed value with tag `tag` of
// class `tag_class` (V_ASN1_UNIVERSAL, V_ASN1_CONTEXT_SPECIFIC) whose
// content is the concatenation of `parts`, each itself an encoding.
// DerSequence is a universal SEQUENCE.
std::string DerConstructed(int tag, int tag_class, std::initializer_list<std::string_view> parts);
std::string DerConstructed(int tag, int tag_class, const std::vector<std::string_view>& parts);
std::string DerSequence(std::initializer_list<std::string_view> parts);

// DerSequenceElements: the encodings of a SEQUENCE's elements, in order.
// Refuses anything but exactly one SEQUENCE.
Result<std::vector<std::string>> DerSequenceElements(std::string_view der);

// I2d: what OpenSSL's i2d function `i2d` writes for `x` (empty on error,
// which no DER value is).
template <typename T, typename I2dFn>
std::string I2d(T* x, I2dFn i2d) {
  const int n = i2d(x, nullptr);
  if (n <= 0) return {};
  std::string out(static_cast<size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (i2d(x, &p) != n) return {};
  return out;
}

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_DER_PARTS_H_
