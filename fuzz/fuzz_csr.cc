// Fuzz target: CSR vetting (ca/request_vetting.h) — what an RA sends the
// factory. Any input gets a verdict: a vetting failure or a key; never a
// crash, a leak or an exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ca/profile.h"
#include "ca/request_vetting.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mirrorca::ca::Profile idevid = *mirrorca::ca::BuiltinProfile("idevid");
  static const mirrorca::ca::Profile matter = *mirrorca::ca::BuiltinProfile("matter-dac");
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)mirrorca::ca::VetRequest(input, size % 2 == 0 ? idevid : matter);
  // The same bytes as a device serial (short inputs only: a serial is ≤ 64).
  if (size <= 80) (void)mirrorca::ca::VetDeviceSerial(input, idevid);
  return 0;
}
