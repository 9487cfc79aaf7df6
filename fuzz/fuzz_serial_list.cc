// Fuzz target: `mirrorca revoke --serial-file` lists (engine::ParseSerialList).
// Any text is read or refused with a clear error; what is read is a list of
// distinct serials of 1..20 bytes without a leading zero byte (as the status
// store keys them), and printing it back as hex reads back the same list.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "base/encoding.h"
#include "engine/revocation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mirrorca;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<std::vector<Bytes>> list = engine::ParseSerialList(text);
  if (!list.ok()) {
    if (list.status().message().empty()) __builtin_trap();  // every refusal says why
    return 0;
  }
  std::set<Bytes> seen;
  std::string again;
  for (const Bytes& s : *list) {
    if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == 0)) __builtin_trap();
    if (!seen.insert(s).second) __builtin_trap();
    again += HexEncode(s) + "\n";
  }
  Result<std::vector<Bytes>> reread = engine::ParseSerialList(again);
  if (!reread.ok() || *reread != *list) __builtin_trap();
  return 0;
}
