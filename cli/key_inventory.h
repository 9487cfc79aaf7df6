// KeyInventory: every private key a node's config uses (hq.toml,
// factory.toml or ra.toml), where it lives — a PEM file or an object in a
// PKCS#11 token — and whether it opens (`mirrorca pki keys`). It is the
// config dump an operator checks keys with: references name the PIN's
// source, never the PIN.
//
// Thread-safety: a CLI-time function.
#ifndef MIRRORCA_CLI_KEY_INVENTORY_H_
#define MIRRORCA_CLI_KEY_INVENTORY_H_

#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace mirrorca::cli {

// KeyInventory lists the keys of the node `config_path` configures; with
// `open_keys` each key is opened (a token login) and a test signature made.
Result<nlohmann::json> KeyInventory(const std::string& config_path, bool open_keys);

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_KEY_INVENTORY_H_
