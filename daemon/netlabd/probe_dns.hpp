// The DNS probe's packets: a minimal query (RFC 1035, one question,
// recursion desired) and the reading of its answer's header. Pure bytes,
// no socket: the probe (probe.cpp) sends and receives them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace netlab::daemon {

// A query with id `id` for `name` (type A; "." asks the root for type NS).
std::vector<std::uint8_t> dns_query(std::uint16_t id, std::string_view name);

// The RCODE of a response to the query `id` (0 NOERROR, 2 SERVFAIL, 3
// NXDOMAIN, 5 REFUSED, ...); nullopt when `p` is not one.
std::optional<int> dns_rcode(const std::uint8_t* p, std::size_t n, std::uint16_t id);

}  // namespace netlab::daemon
