// Raw rtnetlink bytes -> model values without a socket: the very parsers
// observe() and EventSocket::read() use, for the unit tests and the fuzzer.
// No libnl type appears here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/state.hpp"
#include "reconcile/watch/drift.hpp"

namespace netlab::reconcile::nl {

// A dump's answers (RTM_NEWLINK, RTM_NEWADDR and RTM_NEWROUTE messages one
// after another, in any order) as observe() turns them into a namespace's
// state: links first, then the addresses and routes naming them.
model::NetnsState decode_dump(std::string_view messages);

// One datagram read from the event socket: its messages, and the nsid the
// kernel tagged it with (another namespace's events), if any.
struct EventDatagram {
    std::optional<int> peer;
    std::string bytes;
};

// Datagrams in the order read, parsed as EventSocket::read() parses them
// (link names learnt from the link events on the way). A peer's link that
// no event named stays unnamed: nothing is asked of the kernel.
KernelEvents decode_events(const std::vector<EventDatagram>& datagrams);

}  // namespace netlab::reconcile::nl
