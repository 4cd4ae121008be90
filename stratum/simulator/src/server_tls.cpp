#include "server_tls.hpp"

#include <stdexcept>

#include "transport.hpp"

namespace dagminer::stratum {

ServerTls make_server_tls(const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() != key_file.empty()) throw std::runtime_error("TLS needs both a certificate and a key");
  if (cert_file.empty()) return {};
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) throw std::runtime_error("cannot use TLS certificate " + cert_file + ": " + ec.message());
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot use TLS key " + key_file + ": " + ec.message());
  return {std::move(context), certificate_fingerprint(cert_file)};
}

}  // namespace dagminer::stratum
