#include "crypto/token_session.h"

#include <dlfcn.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include <condition_variable>
#include <cstring>
#include <map>
#include <vector>

#include "base/status_macros.h"
#include "crypto/key_open.h"

namespace mirrorca::crypto {
namespace {

std::string Rv(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT: return "wrong PIN (CKR_PIN_INCORRECT)";
    case CKR_PIN_LOCKED: return "the PIN is locked (CKR_PIN_LOCKED)";
    case CKR_PIN_LEN_RANGE: return "the PIN has the wrong length (CKR_PIN_LEN_RANGE)";
    case CKR_USER_NOT_LOGGED_IN: return "not logged in (CKR_USER_NOT_LOGGED_IN)";
    case CKR_TOKEN_NOT_PRESENT: return "no token (CKR_TOKEN_NOT_PRESENT)";
    case CKR_DEVICE_MEMORY: return "the token is full (CKR_DEVICE_MEMORY)";
    case CKR_MECHANISM_INVALID: return "the token lacks the mechanism (CKR_MECHANISM_INVALID)";
    case CKR_KEY_HANDLE_INVALID: return "the key is gone (CKR_KEY_HANDLE_INVALID)";
    default: break;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "CKR 0x%lx", static_cast<unsigned long>(rv));
  return buf;
}

Status P11Error(std::string_view what, CK_RV rv, StatusCode code = StatusCode::kInternal) {
  return Status(code, std::string(what) + ": " + Rv(rv));
}

// Module: one dlopen'ed, initialized PKCS#11 module, kept for the process
// (libp11's engine may share it: C_Initialize twice is accepted).
Result<CK_FUNCTION_LIST*> LoadModule(const std::string& path) {
  static std::mutex mu;
  static auto* modules = new std::map<std::string, CK_FUNCTION_LIST*>();
  std::lock_guard lock(mu);
  if (auto it = modules->find(path); it != modules->end()) return it->second;
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return Status::FailedPrecondition("load the PKCS#11 module " + path + ": " + ::dlerror());
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST* f = nullptr;
  if (get_list == nullptr || get_list(&f) != CKR_OK || f == nullptr) {
    return Status::FailedPrecondition(path + " is not a PKCS#11 module");
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = f->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return P11Error("initialize " + path, rv, StatusCode::kFailedPrecondition);
  }
  modules->emplace(path, f);
  return f;
}

// PaddedLabel: how a token label is stored (32 bytes, blank-padded).
std::string TrimLabel(const CK_UTF8CHAR* label, size_t n) {
  std::string s(reinterpret_cast<const char*>(label), n);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

Bytes DerOid(int nid) {
  ASN1_OBJECT* obj = OBJ_nid2obj(nid);
  const int n = i2d_ASN1_OBJECT(obj, nullptr);
  Bytes out(n > 0 ? static_cast<size_t>(n) : 0);
  unsigned char* p = out.data();
  if (n > 0) i2d_ASN1_OBJECT(obj, &p);
  return out;
}

// DerOctetString wraps `bytes` as the DER OCTET STRING PKCS#11 stores in
// CKA_EC_POINT.
Result<Bytes> DerOctetString(ByteSpan bytes) {
  std::unique_ptr<ASN1_OCTET_STRING, decltype(&ASN1_OCTET_STRING_free)> os(ASN1_OCTET_STRING_new(),
                                                                          ASN1_OCTET_STRING_free);
  if (!os || ASN1_OCTET_STRING_set(os.get(), bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return OpenSslError("encode an EC point");
  }
  const int n = i2d_ASN1_OCTET_STRING(os.get(), nullptr);
  Bytes out(static_cast<size_t>(n));
  unsigned char* p = out.data();
  i2d_ASN1_OCTET_STRING(os.get(), &p);
  return out;
}

template <typename T>
CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, T* value) {
  return CK_ATTRIBUTE{type, value, sizeof(T)};
}
CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, const std::string& s) {
  return CK_ATTRIBUTE{type, const_cast<char*>(s.data()), s.size()};
}
CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, const Bytes& b) {
  return CK_ATTRIBUTE{type, const_cast<uint8_t*>(b.data()), b.size()};
}

}  // namespace

struct TokenSession::Impl {
  CK_FUNCTION_LIST* f = nullptr;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;  // object management, under mu_
  CK_SLOT_ID slot = 0;
  KeyRef token;
  // Signing sessions: PKCS#11 sessions are single-threaded, so concurrent
  // signatures each take one (opened lazily, at most kMaxSigners; a login
  // holds for every session of the token).
  static constexpr size_t kMaxSigners = 8;
  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::vector<CK_SESSION_HANDLE> idle;
  size_t opened = 0;  // token, module and pin-source: the base of every KeyRef made here
  std::map<std::string, CK_OBJECT_HANDLE> handles;  // private keys by reference

  KeyRef RefFor(const std::string& label, const Bytes& id) const {
    KeyRef r = token;
    r.kind = KeyRef::Kind::kPkcs11;
    r.object = label;
    r.id = id;
    return r;
  }

  // Find returns the objects of `cls` matching the reference's label and id.
  Result<std::vector<CK_OBJECT_HANDLE>> Find(CK_OBJECT_CLASS cls, const std::string& label, const Bytes& id) {
    std::vector<CK_ATTRIBUTE> t{Attr(CKA_CLASS, &cls)};
    if (!label.empty()) t.push_back(Attr(CKA_LABEL, label));
    if (!id.empty()) t.push_back(Attr(CKA_ID, id));
    CK_RV rv = f->C_FindObjectsInit(session, t.data(), t.size());
    if (rv != CKR_OK) return P11Error("search the token", rv);
    std::vector<CK_OBJECT_HANDLE> found;
    CK_OBJECT_HANDLE h[16];
    CK_ULONG n = 0;
    while ((rv = f->C_FindObjects(session, h, 16, &n)) == CKR_OK && n > 0) found.insert(found.end(), h, h + n);
    f->C_FindObjectsFinal(session);
    if (rv != CKR_OK) return P11Error("search the token", rv);
    return found;
  }

  Result<CK_OBJECT_HANDLE> FindOne(CK_OBJECT_CLASS cls, const KeyRef& ref) {
    ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found, Find(cls, ref.object, ref.id));
    const char* what = cls == CKO_PRIVATE_KEY ? "private key" : "public key";
    if (found.empty()) return Status::NotFound(std::string("no ") + what + " " + ref.ToString() + " in the token");
    if (found.size() > 1) {
      return Status::FailedPrecondition(std::string("more than one ") + what + " matches " + ref.ToString());
    }
    return found.front();
  }

  Result<Bytes> Attribute(CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    CK_RV rv = f->C_GetAttributeValue(session, h, &a, 1);
    if (rv != CKR_OK) return P11Error("read a key attribute", rv);
    Bytes out(a.ulValueLen);
    a.pValue = out.data();
    rv = f->C_GetAttributeValue(session, h, &a, 1);
    if (rv != CKR_OK) return P11Error("read a key attribute", rv);
    return out;
  }

  Status RefuseExisting(const std::string& label) {
    ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> priv, Find(CKO_PRIVATE_KEY, label, {}));
    ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> pub, Find(CKO_PUBLIC_KEY, label, {}));
    if (!priv.empty() || !pub.empty()) {
      return Status::AlreadyExists("the token " + token.token + " already holds a key labelled " + label);
    }
    return Status::Ok();
  }
};

TokenSession::TokenSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// Sessions live as long as the process (Open keeps them): closing them from
// a static destructor could run after the module's own teardown.
TokenSession::~TokenSession() = default;

Result<std::shared_ptr<TokenSession>> TokenSession::Open(Env* env, const KeyRef& ref) {
  if (!ref.is_pkcs11() || ref.token.empty()) {
    return Status::InvalidArgument("a token reference needs pkcs11:token=<label>");
  }
  // One session per token, pin source and module for the process, kept
  // for its life: a PKCS#11 login is per application and token anyway.
  static std::mutex mu;
  static auto* open = new std::map<std::string, std::shared_ptr<TokenSession>>();
  const std::string module = ref.module_path.empty() ? kDefaultPkcs11Module : ref.module_path;
  const std::string key = module + "\n" + ref.token + "\n" + ref.pin_source;
  std::lock_guard lock(mu);
  if (auto it = open->find(key); it != open->end()) return it->second;
  ASSIGN_OR_RETURN(CK_FUNCTION_LIST * f, LoadModule(module));
  CK_ULONG count = 0;
  CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return P11Error("list the PKCS#11 slots", rv);
  std::vector<CK_SLOT_ID> slots(count);
  rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return P11Error("list the PKCS#11 slots", rv);
  slots.resize(count);
  std::optional<CK_SLOT_ID> slot;
  for (CK_SLOT_ID s : slots) {
    CK_TOKEN_INFO info;
    if (f->C_GetTokenInfo(s, &info) == CKR_OK && TrimLabel(info.label, sizeof(info.label)) == ref.token) {
      slot = s;
      break;
    }
  }
  if (!slot) return Status::NotFound("no PKCS#11 token labelled " + ref.token + " in " + module);
  std::string pin;  // read before a session exists, so a missing PIN leaves nothing open
  struct Wipe {
    std::string& s;
    ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
  } wipe{pin};  // on every path out
  if (!ref.pin_source.empty()) {
    ASSIGN_OR_RETURN(pin, ReadPin(env, ref));
  }
  auto impl = std::make_unique<Impl>();
  impl->f = f;
  impl->token = ref;
  impl->token.object.clear();
  impl->token.id.clear();
  impl->token.module_path = ref.module_path;
  impl->slot = *slot;
  rv = f->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &impl->session);
  if (rv != CKR_OK) return P11Error("open a session with token " + ref.token, rv);
  std::shared_ptr<TokenSession> session(new TokenSession(std::move(impl)));
  if (!ref.pin_source.empty()) {
    rv = f->C_Login(session->impl_->session, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
    OPENSSL_cleanse(pin.data(), pin.size());
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
      f->C_CloseSession(session->impl_->session);  // not kept: nothing else closes it
      session->impl_->session = CK_INVALID_HANDLE;
      return P11Error("log in to token " + ref.token, rv, StatusCode::kPermissionDenied);
    }
  }
  (*open)[key] = session;
  return session;
}

Result<KeyRef> TokenSession::Generate(TokenKeyType type, const std::string& label) {
  std::lock_guard lock(mu_);
  Impl& s = *impl_;
  RETURN_IF_ERROR(s.RefuseExisting(label));
  Bytes id(16);
  if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) return OpenSslError("make a key id");
  const bool ed = type == TokenKeyType::kEd25519;
  const Bytes params = DerOid(ed ? NID_ED25519 : type == TokenKeyType::kP256 ? NID_X9_62_prime256v1 : NID_secp384r1);
  CK_MECHANISM mech{ed ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE pub[] = {Attr(CKA_TOKEN, &yes), Attr(CKA_VERIFY, &yes), Attr(CKA_LABEL, label),
                        Attr(CKA_ID, id), Attr(CKA_EC_PARAMS, params)};
  CK_ATTRIBUTE priv[] = {Attr(CKA_TOKEN, &yes),     Attr(CKA_PRIVATE, &yes),  Attr(CKA_SENSITIVE, &yes),
                         Attr(CKA_EXTRACTABLE, &no), Attr(CKA_SIGN, &yes),     Attr(CKA_LABEL, label),
                         Attr(CKA_ID, id)};
  CK_OBJECT_HANDLE hpub, hpriv;
  CK_RV rv = s.f->C_GenerateKeyPair(s.session, &mech, pub, std::size(pub), priv, std::size(priv), &hpub, &hpriv);
  if (rv != CKR_OK) return P11Error("generate a key pair in token " + s.token.token, rv);
  return s.RefFor(label, id);
}

Result<KeyRef> TokenSession::Import(EVP_PKEY* key, const std::string& label) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    return Status::InvalidArgument("only P-256 and P-384 keys can be imported into a token");
  }
  char group[64] = {0};
  size_t group_len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &group_len) != 1) {
    return OpenSslError("read the key's curve");
  }
  const int nid = OBJ_sn2nid(group);
  if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1) {
    return Status::InvalidArgument(std::string("cannot import a key on curve ") + group);
  }
  const size_t scalar_len = nid == NID_secp384r1 ? 48 : 32;
  BIGNUM* d = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) return OpenSslError("read the private key");
  Bytes value(scalar_len);
  const int padded = BN_bn2binpad(d, value.data(), static_cast<int>(value.size()));
  BN_clear_free(d);
  auto wipe = [&] { OPENSSL_cleanse(value.data(), value.size()); };
  if (padded < 0) {
    wipe();
    return OpenSslError("encode the private key");
  }
  size_t point_len = 0;
  Bytes point(1 + 2 * scalar_len);
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(), &point_len) != 1) {
    wipe();
    return OpenSslError("read the public key");
  }
  point.resize(point_len);
  Result<Bytes> ec_point = DerOctetString(point);
  if (!ec_point.ok()) {
    wipe();
    return ec_point.status();
  }

  std::lock_guard lock(mu_);
  Impl& s = *impl_;
  if (Status st = s.RefuseExisting(label); !st.ok()) {
    wipe();
    return st;
  }
  Bytes id(16);
  if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) {
    wipe();
    return OpenSslError("make a key id");
  }
  const Bytes params = DerOid(nid);
  CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, pub_class = CKO_PUBLIC_KEY;
  CK_KEY_TYPE ec = CKK_EC;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE priv[] = {Attr(CKA_CLASS, &priv_class), Attr(CKA_KEY_TYPE, &ec),    Attr(CKA_TOKEN, &yes),
                         Attr(CKA_PRIVATE, &yes),      Attr(CKA_SENSITIVE, &yes), Attr(CKA_EXTRACTABLE, &no),
                         Attr(CKA_SIGN, &yes),         Attr(CKA_LABEL, label),    Attr(CKA_ID, id),
                         Attr(CKA_EC_PARAMS, params),  Attr(CKA_VALUE, value)};
  CK_ATTRIBUTE pub[] = {Attr(CKA_CLASS, &pub_class), Attr(CKA_KEY_TYPE, &ec), Attr(CKA_TOKEN, &yes),
                        Attr(CKA_VERIFY, &yes),      Attr(CKA_LABEL, label),  Attr(CKA_ID, id),
                        Attr(CKA_EC_PARAMS, params), Attr(CKA_EC_POINT, *ec_point)};
  CK_OBJECT_HANDLE hpriv, hpub;
  CK_RV rv = s.f->C_CreateObject(s.session, priv, std::size(priv), &hpriv);
  wipe();
  if (rv != CKR_OK) return P11Error("import a private key into token " + s.token.token, rv);
  rv = s.f->C_CreateObject(s.session, pub, std::size(pub), &hpub);
  if (rv != CKR_OK) {
    s.f->C_DestroyObject(s.session, hpriv);
    return P11Error("import a public key into token " + s.token.token, rv);
  }
  return s.RefFor(label, id);
}

Status TokenSession::Destroy(const KeyRef& ref) {
  std::lock_guard lock(mu_);
  Impl& s = *impl_;
  if (ref.object.empty() && ref.id.empty()) return Status::InvalidArgument("destroy needs an object or an id");
  s.handles.erase(ref.ToString());
  for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found, s.Find(cls, ref.object, ref.id));
    for (CK_OBJECT_HANDLE h : found) {
      CK_RV rv = s.f->C_DestroyObject(s.session, h);
      if (rv != CKR_OK) return P11Error("destroy a key in token " + s.token.token, rv);
    }
  }
  return Status::Ok();
}

Result<Bytes> TokenSession::Ed25519PublicKey(const KeyRef& ref) {
  std::lock_guard lock(mu_);
  Impl& s = *impl_;
  ASSIGN_OR_RETURN(CK_OBJECT_HANDLE h, s.FindOne(CKO_PUBLIC_KEY, ref));
  ASSIGN_OR_RETURN(Bytes point, s.Attribute(h, CKA_EC_POINT));
  if (point.size() == 32) return point;  // some tokens store the raw key
  const unsigned char* p = point.data();
  std::unique_ptr<ASN1_OCTET_STRING, decltype(&ASN1_OCTET_STRING_free)> os(
      d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(point.size())), ASN1_OCTET_STRING_free);
  if (!os || ASN1_STRING_length(os.get()) != 32) {
    return Status::InvalidArgument("the public key of " + ref.ToString() + " is not an Ed25519 key");
  }
  const unsigned char* data = ASN1_STRING_get0_data(os.get());
  return Bytes(data, data + 32);
}

Result<Bytes> TokenSession::SignEd25519(const KeyRef& ref, ByteSpan message) {
  Impl& s = *impl_;
  const std::string name = ref.ToString();
  // The key's handle (object handles hold in every session of the token).
  auto find = [&](bool refresh) -> Result<CK_OBJECT_HANDLE> {
    std::lock_guard lock(mu_);
    if (refresh) s.handles.erase(name);
    auto it = s.handles.find(name);
    if (it == s.handles.end()) {
      ASSIGN_OR_RETURN(CK_OBJECT_HANDLE h, s.FindOne(CKO_PRIVATE_KEY, ref));
      it = s.handles.emplace(name, h).first;
    }
    return it->second;
  };
  // A signing session of the pool.
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  {
    std::unique_lock lock(s.pool_mu);
    s.pool_cv.wait(lock, [&] { return !s.idle.empty() || s.opened < Impl::kMaxSigners; });
    if (!s.idle.empty()) {
      session = s.idle.back();
      s.idle.pop_back();
    } else {
      CK_RV rv = s.f->C_OpenSession(s.slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session);
      if (rv != CKR_OK) return P11Error("open a signing session with token " + s.token.token, rv);
      ++s.opened;
    }
  }
  auto give_back = [&] {
    std::lock_guard lock(s.pool_mu);
    s.idle.push_back(session);
    s.pool_cv.notify_one();
  };
  // A cached handle may be stale (the object was replaced): look it up again once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    Result<CK_OBJECT_HANDLE> handle = find(attempt > 0);
    if (!handle.ok()) {
      give_back();
      return handle.status();
    }
    CK_MECHANISM mech{CKM_EDDSA, nullptr, 0};
    CK_RV rv = s.f->C_SignInit(session, &mech, *handle);
    if ((rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID) && attempt == 0) continue;
    if (rv != CKR_OK) {
      give_back();
      return P11Error("start an Ed25519 signature with " + name, rv);
    }
    Bytes sig(64);
    CK_ULONG len = sig.size();
    rv = s.f->C_Sign(session, const_cast<uint8_t*>(message.data()), message.size(), sig.data(), &len);
    give_back();
    if (rv != CKR_OK || len != 64) return P11Error("sign with " + name, rv);
    return sig;
  }
  give_back();
  return Status::NotFound("no private key " + name + " in the token");
}

}  // namespace mirrorca::crypto
