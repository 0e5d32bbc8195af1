// decode_dump / decode_events: observe()'s and the event socket's parsers on
// real kernel messages (fuzz/corpus/netlink/, captured by
// fuzz/capture_netlink.sh in a lab namespace) and on broken ones.
#include <doctest/doctest.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "reconcile/nl/decode.hpp"

using namespace netlab;
using reconcile::nl::decode_dump;
using reconcile::nl::decode_events;

namespace {

std::string seed(const std::string& name) {
    std::ifstream in(std::string(NETLAB_SOURCE_DIR) + "/fuzz/corpus/netlink/" + name, std::ios::binary);
    REQUIRE(in);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A netlink message of `type` with `header` and raw attribute bytes.
template <class Header>
std::string message(std::uint16_t type, const Header& header, const std::string& attrs) {
    std::string body(reinterpret_cast<const char*>(&header), sizeof header);
    body.resize(NLMSG_ALIGN(body.size()));
    body += attrs;
    nlmsghdr h{};
    h.nlmsg_len = static_cast<std::uint32_t>(NLMSG_HDRLEN + body.size());
    h.nlmsg_type = type;
    return std::string(reinterpret_cast<const char*>(&h), sizeof h) + body;
}

// One attribute; `len` overrides its declared payload length.
std::string attr(std::uint16_t type, const std::string& payload, int len = -1) {
    nlattr a{};
    a.nla_type = type;
    a.nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + (len < 0 ? payload.size() : static_cast<std::size_t>(len)));
    std::string out(reinterpret_cast<const char*>(&a), sizeof a);
    out += payload;
    out.resize(NLA_ALIGN(out.size()));
    return out;
}

}  // namespace

TEST_CASE("decode_dump: a captured dump gives the lab's links, addresses and routes") {
    model::NetnsState s = decode_dump(seed("dump-all"));
    REQUIRE(s.links.count("br0"));
    const auto& br0 = s.links.at("br0");
    CHECK(br0.kind == "bridge");
    CHECK(br0.stp == true);
    CHECK(br0.alias == "netlab:fuzz seed");
    CHECK(s.links.at("v1").master == "br0");
    CHECK(s.links.at("v1").parent == "v0");
    CHECK(s.links.at("mv0").kind == "macvlan");
    CHECK(s.links.at("mv0").parent == "v0");
    bool addr = false, multipath = false, deflt = false;
    for (const auto& a : s.addresses) addr = addr || (a.dev == "br0" && a.prefix.str() == "198.51.100.10/24");
    for (const auto& r : s.routes) {
        if (r.dst.str() == "203.0.113.128/25")
            multipath = r.dev == "br0" && r.via && r.via->str() == "198.51.100.2" && r.metric == 5;
        if (r.dst.str() == "0.0.0.0/0") deflt = r.dev == "br0" && r.via && r.via->str() == "198.51.100.1";
    }
    CHECK(addr);
    CHECK(multipath);  // the first hop of a multipath route
    CHECK(deflt);
}

TEST_CASE("decode_events: captured events name links learnt on the way, renames included") {
    reconcile::KernelEvents ev = decode_events({{std::nullopt, seed("events-all")}});
    REQUIRE(!ev.events.empty());
    bool renamed = false, deleted_addr = false;
    for (const auto& e : ev.events) {
        if (e.object == reconcile::KernelEvent::Object::Link && e.link.name == "mv1") renamed = renamed || e.renamed_from == "mv0";
        if (e.object == reconcile::KernelEvent::Object::Address && e.op == reconcile::KernelEvent::Op::Del)
            deleted_addr = deleted_addr || e.address.prefix.str() == "198.51.100.11/24";
    }
    CHECK(renamed);
    CHECK(deleted_addr);
    // The same datagram tagged with an nsid: another namespace's events.
    reconcile::KernelEvents peer = decode_events({{7, seed("events-all")}});
    CHECK(peer.events.empty());
    CHECK(peer.peers.size() == ev.events.size());
}

TEST_CASE("decode: broken messages are skipped or read within their bounds") {
    ifinfomsg ifi{};
    ifi.ifi_index = 3;
    // A link message too short for its ifinfomsg.
    std::string shortmsg = message(RTM_NEWLINK, ifi, "").substr(0, NLMSG_HDRLEN + 4);
    reinterpret_cast<nlmsghdr*>(shortmsg.data())->nlmsg_len = static_cast<std::uint32_t>(shortmsg.size());
    CHECK(decode_dump(shortmsg).links.empty());
    CHECK(decode_events({{std::nullopt, shortmsg}}).events.empty());
    // An unterminated name and a 2-byte MTU: the name stops at the
    // attribute's end, the MTU is not read.
    std::string odd = message(RTM_NEWLINK, ifi, attr(IFLA_IFNAME, "abcd") + attr(IFLA_MTU, "\x01\x02"));
    model::NetnsState s = decode_dump(odd);
    REQUIRE(s.links.count("abcd"));
    CHECK(s.links.at("abcd").mtu == 0);
    // A multipath hop that claims more than its attribute holds.
    rtmsg rtm{};
    rtm.rtm_family = AF_INET;
    rtm.rtm_table = RT_TABLE_MAIN;
    rtm.rtm_type = RTN_UNICAST;
    rtnexthop nh{};
    nh.rtnh_len = 200;
    nh.rtnh_ifindex = 3;
    std::string hop(reinterpret_cast<const char*>(&nh), sizeof nh);
    std::string route = message(RTM_NEWROUTE, rtm, attr(RTA_MULTIPATH, hop + attr(RTA_GATEWAY, "\xc6\x33\x64\x01")));
    s = decode_dump(odd + route);
    REQUIRE(s.routes.size() == 1);
    CHECK(s.routes.begin()->dev == "abcd");
    CHECK(s.routes.begin()->via->str() == "198.51.100.1");
    CHECK(decode_events({{std::nullopt, odd + route}}).events.size() == 2);
}
