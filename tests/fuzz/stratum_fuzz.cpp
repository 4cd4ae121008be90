// libFuzzer target: the stratum line framing and message decoding, i.e. everything a pool's bytes
// reach before the client acts on them. Decoders may only throw ProtocolError; any other exception,
// crash or sanitizer report is a bug. What the client writes must decode back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dagminer/stratum/protocol.hpp"

namespace {

using namespace dagminer::stratum;

template <class F>
void attempt(F f) {
  try {
    f();
  } catch (const ProtocolError&) {
  }
}

// Boost.JSON reads numbers too large for a double as infinity but writes that as "Infinity",
// which is not JSON: such values cannot round-trip, and the client never echoes them (ids aside,
// which response_line writes as null).
bool writable(const boost::json::value& v) {
  boost::system::error_code ec;
  (void)boost::json::parse(boost::json::serialize(v), ec);
  return !ec;
}

void decode_line(const std::string& text) {
  attempt([&] { (void)decode_pushed_work(text); });  // a getwork node's --miner.notify body
  Message m;
  try {
    m = decode_message(text);
  } catch (const ProtocolError&) {
    return;
  }
  (void)m.numeric_id();
  attempt([&] { (void)decode_es1_subscribe_result(m.result); });
  attempt([&] { (void)decode_es1_notify(m.params); });
  attempt([&] { (void)decode_es1_difficulty(m.params); });
  attempt([&] { (void)decode_es1_extranonce(m.params); });
  if (looks_like_ethproxy_work(m.result)) attempt([&] { (void)decode_ethproxy_work(m.result); });
  attempt([&] { (void)decode_ethproxy_work(m.params); });
  attempt([&] { (void)decode_es2_set(m.params); });
  attempt([&] { (void)decode_es2_notify(m.params); });
  attempt([&] { (void)decode_reconnect(m.params); });
  (void)decode_error(m.result);
  (void)decode_error(m.params);

  // Round trips: a request or response built from what was read decodes back unchanged.
  for (dagminer::PoolProtocol d : {dagminer::PoolProtocol::ethproxy, dagminer::PoolProtocol::ethereum_stratum_1,
                                   dagminer::PoolProtocol::ethereum_stratum_2}) {
    if (!m.method.empty() && writable(m.params)) {
      const Message again = decode_message(request_line(d, 7, m.method, m.params));
      if (again.method != m.method || again.numeric_id() != 7u) __builtin_trap();
    }
    const Message reply = decode_message(response_line(d, m.id, nullptr, RpcError{1, "x"}));  // any id can be answered
    (void)reply;
    if (m.error && writable(m.result)) {
      const Message again = decode_message(response_line(d, 7, m.result, m.error));
      if (!again.error || again.error->code != m.error->code || again.error->message != m.error->message) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The stream arrives in reads of varying size; a small line limit reaches the over-long path.
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t chunk = size ? 1 + data[size - 1] % 64 : 1;
  LineFramer framer(4096);
  for (std::size_t pos = 0; pos < input.size(); pos += chunk) {
    framer.append(input.substr(pos, chunk));
    while (auto event = framer.next())
      if (event->kind == LineFramer::Event::line) decode_line(event->text);
  }
  return 0;
}
