// EmbeddedFile: a text file compiled into the binary by
// scripts/embed_files.py (e.g. the shipped certificate profiles).
//
// Thread-safety: immutable static data.
#ifndef MIRRORCA_BASE_EMBEDDED_FILE_H_
#define MIRRORCA_BASE_EMBEDDED_FILE_H_

#include <cstddef>
#include <string_view>

namespace mirrorca {

struct EmbeddedFile {
  std::string_view name;  // file name without directory and extension
  std::string_view data;
};

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_EMBEDDED_FILE_H_
