// libFuzzer target: raw rtnetlink bytes -> kernel state and events, through
// the parsers observe() and the event socket use (reconcile/nl/decode.hpp).
// The input is what the kernel would send: messages one after another, as a
// dump's answers and as one event datagram, from this namespace and from a
// peer's (nsid-tagged).
#include <cstddef>
#include <cstdint>
#include <string>

#include "reconcile/nl/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace netlab::reconcile::nl;
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    netlab::model::NetnsState state = decode_dump(bytes);
    (void)state;
    netlab::reconcile::KernelEvents events = decode_events({{std::nullopt, bytes}, {7, bytes}});
    (void)events;
    return 0;
}
