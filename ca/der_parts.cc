#include "ca/der_parts.h"

#include <algorithm>

#include <openssl/asn1.h>

#include "ca/openssl_types.h"

namespace mirrorca::ca {
namespace {

void FreeSequenceAny(ASN1_SEQUENCE_ANY* s) { sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free); }
using Asn1SequenceAnyPtr = OpenSslPtr<ASN1_SEQUENCE_ANY, FreeSequenceAny>;

}  // namespace

std::string DerConstructed(int tag, int tag_class, const std::vector<std::string_view>& parts) {
  size_t content = 0;
  for (std::string_view p : parts) content += p.size();
  const int total = ASN1_object_size(1, static_cast<int>(content), tag);
  if (total <= 0) return {};
  std::string out(static_cast<size_t>(total), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  ASN1_put_object(&p, 1, static_cast<int>(content), tag, tag_class);
  for (std::string_view part : parts) {
    std::copy(part.begin(), part.end(), reinterpret_cast<char*>(p));
    p += part.size();
  }
  return out;
}

std::string DerConstructed(int tag, int tag_class, std::initializer_list<std::string_view> parts) {
  return DerConstructed(tag, tag_class, std::vector<std::string_view>(parts));
}

std::string DerSequence(std::initializer_list<std::string_view> parts) {
  return DerConstructed(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, parts);
}

Result<std::vector<std::string>> DerSequenceElements(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Asn1SequenceAnyPtr seq(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, static_cast<long>(der.size())));
  if (!seq || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return OpenSslError("split a SEQUENCE", StatusCode::kInvalidArgument);
  }
  std::vector<std::string> elements;
  for (int i = 0; i < sk_ASN1_TYPE_num(seq.get()); ++i) {
    std::string e = I2d(sk_ASN1_TYPE_value(seq.get(), i), i2d_ASN1_TYPE);
    if (e.empty()) return OpenSslError("encode a SEQUENCE element");
    elements.push_back(std::move(e));
  }
  return elements;
}

}  // namespace mirrorca::ca
