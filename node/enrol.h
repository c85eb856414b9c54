// A node's certificate: first enrolment with the hub, and renewal before it expires.
//
// Enrolment (daiban-node init --enrol-code): the node makes its own EC key, sends a CSR
// with the hub's one-time code to the hub's /enrol over HTTPS (checking the hub against
// the city CA the operator gave it), and stores DATA/tls/node.key (mode 600), node.crt
// and ca.crt. Renewal (the sync loop, before each round): when less than a third of the
// certificate's life is left, the node makes a new key and CSR, signs the CSR with its
// current key, and posts both with its current certificate to its parent's /renew over
// its existing mutual-TLS link; parents relay it up to the hub, which alone signs.
#ifndef DAIBAN_NODE_ENROL_H_
#define DAIBAN_NODE_ENROL_H_

#include <string>
#include <vector>

#include "common/json.h"
#include "common/pki.h"
#include "common/tls.h"

namespace daiban::node {

// Enrols with the hub at `hub_url` (https://host:port of its sync listener). `ca_path`
// is the city CA certificate. Writes `tls` files and the city's data key (which the hub
// hands over with the certificate) to `data_key_path`, mode 600; returns the
// certificate's contents.
// Errors: the hub's answer (code not recognised, used or expired; CSR for another node),
// kUnavailable if the hub cannot be reached or its certificate does not verify.
common::Result<common::CertInfo> EnrolWithHub(const std::string& hub_url, const std::string& ca_path,
                                              const std::string& code, const std::string& node_id,
                                              const std::vector<std::string>& hosts, const common::TlsFiles& tls,
                                              const std::string& data_key_path);

// Renews the certificate in `tls` through `parent_url` if less than a third of its life
// is left at `now_s` (or `force`). Returns true if it renewed. The new key and
// certificate replace the old ones only after the new certificate checks out.
common::Result<bool> RenewIfDue(const std::string& parent_url, const common::TlsFiles& tls, int64_t now_s,
                                bool force = false);

}  // namespace daiban::node

#endif  // DAIBAN_NODE_ENROL_H_
