// The DNS probe's query and the reading of the answer's header.
#include <doctest/doctest.h>

#include "netlabd/probe_dns.hpp"

using namespace netlab::daemon;

TEST_CASE("dns probe: the query is RFC 1035's wire format") {
    auto q = dns_query(0x1234, "example.org");
    const std::vector<std::uint8_t> want = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                            7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
                                            0, 1, 0, 1};
    CHECK(q == want);
    CHECK(dns_query(0x1234, "example.org.") == want);
    auto root = dns_query(1, ".");
    CHECK(root.size() == 17);
    CHECK(root[12] == 0);
    CHECK(root[14] == 2);  // NS
}

TEST_CASE("dns probe: only a response to our id counts, with its rcode") {
    std::vector<std::uint8_t> r = {0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0};
    CHECK(dns_rcode(r.data(), r.size(), 0x1234) == 3);
    CHECK(!dns_rcode(r.data(), r.size(), 0x1235));
    CHECK(!dns_rcode(r.data(), 11, 0x1234));
    r[2] = 0x01;  // a query, not a response
    CHECK(!dns_rcode(r.data(), r.size(), 0x1234));
}
