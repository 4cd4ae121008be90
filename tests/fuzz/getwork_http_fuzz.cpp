// libFuzzer target for the getwork client's HTTP framing: the bytes a node (or a proxy in front
// of it) answers with, and the bytes a node pushes to the notify listener, through HttpReader as
// the client runs it (its buffer, limits and end-of-stream handling over Beast's parsers). Fed in
// pieces whose size the first byte picks; the second byte's low bit picks responses or requests.
// Messages are read one after another, as on a kept-alive connection, until the bytes run out.
// Invariants: no crash, hang or sanitizer report; the reader throws only ProtocolError, or the
// end-of-stream system_error where the bytes end between messages; no body over the limit.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "http.hpp"

#ifdef BOOST_ENABLE_ASSERT_HANDLER
// The fuzz build keeps Boost's assertions. Beast 1.81 asserts `n >= 5` in basic_parser.ipp when
// a chunked body's last chunk comes in pieces with nothing before it: a false assertion, fixed in
// Boost 1.86 (boostorg/beast#2861), compiled out of release builds, and the code after it is
// right. That one is let through; any other assertion aborts.
namespace boost {
void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (std::string_view(expr) == "n >= 5" && std::string_view(file).ends_with("basic_parser.ipp")) return;
  std::fprintf(stderr, "%s:%ld: %s: Assertion '%s' failed\n", file, line, function, expr);
  std::abort();
}
void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion '%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}
}  // namespace boost
#endif

namespace {

namespace asio = boost::asio;
using namespace dagminer::stratum;

void check(bool holds) {
  if (!holds) __builtin_trap();
}

// The peer's bytes, `piece` at a time (TCP hands them over in any split), then the end of stream.
class Pieces {
 public:
  Pieces(std::string_view bytes, std::size_t piece) : bytes_(bytes), piece_(piece) {}
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer) {
    if (bytes_.empty()) throw boost::system::system_error(asio::error::eof);
    const std::size_t n = std::min({piece_, bytes_.size(), buffer.size()});
    std::memcpy(buffer.data(), bytes_.data(), n);
    bytes_.remove_prefix(n);
    co_return n;
  }
  bool empty() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
  std::size_t piece_;
};

asio::awaitable<void> read_all(Pieces& peer, bool responses) {
  HttpReader reader;
  try {
    for (;;) {
      if (responses) {
        const HttpResponse r = co_await reader.response(peer);
        check(r.body().size() <= max_http_body);
      } else {
        const std::optional<HttpRequest> r = co_await reader.request(peer);
        if (!r) {
          check(peer.empty());  // closed between messages
          co_return;
        }
        check(r->body().size() <= max_http_body);
      }
    }
  } catch (const ProtocolError&) {
  } catch (const boost::system::system_error& e) {
    check(e.code() == asio::error::eof && responses && peer.empty());  // no answer after the last
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t piece = 1 + data[0] % 64 * (data[0] >= 192 ? 256 : 1);  // 1..64 bytes, or up to 16 KB
  const bool responses = (data[1] & 1) == 0;
  Pieces peer(std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2), piece);
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, read_all(peer, responses), [&](std::exception_ptr e) { failure = e; });
  io.run();
  check(!failure);  // anything but the exceptions read_all expects
  return 0;
}
