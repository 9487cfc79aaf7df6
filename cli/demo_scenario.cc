#include "cli/demo_scenario.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "base/encoding.h"
#include "base/env.h"
#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/keys.h"
#include "ca/openssl_types.h"
#include "cli/pki_commands.h"

extern char** environ;

namespace mirrorca::cli {
namespace {

std::string Self() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "mirrorca" : p.string();
}

// Spawn starts `args` with stdout and stderr to `log`; returns the pid.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const bool path_lookup = args[0].find('/') == std::string::npos;
  int rc = path_lookup ? posix_spawnp(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ)
                       : posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Run runs `args` to completion; returns (exit code, output).
std::pair<int, std::string> Run(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = Spawn(args, log);
  if (pid < 0) return {127, "cannot start " + args[0]};
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, ReadAll(log)};
}

// WaitFor waits until `log` says `what`, while process `pid` lives, for at
// most a minute (a node opening keys in a token on a loaded machine, or
// under a sanitizer, takes seconds; one that dies is given up at once).
bool WaitFor(const std::string& log, const std::string& what, pid_t pid) {
  for (int i = 0; i < 60 * 40; ++i) {
    if (ReadAll(log).find(what) != std::string::npos) return true;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return ReadAll(log).find(what) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

std::string TomlValue(const std::string& file, const std::string& section, const std::string& key) {
  std::istringstream in(ReadAll(file));
  std::string line, current;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '[') current = line.substr(0, line.find(']') + 1);
    if (current == section && line.rfind(key + " = \"", 0) == 0) {
      size_t a = line.find('"') + 1;
      return line.substr(a, line.find('"', a) - a);
    }
  }
  return "";
}

class Demo {
 public:
  explicit Demo(std::string dir) : dir_(std::move(dir)), self_(Self()) {}
  ~Demo() {
    for (pid_t p : servers_) {
      ::kill(p, SIGTERM);
      int st;
      ::waitpid(p, &st, 0);
    }
  }

  int Main(int devices, int factories, const DemoKeys& keys) {
    const auto start = std::chrono::steady_clock::now();
    std::cout << "mirrorca demo — " << (factories == 1 ? std::string("factory") : std::to_string(factories) + " factories")
              << " → HQ on 127.0.0.1 (files in " << dir_ << ")\n";

    Step("PKI by the onboarding commands: OEM root, HQ log, and per factory its log, an issuing CA "
         "certified by the root (key sealed to the factory), TLS identities, configs");
    QuickstartOptions q;
    q.dir = dir_;
    q.quota = static_cast<uint64_t>(devices) + 10;
    q.quiet = true;
    q.factories = factories;
    q.keys = keys.keys;
    q.log_keys = keys.log_keys;
    if (Status s = Quickstart(q); !s.ok()) return Fail(s.ToString());
    for (int k = 1; k <= factories; ++k) {
      Say(Name(k) + ": issuing CA " + Folder(k) + "/ca/ca.pem under root " + dir_ + "/hq/root/ca.pem");
    }
    Say("HQ authorized batch B1 (quota " + std::to_string(q.quota) + ") for each factory in its signed log" +
        (factories > 1 ? " — " + std::to_string(factories) + " batches named B1, kept apart as F1/B1, F2/B1, …" : ""));

    Step("Start HQ (replication port + OCSP/CRL) and each factory CA (mTLS enrollment API)");
    if (!Serve({"hq", "serve", "--config", dir_ + "/hq.toml"}, "hq.log", "serving_sync")) return 1;
    for (int k = 1; k <= factories; ++k) {
      if (!Serve({"factory", "serve", "--config", Config(k)}, Suffixed("factory", k) + ".log", "serving")) return 1;
    }
    va_ = "http://" + TomlValue(dir_ + "/hq.toml", "[validation]", "listen");
    Say("HQ VA at " + va_ + "; logs: " + dir_ + "/hq.log, " + dir_ + "/factory*.log");

    Step("First sync: each factory and HQ agree on both logs (quickstart already delivered its batch B1)");
    for (int k = 1; k <= factories; ++k) {
      if (!Cmd({self_, "sync", "--config", Config(k)}, "sync0.json")) return 1;
    }

    Step("Devices make keys and CSRs; each factory's RA enrolls " + std::to_string(devices) + " of them over mTLS");
    for (int k = 1; k <= factories; ++k) {
      if (Status s = MakeCsrs(k, devices); !s.ok()) return Fail(s.ToString());
      if (!Cmd({self_, "ra", "enroll", "--config", dir_ + "/" + Suffixed("ra", k) + ".toml", "--batch", "B1",
                "--csr-dir", dir_ + "/csrs" + (k == 1 ? "" : "-" + Name(k)), "--out", dir_ + "/certs"},
               "enroll.json")) {
        return 1;
      }
    }

    Step("Nightly sync: each factory log goes to HQ, verified and cosigned; what HQ addressed to that factory comes back");
    for (int k = 1; k <= factories; ++k) {
      if (!Cmd({self_, "sync", "--config", Config(k)}, "sync1.json")) return 1;
    }
    if (factories > 1) {
      if (!Cmd({self_, "batch", "ledger", "--config", dir_ + "/hq.toml"}, "ledger.json")) return 1;
    }

    const std::string good = Device(1, 1), bad1 = Device(1, 2), bad2 = Device(1, 3);
    Step("HQ revokes devices (keyCompromise, certificateHold): signed events in HQ's log");
    std::vector<std::pair<std::string, std::string>> revocations = {{bad1, "--reason=keyCompromise"},
                                                                    {bad2, "--hold"}};
    for (int k = 2; k <= factories; ++k) revocations.push_back({Device(k, 2), "--reason=keyCompromise"});
    for (const auto& [cert, how] : revocations) {
      std::string serial = SerialHex(cert);
      if (serial.empty()) return Fail("cannot read " + cert);
      if (!Cmd({self_, "revoke", "--config", dir_ + "/hq.toml", "--serial", serial, how}, "revoke.json")) {
        return 1;
      }
    }

    Step("CRLs: generated, numbered in HQ's log, each signed with HQ's copy of its issuing CA key");
    for (int k = 1; k <= factories; ++k) {
      const std::string ca_name = "factory-" + Lower(Name(k));
      const std::string crl = dir_ + "/" + ca_name + ".crl";
      if (!Cmd({self_, "crl", "generate", "--config", dir_ + "/hq.toml", "--out", crl, "--ca", ca_name}, "crl.json")) return 1;
      auto [crl_rc, crl_text] = Run({"openssl", "crl", "-inform", "DER", "-in", crl, "-noout", "-text"},
                                    dir_ + "/crl.txt");
      if (crl_rc != 0 || crl_text.find("Key Compromise") == std::string::npos) {
        return Fail("openssl crl: " + crl_text);
      }
      if (k == 1) Say("openssl crl: the CRL lists both, reasons Key Compromise and Certificate Hold");
      const std::string crl_pem = crl + ".pem";
      const std::string trust = dir_ + "/trust.pem";
      (void)Env::Default()->WriteFileAtomic(
          trust, ReadAll(dir_ + "/hq/root/ca.pem") + ReadAll(Folder(k) + "/ca/ca.pem"), 0644);
      Run({"openssl", "crl", "-inform", "DER", "-in", crl, "-out", crl_pem}, dir_ + "/crl.txt");
      auto [ok_rc, ok_out] = Run({"openssl", "verify", "-crl_check", "-CAfile", trust, "-CRLfile",
                                  crl_pem, Device(k, 1)}, dir_ + "/verify.txt");
      auto [bad_rc, bad_out] = Run({"openssl", "verify", "-crl_check", "-CAfile", trust, "-CRLfile",
                                    crl_pem, Device(k, 2)}, dir_ + "/verify.txt");
      if (ok_rc != 0 || bad_rc == 0 || bad_out.find("certificate revoked") == std::string::npos) {
        return Fail("openssl verify -crl_check: " + ok_out + bad_out);
      }
      Say("openssl verify -crl_check (" + ca_name + ".crl): " + Stem(Device(k, 1)) + " OK, " + Stem(Device(k, 2)) +
          " 'certificate revoked'");
    }

    Step("OCSP, checked with `openssl ocsp`: a good, a revoked and a never-issued serial");
    const std::string chain = dir_ + "/hq/root/ca.pem";
    auto ocsp = [&](int k, const std::vector<std::string>& what, const std::string& expect) {
      std::vector<std::string> args = {"openssl", "ocsp", "-issuer", Folder(k) + "/ca/ca.pem", "-url",
                                       va_ + "/ocsp", "-CAfile", chain};
      args.insert(args.end(), what.begin(), what.end());
      auto [rc, out] = Run(args, dir_ + "/ocsp.txt");
      const bool ok = rc == 0 && out.find("Response verify OK") != std::string::npos &&
                      out.find(expect) != std::string::npos;
      std::string first = out.substr(out.find('\n') + 1);
      first = first.substr(0, first.find('\n'));
      Say((ok ? "ok   " : "FAIL ") + first);
      return ok;
    };
    bool all = ocsp(1, {"-cert", good}, ": good");
    all = ocsp(1, {"-cert", bad1}, ": revoked") && all;
    all = ocsp(1, {"-cert", bad2}, ": revoked") && all;
    all = ocsp(1, {"-serial", "0x5EEDC0FFEE0000000000000000000001"}, ": revoked") && all;
    Say("(a serial no factory log issued is 'revoked' — RFC 6960 §2.2: a forged certificate is exposed)");
    for (int k = 2; k <= factories; ++k) {
      all = ocsp(k, {"-cert", Device(k, 1)}, ": good") && all;
      all = ocsp(k, {"-cert", Device(k, 2)}, ": revoked") && all;
    }
    if (!all) return Fail("an OCSP answer was not the expected one");

    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "\nDone in " << static_cast<int>(secs + 0.5) << " s. Everything is in " << dir_
              << ":\n"
              << "  certs/              the device certificates (leaf + CA chain)\n"
              << "  factory-f1.crl      the CRL;  factory/data, hq/data: the signed logs\n"
              << "Try:\n"
              << "  mirrorca log verify --data " << dir_ << "/hq/data --log factory-f1.mirrorca.example/log\n"
              << "  openssl ocsp -issuer " << Folder(1) << "/ca/ca.pem -cert " << bad1 << " -url " << va_
              << "/ocsp -CAfile " << chain << "   (while `mirrorca hq serve --config " << dir_
              << "/hq.toml` runs)\n";
    return 0;
  }

 private:
  void Step(const std::string& what) { std::cout << "\n[" << ++step_ << "] " << what << "\n"; }
  void Say(const std::string& what) { std::cout << "    " << what << "\n"; }
  int Fail(const std::string& why) {
    std::cerr << "demo failed: " << why << "\n";
    return 1;
  }

  bool Serve(std::vector<std::string> args, const std::string& log, const std::string& ready) {
    args.insert(args.begin(), self_);
    pid_t pid = Spawn(args, dir_ + "/" + log);
    if (pid < 0 || !WaitFor(dir_ + "/" + log, ready, pid)) {
      Fail(args[1] + " did not start: " + ReadAll(dir_ + "/" + log));
      return false;
    }
    servers_.push_back(pid);
    return true;
  }

  bool Cmd(const std::vector<std::string>& args, const std::string& log) {
    auto [rc, out] = Run(args, dir_ + "/" + log);
    std::string last = out;
    while (!last.empty() && last.back() == '\n') last.pop_back();
    last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
    Say(last.size() > 240 ? last.substr(0, 240) + "…" : last);
    if (rc != 0) Fail(args[1] + " exited " + std::to_string(rc));
    return rc == 0;
  }

  // The quickstart layout of factory k (F1 keeps the one-factory names).
  static std::string Name(int k) { return "F" + std::to_string(k); }
  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  static std::string Suffixed(const std::string& base, int k) {
    return k == 1 ? base : base + "-f" + std::to_string(k);
  }
  std::string Folder(int k) const { return dir_ + "/" + Suffixed("factory", k); }
  std::string Config(int k) const { return Folder(k) + ".toml"; }
  std::string Prefix(int k) const { return k == 1 ? "DEMO" : Name(k) + "-DEMO"; }
  std::string Device(int k, int i) const {
    char n[16];
    std::snprintf(n, sizeof(n), "%04d", i);
    return dir_ + "/certs/" + Prefix(k) + "-" + n + ".pem";
  }
  static std::string Stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

  Status MakeCsrs(int k, int n) {
    const std::string csrs = dir_ + "/csrs" + (k == 1 ? "" : "-" + Name(k));
    std::filesystem::create_directories(csrs);
    for (int i = 1; i <= n; ++i) {
      ASSIGN_OR_RETURN(ca::EvpPkeyPtr key, ca::GenerateKey(ca::KeyType::kP256));
      ca::X509ReqPtr req(X509_REQ_new());
      if (!req || X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
          X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
        return ca::OpenSslError("CSR");
      }
      ASSIGN_OR_RETURN(std::string pem, ca::RequestPem(req.get()));
      char name[32];
      std::snprintf(name, sizeof(name), "-%04d.csr", i);
      RETURN_IF_ERROR(Env::Default()->WriteFileAtomic(csrs + "/" + Prefix(k) + name, pem, 0644));
    }
    return Status::Ok();
  }

  std::string SerialHex(const std::string& pem_file) {
    Result<std::string> pem = Env::Default()->ReadFile(pem_file, 1 << 20);
    if (!pem.ok()) return "";
    Result<ca::X509Ptr> cert = ca::ParseCertificate(*pem);
    return cert.ok() ? HexEncode(ca::SerialBytes(cert->get())) : "";
  }

  std::string dir_;
  std::string self_;
  std::string va_;
  int step_ = 0;
  std::vector<pid_t> servers_;
};

}  // namespace

int RunFullDemo(const std::string& dir_arg, int devices, int factories, const DemoKeys& keys) {
  std::string dir = dir_arg;
  if (dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mirrorca-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "demo failed: mkdtemp\n";
      return 2;
    }
    dir = tmpl;
  }
  Demo demo(dir);
  return demo.Main(devices, factories, keys);
}

}  // namespace mirrorca::cli
