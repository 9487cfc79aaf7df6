#!/usr/bin/env python3
"""embed_files.py OUT.cc SYMBOL FILE... — writes a C++ source defining
`extern const mirrorca::EmbeddedFile SYMBOL[]` and `SYMBOL_count`: each
file's base name (without extension) and its bytes, so shipped text files
(certificate profiles) are part of the binary."""
import os
import sys

out, symbol, files = sys.argv[1], sys.argv[2], sys.argv[3:]
lines = ['#include "base/embedded_file.h"', "", "namespace mirrorca {", ""]
lines.append(f"extern const EmbeddedFile {symbol}[] = {{")
for path in sorted(files):
    name = os.path.splitext(os.path.basename(path))[0]
    data = open(path, "rb").read()
    body = "".join(f"\\x{b:02x}" for b in data)
    lines.append(f'  {{"{name}", std::string_view("{body}", {len(data)})}},')
lines.append("};")
lines.append(f"extern const size_t {symbol}_count = {len(files)};")
lines.append("")
lines.append("}  // namespace mirrorca")
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
