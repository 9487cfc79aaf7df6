// Test helper: one SoftHSM2 token directory for the whole test process
// (SoftHSM2 reads SOFTHSM2_CONF once, when the module is first initialized,
// so every test of a process must share it, and it sees only the tokens
// that existed then). The tokens a test process uses are all made up front,
// each with user PIN 1234 in a 0600 PIN file.
//
// Thread-safety: call from the test thread only.
#ifndef MIRRORCA_CRYPTO_TEST_TOKEN_H_
#define MIRRORCA_CRYPTO_TEST_TOKEN_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <string>

#include "base/env.h"
#include "crypto/key_open.h"

namespace mirrorca::crypto::testing {

inline bool HaveTool(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null").c_str()) == 0;
}

// HaveSoftHsm: SoftHSM2, OpenSC's pkcs11-tool and the libp11 engine
// (scripts/setup.sh installs them).
inline bool HaveSoftHsm() {
  return HaveTool("softhsm2-util") && HaveTool("pkcs11-tool") && std::filesystem::exists(kPkcs11EnginePath) &&
         std::filesystem::exists(kDefaultPkcs11Module);
}

class TestTokens {
 public:
  static TestTokens& Get() {
    static TestTokens* t = new TestTokens();  // the dir is removed at exit
    return *t;
  }
  const std::string& dir() const { return dir_; }
  const std::string& pin_file() const { return pin_file_; }
  // The tokens every test process has.
  static constexpr const char* kLabels[] = {"mirrorca-test", "mirrorca-pin", "mirrorca-log", "mirrorca-ca"};
  // Token returns a store reference `pkcs11:token=<label>?pin-source=file:<pin file>`.
  std::string Token(const std::string& label) const {
    EXPECT_TRUE(std::find(std::begin(kLabels), std::end(kLabels), label) != std::end(kLabels)) << label;
    return "pkcs11:token=" + label + "?pin-source=file:" + pin_file_;
  }
  static void Run(const std::string& cmd) {
    EXPECT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd;
  }

 private:
  TestTokens() {
    dir_ = (std::filesystem::temp_directory_path() / "mirrorca-hsm-XXXXXX").string();
    EXPECT_NE(::mkdtemp(dir_.data()), nullptr);
    std::filesystem::create_directories(dir_ + "/tokens");
    std::ofstream(dir_ + "/softhsm2.conf") << "directories.tokendir = " << dir_ << "/tokens\n"
                                           << "log.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", (dir_ + "/softhsm2.conf").c_str(), 1);
    for (const char* label : kLabels) {
      Run(std::string("softhsm2-util --init-token --free --label ") + label + " --pin 1234 --so-pin 5678");
    }
    pin_file_ = dir_ + "/pin";
    EXPECT_TRUE(Env::Default()->WriteFileAtomic(pin_file_, "1234\n", 0600).ok());
    static std::string to_remove;
    to_remove = dir_;
    std::atexit([] { std::filesystem::remove_all(to_remove); });
  }
  std::string dir_, pin_file_;
};

}  // namespace mirrorca::crypto::testing

#endif  // MIRRORCA_CRYPTO_TEST_TOKEN_H_
