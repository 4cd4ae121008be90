// The simulator's TLS: a server context from PEM files, and the certificate's fingerprint for
// clients that pin it.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace dagminer::stratum {

struct ServerTls {
  std::shared_ptr<boost::asio::ssl::context> context;  // null: plain TCP
  std::string fingerprint;                             // SHA-256 of the certificate, hex
};

// Plain TCP when both paths are empty; throws std::runtime_error when only one is given or the
// files cannot be used.
ServerTls make_server_tls(const std::string& cert_file, const std::string& key_file);

}  // namespace dagminer::stratum
