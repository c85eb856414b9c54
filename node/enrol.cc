#include "node/enrol.h"

#include <httplib.h>

#include <filesystem>

#include "common/credential.h"
#include "common/field_crypto.h"
#include "node/files.h"

namespace daiban::node {

namespace {

// POSTs JSON to url+path with `client`; the answer's JSON, or the error it carries.
common::Result<common::Json> PostJson(httplib::Client& client, const std::string& url, const std::string& path,
                                      const common::Json& body) {
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(60, 0);
  auto res = client.Post(path, body.dump(), "application/json");
  if (!res) {
    return common::Unavailable("cannot reach " + url + ": " + httplib::to_string(res.error()) +
                               (res.error() == httplib::Error::SSLServerVerification
                                    ? " (its certificate is not from the city CA given, or not for this host)"
                                    : ""));
  }
  auto j = common::ParseJson(res->body);
  if (!j.ok() || !j->is_object()) {
    return common::Unavailable(url + path + " answered HTTP " + std::to_string(res->status) + " without JSON");
  }
  if (res->status != 200) {
    const common::Json& err = (*j)["error"];
    std::string message = err.is_object() ? err.value("message", "refused") : "refused";
    common::StatusCode code = err.is_object() ? common::StatusCodeFromName(err.value("code", "")) : common::StatusCode::kInternal;
    return common::Status(code, url + path + ": " + message);
  }
  return std::move(j).value();
}

// Stores a new key and certificate: the key first, so a crash between the two renames
// leaves a certificate that does not match the key, which the loaders detect and the
// next renewal (or a new enrolment) repairs.
common::Status Store(const common::TlsFiles& tls, const std::string& key_pem, const std::string& cert_pem) {
  DAIBAN_RETURN_IF_ERROR(WriteFileAtomic(tls.key, key_pem, 0600));
  return WriteFileAtomic(tls.cert, cert_pem, 0644);
}

}  // namespace

common::Result<common::CertInfo> EnrolWithHub(const std::string& hub_url, const std::string& ca_path,
                                              const std::string& code, const std::string& node_id,
                                              const std::vector<std::string>& hosts, const common::TlsFiles& tls,
                                              const std::string& data_key_path) {
  if (hub_url.rfind("https://", 0) != 0) return common::InvalidArgument("--hub-url: must start with https://");
  DAIBAN_ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(ca_path));
  DAIBAN_ASSIGN_OR_RETURN(std::string key, common::NewPrivateKeyPem());
  DAIBAN_ASSIGN_OR_RETURN(std::string csr, common::MakeCsrPem(key, node_id, hosts));
  auto client = common::MakeTlsClient(hub_url, {"", "", ca_path});
  DAIBAN_ASSIGN_OR_RETURN(common::Json answer, PostJson(*client, hub_url, "/enrol", {{"code", code}, {"csr", csr}}));
  std::string cert = answer.value("cert", "");
  auto info = common::VerifyNodeCert(ca_pem, cert, std::time(nullptr));
  if (!info.ok()) return common::DataLoss("the hub's certificate for this node does not verify: " + info.status().message());
  if (info->identity.node_id != node_id) {
    return common::DataLoss("the hub issued a certificate for " + info->identity.node_id + ", not " + node_id);
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(tls.cert).parent_path(), ec);
  std::string data_key = answer.value("data_key", "");
  if (data_key.rfind(common::kDataKeyMagic, 0) != 0) return common::DataLoss("the hub sent no data key with the certificate");
  DAIBAN_RETURN_IF_ERROR(WriteFileAtomic(tls.ca, ca_pem, 0644));
  DAIBAN_RETURN_IF_ERROR(WriteFileAtomic(data_key_path, data_key, 0600));
  DAIBAN_RETURN_IF_ERROR(Store(tls, key, cert));
  return info;
}

common::Result<bool> RenewIfDue(const std::string& parent_url, const common::TlsFiles& tls, int64_t now_s, bool force) {
  DAIBAN_ASSIGN_OR_RETURN(std::string cert, ReadFile(tls.cert));
  DAIBAN_ASSIGN_OR_RETURN(common::CertInfo info, common::ReadNodeCert(cert));
  int64_t life = info.not_after_s - info.not_before_s;
  if (!force && info.not_after_s - now_s > life / 3) return false;
  DAIBAN_ASSIGN_OR_RETURN(std::string old_key, ReadFile(tls.key));
  DAIBAN_ASSIGN_OR_RETURN(std::string key, common::NewPrivateKeyPem());
  DAIBAN_ASSIGN_OR_RETURN(std::string csr, common::MakeCsrPem(key, info.identity.node_id, info.hosts));
  DAIBAN_ASSIGN_OR_RETURN(std::string proof, common::SignWithKey(old_key, csr));
  auto client = common::MakeTlsClient(parent_url, tls);
  DAIBAN_ASSIGN_OR_RETURN(common::Json answer, PostJson(*client, parent_url, "/renew",
                                                        {{"cert", cert}, {"csr", csr}, {"proof", common::Base64UrlEncode(proof)}}));
  std::string fresh = answer.value("cert", "");
  DAIBAN_ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(tls.ca));
  auto next = common::VerifyNodeCert(ca_pem, fresh, now_s);
  if (!next.ok()) return common::DataLoss("the renewed certificate does not verify: " + next.status().message());
  if (next->identity.node_id != info.identity.node_id || next->identity.region != info.identity.region) {
    return common::DataLoss("the renewed certificate names another node");
  }
  DAIBAN_RETURN_IF_ERROR(Store(tls, key, fresh));
  return true;
}

}  // namespace daiban::node
