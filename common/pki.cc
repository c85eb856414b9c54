#include "common/pki.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <ctime>

namespace daiban::common {

namespace {

constexpr size_t kMaxPemBytes = 64 * 1024;

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using ReqPtr = std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)>;
using StorePtr = std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::shared_ptr<X509> OwnCert(X509* x) { return std::shared_ptr<X509>(x, X509_free); }
std::shared_ptr<EVP_PKEY> OwnKey(EVP_PKEY* k) { return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free); }

Result<BioPtr> ReadBio(std::string_view pem, std::string_view what) {
  if (pem.size() > kMaxPemBytes) return InvalidArgument(std::string(what) + ": over 64 KiB");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return Internal(std::string(what) + ": out of memory");
  return bio;
}

Result<std::shared_ptr<EVP_PKEY>> ReadKey(std::string_view pem, std::string_view what) {
  DAIBAN_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(pem, what));
  auto key = OwnKey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return InvalidArgument(std::string(what) + ": not a PEM private key");
  }
  return key;
}

Result<std::shared_ptr<X509>> ReadCert(std::string_view pem, std::string_view what) {
  DAIBAN_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(pem, what));
  auto cert = OwnCert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return InvalidArgument(std::string(what) + ": not a PEM certificate");
  }
  return cert;
}

Result<std::string> CertToPem(X509* x) {
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_X509(bio.get(), x) != 1) {
    ERR_clear_error();
    return Internal("certificate: OpenSSL could not write PEM");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// SHA-256 for EC/RSA keys; Ed25519 signs without a separate digest.
const EVP_MD* DigestFor(EVP_PKEY* key) { return EVP_PKEY_is_a(key, "ED25519") ? nullptr : EVP_sha256(); }

bool HostIsIp(std::string_view h) {
  unsigned char buf[16];
  std::string s(h);
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// Host names go into an OpenSSL config string, so only plain host characters are allowed.
Status CheckHost(std::string_view h) {
  if (h.empty() || h.size() > 253) return InvalidArgument("host: must be 1-253 characters");
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':';
    if (!ok) return InvalidArgument("host: '" + std::string(h.substr(0, 60)) + "' has a character other than letters, digits, . - :");
  }
  return Status::Ok();
}

std::string SanList(const std::vector<std::string>& hosts) {
  std::string out;
  for (const auto& h : hosts) {
    if (!out.empty()) out += ",";
    out += (HostIsIp(h) ? "IP:" : "DNS:") + h;
  }
  return out;
}

std::string Asn1Text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string CommonName(X509_NAME* name) {
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  return Asn1Text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
}

// DNS and IP names of a subjectAltName list, and its first urn:daiban:node: URI.
void ReadNames(const GENERAL_NAMES* names, std::vector<std::string>* hosts, std::string* node_uri) {
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type == GEN_DNS) {
      hosts->push_back(Asn1Text(g->d.dNSName));
    } else if (g->type == GEN_IPADD) {
      char buf[INET6_ADDRSTRLEN] = {0};
      int len = ASN1_STRING_length(g->d.iPAddress);
      const unsigned char* p = ASN1_STRING_get0_data(g->d.iPAddress);
      if (len == 4) inet_ntop(AF_INET, p, buf, sizeof buf);
      if (len == 16) inet_ntop(AF_INET6, p, buf, sizeof buf);
      if (buf[0]) hosts->push_back(buf);
    } else if (g->type == GEN_URI && node_uri && node_uri->empty()) {
      std::string uri = Asn1Text(g->d.uniformResourceIdentifier);
      if (uri.rfind(kNodeUriPrefix, 0) == 0) *node_uri = uri;
    }
  }
}

Result<int64_t> TimeOf(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return InvalidArgument("certificate: unreadable validity time");
  return static_cast<int64_t>(timegm(&tm));
}

Status AddExt(X509* x, X509V3_CTX* ctx, int nid, const std::string& value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()), X509_EXTENSION_free);
  if (!ext || X509_add_ext(x, ext.get(), -1) != 1) {
    ERR_clear_error();
    return Internal("certificate: OpenSSL could not add extension " + std::string(OBJ_nid2sn(nid)));
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> NewPrivateKeyPem() {
  auto key = OwnKey(EVP_EC_gen("P-256"));
  if (!key) {
    ERR_clear_error();
    return Internal("key: OpenSSL could not make an EC P-256 key");
  }
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return Internal("key: OpenSSL could not write PEM");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::string> MakeCsrPem(std::string_view key_pem, std::string_view node_id,
                               const std::vector<std::string>& hosts) {
  DAIBAN_ASSIGN_OR_RETURN(auto key, ReadKey(key_pem, "node key"));
  if (node_id.empty() || node_id.size() > 64) return InvalidArgument("csr: node id must be 1-64 characters");
  for (const auto& h : hosts) DAIBAN_RETURN_IF_ERROR(CheckHost(h));
  ReqPtr req(X509_REQ_new(), X509_REQ_free);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  std::string cn(node_id);
  bool ok = req && X509_REQ_set_version(req.get(), 0) == 1 &&
            X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) == 1 &&
            X509_REQ_set_pubkey(req.get(), key.get()) == 1;
  if (ok && !hosts.empty()) {
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, SanList(hosts).c_str());
    ok = exts && san && sk_X509_EXTENSION_push(exts, san) > 0 && X509_REQ_add_extensions(req.get(), exts) == 1;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
  ok = ok && X509_REQ_sign(req.get(), key.get(), DigestFor(key.get())) > 0;
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!ok || !bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    ERR_clear_error();
    return Internal("csr: OpenSSL could not make the request");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<CsrRequest> ReadCsr(std::string_view csr_pem) {
  DAIBAN_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(csr_pem, "csr"));
  ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr), X509_REQ_free);
  if (!req) {
    ERR_clear_error();
    return InvalidArgument("csr: not a PEM certificate request");
  }
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (!pub || X509_REQ_verify(req.get(), pub) != 1) {
    ERR_clear_error();
    return InvalidArgument("csr: its signature does not verify");
  }
  CsrRequest out;
  out.node_id = CommonName(X509_REQ_get_subject_name(req.get()));
  if (out.node_id.empty()) return InvalidArgument("csr: no common name (the node id)");
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req.get());
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    NamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)), GENERAL_NAMES_free);
    ReadNames(names.get(), &out.hosts, nullptr);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  for (const auto& h : out.hosts) DAIBAN_RETURN_IF_ERROR(CheckHost(h));
  return out;
}

Result<CertInfo> ReadNodeCert(X509* cert) {
  CertInfo info;
  NamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
                 GENERAL_NAMES_free);
  std::string uri;
  ReadNames(names.get(), &info.hosts, &uri);
  if (uri.empty()) return InvalidArgument("certificate: no Daiban node identity (urn:daiban:node:...)");
  // urn:daiban:node:<node_id>:<tier>:<region>
  std::string rest = uri.substr(kNodeUriPrefix.size());
  size_t a = rest.find(':'), b = rest.rfind(':');
  if (a == std::string::npos || b == a) return InvalidArgument("certificate: malformed node identity URI");
  info.identity.node_id = rest.substr(0, a);
  DAIBAN_ASSIGN_OR_RETURN(info.identity.tier, ParseTier(rest.substr(a + 1, b - a - 1)));
  info.identity.region = rest.substr(b + 1);
  if (info.identity.region.size() != 12 ||
      info.identity.region.find_first_not_of("0123456789") != std::string::npos || info.identity.node_id.empty()) {
    return InvalidArgument("certificate: malformed node identity URI");
  }
  int64_t serial = 0;
  if (ASN1_INTEGER_get_int64(&serial, X509_get0_serialNumber(cert)) != 1) {
    ERR_clear_error();
    serial = -1;  // not one of ours (a CLI-made certificate's random serial): never a registry serial
  }
  info.identity.serial = serial;
  DAIBAN_ASSIGN_OR_RETURN(info.not_before_s, TimeOf(X509_get0_notBefore(cert)));
  DAIBAN_ASSIGN_OR_RETURN(info.not_after_s, TimeOf(X509_get0_notAfter(cert)));
  info.identity.issued_ms = info.not_before_s * 1000;
  return info;
}

Result<CertInfo> ReadNodeCert(std::string_view cert_pem) {
  DAIBAN_ASSIGN_OR_RETURN(auto cert, ReadCert(cert_pem, "certificate"));
  return ReadNodeCert(cert.get());
}

Result<CertAuthority> CertAuthority::FromPem(std::string_view ca_cert_pem, std::string_view ca_key_pem) {
  CertAuthority ca;
  DAIBAN_ASSIGN_OR_RETURN(ca.ca_, ReadCert(ca_cert_pem, "CA certificate"));
  DAIBAN_ASSIGN_OR_RETURN(ca.key_, ReadKey(ca_key_pem, "CA key"));
  if (X509_check_private_key(ca.ca_.get(), ca.key_.get()) != 1) {
    ERR_clear_error();
    return InvalidArgument("CA key: does not match the CA certificate");
  }
  if (X509_check_ca(ca.ca_.get()) == 0) return InvalidArgument("CA certificate: not a CA (basicConstraints CA:TRUE)");
  ca.ca_pem_ = std::string(ca_cert_pem);
  return ca;
}

Result<std::string> CertAuthority::Issue(std::string_view csr_pem, const NodeCredential& who, int64_t not_before_s,
                                         int64_t not_after_s) const {
  if (!ca_) return FailedPrecondition("certificate authority: not loaded");
  DAIBAN_ASSIGN_OR_RETURN(CsrRequest want, ReadCsr(csr_pem));
  if (want.node_id != who.node_id) {
    return InvalidArgument("csr: asks for node '" + want.node_id.substr(0, 40) + "' but the enrolment is for '" +
                           who.node_id + "'");
  }
  if (who.region.size() != 12 || who.serial <= 0 || not_after_s <= not_before_s) {
    return InvalidArgument("certificate: bad region, serial or validity");
  }
  DAIBAN_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(csr_pem, "csr"));
  ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr), X509_REQ_free);
  if (!req) return InvalidArgument("csr: not a PEM certificate request");
  auto x = OwnCert(X509_new());
  X509_NAME* subject = X509_NAME_new();
  std::string cn = who.node_id;
  bool ok = x && subject && X509_set_version(x.get(), 2) == 1 &&
            ASN1_INTEGER_set_int64(X509_get_serialNumber(x.get()), who.serial) == 1 &&
            X509_set_issuer_name(x.get(), X509_get_subject_name(ca_.get())) == 1 &&
            X509_NAME_add_entry_by_NID(subject, NID_organizationName, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>("Daiban node"), -1, -1, 0) == 1 &&
            X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) == 1 &&
            X509_set_subject_name(x.get(), subject) == 1 &&
            ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(not_before_s)) != nullptr &&
            ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(not_after_s)) != nullptr &&
            X509_set_pubkey(x.get(), X509_REQ_get0_pubkey(req.get())) == 1;
  X509_NAME_free(subject);
  if (!ok) {
    ERR_clear_error();
    return Internal("certificate: OpenSSL could not build it");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca_.get(), x.get(), nullptr, nullptr, 0);
  std::string san = "URI:" + std::string(kNodeUriPrefix) + who.node_id + ":" + std::string(TierName(who.tier)) + ":" +
                    who.region;
  if (!want.hosts.empty()) san += "," + SanList(want.hosts);
  DAIBAN_RETURN_IF_ERROR(AddExt(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  DAIBAN_RETURN_IF_ERROR(AddExt(x.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyAgreement"));
  DAIBAN_RETURN_IF_ERROR(AddExt(x.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  DAIBAN_RETURN_IF_ERROR(AddExt(x.get(), &ctx, NID_subject_key_identifier, "hash"));
  DAIBAN_RETURN_IF_ERROR(AddExt(x.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  DAIBAN_RETURN_IF_ERROR(AddExt(x.get(), &ctx, NID_subject_alt_name, san));
  if (X509_sign(x.get(), key_.get(), DigestFor(key_.get())) <= 0) {
    ERR_clear_error();
    return Internal("certificate: OpenSSL could not sign it");
  }
  return CertToPem(x.get());
}

Result<CertInfo> VerifyNodeCert(std::string_view ca_pem, std::string_view cert_pem, int64_t now_s) {
  DAIBAN_ASSIGN_OR_RETURN(auto ca, ReadCert(ca_pem, "CA certificate"));
  DAIBAN_ASSIGN_OR_RETURN(auto cert, ReadCert(cert_pem, "certificate"));
  StorePtr store(X509_STORE_new(), X509_STORE_free);
  StoreCtxPtr ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    ERR_clear_error();
    return Internal("certificate: OpenSSL could not set up the check");
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), static_cast<time_t>(now_s));
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return PermissionDenied(std::string("certificate refused: ") + X509_verify_cert_error_string(err));
  }
  return ReadNodeCert(cert.get());
}

Result<std::string> SignWithKey(std::string_view key_pem, std::string_view data) {
  DAIBAN_ASSIGN_OR_RETURN(auto key, ReadKey(key_pem, "node key"));
  MdCtxPtr md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, DigestFor(key.get()), nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    ERR_clear_error();
    return Internal("signature: OpenSSL failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    ERR_clear_error();
    return Internal("signature: OpenSSL failed");
  }
  sig.resize(len);
  return sig;
}

bool VerifyWithCert(std::string_view cert_pem, std::string_view data, std::string_view sig) {
  auto cert = ReadCert(cert_pem, "certificate");
  if (!cert.ok()) return false;
  EVP_PKEY* pub = X509_get0_pubkey(cert->get());
  MdCtxPtr md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok = pub && md && EVP_DigestVerifyInit(md.get(), nullptr, DigestFor(pub), nullptr, pub) == 1 &&
            EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace daiban::common
