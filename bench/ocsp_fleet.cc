// ocsp_fleet: a device fleet for the OCSP benchmark (bench/run_ocsp_bench.sh)
// without issuing a million certificates one CSR at a time — the way
// `crl_bench --prepare` builds its logs.
//
//   ocsp_fleet FACTORY_TOML BATCH COUNT RESPONDER_PEM RESPONDER_KEY OUT_DIR [--no-cfssl]
//
// Appends COUNT certificateIssued events (serials bench::BenchSerial(i),
// device serials FLEET-0000000…, under the factory's current issuing CA, in
// BATCH, which HQ must already have authorized and delivered) to the
// factory's own log, signed with the factory's log key, exactly as the
// factory CA records an issuance — except that no certificate is built: the
// events carry no certificate bytes (OCSP needs the CA and the serial; HQ's
// projection reads nothing else). Stop `factory serve` first.
//
// Then it writes, in OUT_DIR, what the three responders and the load driver
// need for the same fleet:
//   requests.der     COUNT OCSP requests (SHA-1 CertID, no nonce), each
//                    request_size bytes long, in serial order
//   request_size     that length
//   revoke.txt       every tenth serial (i % 10 == 4), hex: the recall
//   index.txt        `openssl ocsp -index`'s database (those revoked)
//   cfssl.responses  `cfssl ocspserve -responses`: one base64 response per
//                    certificate, signed ahead by the same delegated
//                    responder key (two threads)
// and prints one JSON line with the time each part took.
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/env.h"
#include "base/status_macros.h"
#include "bench/bench_serials.h"
#include "ca/certificate.h"
#include "ca/der_parts.h"
#include "cli/config.h"
#include "crypto/sha256.h"
#include "log/event_draft.h"
#include "log/local_log.h"

namespace mirrorca {
namespace {

using cli::FactoryConfig;
using cli::LoadFactoryConfig;

constexpr int64_t kMicros = 1'000'000;
constexpr uint64_t kEventsPerAppend = 16384;

int Fail(const std::string& what) {
  std::fprintf(stderr, "ocsp_fleet: %s\n", what.c_str());
  return 1;
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool Revoked(uint64_t i) { return i % 10 == 4; }

using CertIdPtr = ca::OpenSslPtr<OCSP_CERTID, OCSP_CERTID_free>;

CertIdPtr CertIdOf(X509* issuer, const Bytes& serial) {
  ca::BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  ca::Asn1IntegerPtr number(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  return CertIdPtr(OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer),
                                    number.get()));
}

std::string AsnTime(int64_t t) {
  char s[32];
  std::time_t tt = t;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(s, sizeof(s), "%y%m%d%H%M%SZ", &tm);
  return s;
}

// The factory's log gains COUNT issuances in BATCH.
Status AppendIssuances(const FactoryConfig& c, const Bytes& ca_id, const std::string& batch, uint64_t count,
                       int64_t now) {
  ASSIGN_OR_RETURN(log::LocalLog local, log::OpenLocalLog(Env::Default(), c.data_dir, /*with_key=*/true));
  for (uint64_t at = 0; at < count; at += kEventsPerAppend) {
    std::vector<log::EventDraft> drafts;
    for (uint64_t i = at; i < std::min(count, at + kEventsPerAppend); ++i) {
      log::EventDraft d;
      auto e = d.event().getKind().initCertificateIssued();
      const Bytes serial = bench::BenchSerial(i);
      char device[32];
      std::snprintf(device, sizeof(device), "FLEET-%07llu", static_cast<unsigned long long>(i));
      const crypto::Hash request = crypto::Sha256({AsBytes(std::string_view("request")), serial});
      const crypto::Hash key = crypto::Sha256({AsBytes(std::string_view("key")), serial});
      e.setCaId(capnp::Data::Reader(ca_id.data(), ca_id.size()));
      e.setSerial(capnp::Data::Reader(serial.data(), serial.size()));
      e.setDeviceSerial(device);
      e.setBatchId(batch);
      e.setProfile("idevid");
      e.setNotBefore(now * kMicros);
      e.setNotAfter((now + int64_t{86400} * 365 * 10) * kMicros);
      e.setRaId("ra-line1");
      e.setRequestHash(capnp::Data::Reader(request.data(), request.size()));
      e.setPublicKeyHash(capnp::Data::Reader(key.data(), key.size()));
      e.setProductionLine(c.production_line);
      drafts.push_back(std::move(d));
    }
    RETURN_IF_ERROR(local.log->Append(std::move(drafts)).status());
  }
  return Status::Ok();
}

Status WriteRequests(X509* issuer, uint64_t count, const std::string& out) {
  std::ofstream der(out + "/requests.der", std::ios::binary);
  size_t size = 0;
  for (uint64_t i = 0; i < count; ++i) {
    ca::OpenSslPtr<OCSP_REQUEST, OCSP_REQUEST_free> req(OCSP_REQUEST_new());
    CertIdPtr id = CertIdOf(issuer, bench::BenchSerial(i));
    if (!req || !id || OCSP_request_add0_id(req.get(), id.get()) == nullptr) return Status::Internal("OCSP request");
    id.release();  // owned by the request now
    const std::string bytes = ca::I2d(req.get(), i2d_OCSP_REQUEST);
    if (size == 0) size = bytes.size();
    if (bytes.size() != size) return Status::Internal("requests of different sizes");
    der << bytes;
  }
  std::ofstream(out + "/request_size") << size << "\n";
  return der.good() ? Status::Ok() : Status::IOError("writing requests.der");
}

Status WriteIndexAndRecall(uint64_t count, int64_t now, const std::string& out) {
  std::ofstream index(out + "/index.txt"), recall(out + "/revoke.txt");
  const std::string expires = AsnTime(now + int64_t{86400} * 365 * 10), at = AsnTime(now);
  for (uint64_t i = 0; i < count; ++i) {
    const std::string serial = HexEncode(bench::BenchSerial(i));
    std::string upper = serial;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    char device[32];
    std::snprintf(device, sizeof(device), "FLEET-%07llu", static_cast<unsigned long long>(i));
    if (Revoked(i)) {
      index << "R\t" << expires << "\t" << at << ",keyCompromise\t" << upper << "\tunknown\t/serialNumber=" << device
            << "\n";
      recall << serial << "\n";
    } else {
      index << "V\t" << expires << "\t\t" << upper << "\tunknown\t/serialNumber=" << device << "\n";
    }
  }
  return index.good() && recall.good() ? Status::Ok() : Status::IOError("writing index.txt / revoke.txt");
}

// cfssl's answers, signed ahead like ours: each thread signs every other
// serial into its own part, then the parts are joined.
Status WriteCfsslResponses(X509* issuer, X509* responder, EVP_PKEY* key, uint64_t count, int64_t now,
                           const std::string& out) {
  const unsigned threads = 2;
  std::vector<std::string> parts(threads);
  std::vector<char> failed(threads, 0);  // not vector<bool>: one per thread, written concurrently
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ca::Asn1TimePtr this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now)));
      ca::Asn1TimePtr next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now + 4 * 3600)));
      STACK_OF(X509)* certs = sk_X509_new_null();
      sk_X509_push(certs, responder);
      for (uint64_t i = t; i < count; i += threads) {
        ca::OpenSslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free> bs(OCSP_BASICRESP_new());
        CertIdPtr id = CertIdOf(issuer, bench::BenchSerial(i));
        const bool revoked = Revoked(i);
        if (!bs || !id ||
            OCSP_basic_add1_status(bs.get(), id.get(), revoked ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD,
                                   revoked ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
                                   revoked ? this_update.get() : nullptr, this_update.get(),
                                   next_update.get()) == nullptr ||
            OCSP_basic_sign(bs.get(), responder, key, EVP_sha256(), certs, OCSP_RESPID_KEY) != 1) {
          failed[t] = 1;
          break;
        }
        ca::OpenSslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free> resp(
            OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));
        const std::string der = resp ? ca::I2d(resp.get(), i2d_OCSP_RESPONSE) : std::string();
        if (der.empty()) {
          failed[t] = 1;
          break;
        }
        parts[t] += Base64Encode(AsBytes(der));
        parts[t] += '\n';
      }
      sk_X509_free(certs);
    });
  }
  for (auto& w : workers) w.join();
  for (unsigned t = 0; t < threads; ++t) {
    if (failed[t]) return Status::Internal("signing cfssl's responses");
  }
  std::ofstream file(out + "/cfssl.responses", std::ios::binary);
  for (const std::string& p : parts) file << p;
  return file.good() ? Status::Ok() : Status::IOError("writing cfssl.responses");
}

int Main(int argc, char** argv) {
  const bool cfssl = !(argc == 8 && std::string(argv[7]) == "--no-cfssl");
  if (argc != 7 && cfssl) {
    return Fail("usage: ocsp_fleet FACTORY_TOML BATCH COUNT RESPONDER_PEM RESPONDER_KEY OUT_DIR [--no-cfssl]");
  }
  Result<FactoryConfig> config = LoadFactoryConfig(argv[1]);
  if (!config.ok()) return Fail(config.status().ToString());
  const std::string batch = argv[2];
  const uint64_t count = std::strtoull(argv[3], nullptr, 10);
  const std::string out = argv[6];
  Result<ca::X509Ptr> issuer = ca::LoadCertificate(Env::Default(), config->ca_dir + "/ca.pem");
  Result<ca::X509Ptr> responder = ca::LoadCertificate(Env::Default(), argv[4]);
  if (!issuer.ok() || !responder.ok()) return Fail("cannot read the CA or responder certificate");
  FILE* kf = std::fopen(argv[5], "r");
  if (kf == nullptr) return Fail(std::string("cannot open ") + argv[5]);
  ca::EvpPkeyPtr key(PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr));
  std::fclose(kf);
  if (!key) return Fail("cannot read the responder key");
  Result<Bytes> ca_id = ca::CaId(issuer->get());
  if (!ca_id.ok()) return Fail(ca_id.status().ToString());
  const int64_t now = Env::Default()->NowMicros() / kMicros;

  nlohmann::json report{{"certificates", count}};
  auto t0 = std::chrono::steady_clock::now();
  if (Status s = AppendIssuances(*config, *ca_id, batch, count, now); !s.ok()) return Fail(s.ToString());
  report["append_s"] = SecondsSince(t0);
  t0 = std::chrono::steady_clock::now();
  if (Status s = WriteRequests(issuer->get(), count, out); !s.ok()) return Fail(s.ToString());
  if (Status s = WriteIndexAndRecall(count, now, out); !s.ok()) return Fail(s.ToString());
  report["requests_s"] = SecondsSince(t0);
  t0 = std::chrono::steady_clock::now();
  if (!cfssl) {
    std::cout << report.dump() << std::endl;
    return 0;
  }
  if (Status s = WriteCfsslResponses(issuer->get(), responder->get(), key.get(), count, now, out); !s.ok()) {
    return Fail(s.ToString());
  }
  report["cfssl_responses_s"] = SecondsSince(t0);
  std::cout << report.dump() << std::endl;
  return 0;
}

}  // namespace
}  // namespace mirrorca

int main(int argc, char** argv) { return mirrorca::Main(argc, argv); }
