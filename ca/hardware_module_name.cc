#include "ca/hardware_module_name.h"

#include <openssl/asn1t.h>

#include <string>

// OpenSSL's ASN.1 template macros define the item and its codec at file scope.
struct MirrorcaHwModuleName {
  ASN1_OBJECT* hw_type;
  ASN1_OCTET_STRING* hw_serial;
};

ASN1_SEQUENCE(MirrorcaHwModuleName) = {
    ASN1_SIMPLE(MirrorcaHwModuleName, hw_type, ASN1_OBJECT),
    ASN1_SIMPLE(MirrorcaHwModuleName, hw_serial, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(MirrorcaHwModuleName)

namespace mirrorca::ca {

Result<GeneralNamePtr> MakeHardwareModuleName(std::string_view hw_type_oid,
                                              std::string_view hw_serial) {
  auto* item = ASN1_ITEM_rptr(MirrorcaHwModuleName);
  auto* hw = reinterpret_cast<MirrorcaHwModuleName*>(ASN1_item_new(item));
  if (hw == nullptr) return OpenSslError("allocate HardwareModuleName");
  auto free_hw = [&] { ASN1_item_free(reinterpret_cast<ASN1_VALUE*>(hw), item); };
  ASN1_OBJECT_free(hw->hw_type);
  hw->hw_type = OBJ_txt2obj(std::string(hw_type_oid).c_str(), 1);
  if (hw->hw_type == nullptr ||
      ASN1_OCTET_STRING_set(hw->hw_serial, reinterpret_cast<const unsigned char*>(hw_serial.data()),
                            static_cast<int>(hw_serial.size())) != 1) {
    free_hw();
    return OpenSslError("build HardwareModuleName", StatusCode::kInvalidArgument);
  }
  unsigned char* der = nullptr;
  int len = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(hw), &der, item);
  free_hw();
  if (len <= 0) return OpenSslError("encode HardwareModuleName");

  // The otherName value is [0] EXPLICIT ANY: an ASN1_TYPE holding the SEQUENCE.
  ASN1_STRING* seq = ASN1_STRING_new();
  ASN1_TYPE* value = ASN1_TYPE_new();
  GeneralNamePtr name(GENERAL_NAME_new());
  Asn1ObjectPtr type_id(OBJ_txt2obj(kHardwareModuleNameOid, 1));
  bool ok = seq != nullptr && value != nullptr && name && type_id &&
            ASN1_STRING_set(seq, der, len) == 1;
  OPENSSL_free(der);
  if (!ok) {
    ASN1_STRING_free(seq);
    ASN1_TYPE_free(value);
    return OpenSslError("build otherName");
  }
  ASN1_TYPE_set(value, V_ASN1_SEQUENCE, seq);  // takes `seq`
  if (GENERAL_NAME_set0_othername(name.get(), type_id.release(), value) != 1) {
    ASN1_TYPE_free(value);
    return OpenSslError("set otherName");
  }
  return name;
}

}  // namespace mirrorca::ca
