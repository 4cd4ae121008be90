// The HTTP API and /metrics (README.md, "HTTP API and metrics"). Runs on the engine's event
// loop, so it reads and controls the engine without locks; every socket operation is
// asynchronous with a deadline, so a slow or hostile client never holds up mining.
#pragma once

#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "dagminer/daemon/config.hpp"
#include "dagminer/daemon/engine.hpp"

namespace dagminer {

class ApiServer {
 public:
  ApiServer(boost::asio::io_context& io, Engine& engine, ApiConfig config);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Listens, unless the configuration turns the API off. When the address cannot be had (in
  // use, say) the error is logged and the daemon mines on without the API.
  void start();
  // Closes the listener and every connection.
  void stop();
  // Applies a reloaded configuration: a new token takes effect at once; a new address, or one
  // that could not be had before, (re)starts the listener. A new port that cannot be had
  // leaves the API listening where it was.
  void reconfigure(const ApiConfig& config);
  std::uint16_t port() const noexcept;  // bound port; 0 when not listening

  struct State;

 private:
  // Opens, binds and listens on the configuration's address; null (the reason logged) when it cannot.
  std::shared_ptr<boost::asio::ip::tcp::acceptor> listen(const ApiConfig& config);
  void serve(std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor);  // accepts on it from now on

  boost::asio::io_context& io_;
  Engine& engine_;
  std::shared_ptr<State> state_;  // shared with the connections, which may outlive a stop
};

}  // namespace dagminer
