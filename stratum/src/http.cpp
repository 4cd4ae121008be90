#include "http.hpp"

#include <sstream>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/evp.h>

namespace dagminer::stratum {
namespace http = boost::beast::http;

namespace {

template <class Message>
std::string to_wire(Message& message) {
  message.prepare_payload();
  std::ostringstream out;
  out << message;
  return std::move(out).str();
}

}  // namespace

std::string serialize(HttpRequest message) { return to_wire(message); }
std::string serialize(HttpResponse message) { return to_wire(message); }

std::string basic_authorization(std::string_view user_password) {
  std::string encoded(4 * ((user_password.size() + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                      reinterpret_cast<const unsigned char*>(user_password.data()), static_cast<int>(user_password.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

HttpRequest json_post(std::string_view host, std::string_view path, std::string_view basic_auth, std::string body) {
  HttpRequest request{http::verb::post, std::string(path), 11};
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "dagminer");
  request.set(http::field::content_type, "application/json");
  request.set(http::field::accept, "application/json");
  if (!basic_auth.empty()) request.set(http::field::authorization, basic_authorization(basic_auth));
  request.keep_alive(true);
  request.body() = std::move(body);
  return request;
}

HttpResponse json_response(unsigned status, std::string body, bool keep_alive) {
  HttpResponse response{static_cast<http::status>(status), 11};
  response.set(http::field::server, "dagminer");
  response.set(http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = std::move(body);
  return response;
}

}  // namespace dagminer::stratum
