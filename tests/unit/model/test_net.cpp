// Parsing and printing of IP addresses, prefixes and MACs.
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "model/net.hpp"
#include "model/topology.hpp"

using namespace netlab::model;

TEST_CASE("IpAddress::parse") {
    struct Row { const char* text; int family; const char* printed; };
    const Row rows[] = {
        {"198.51.100.7", 4, "198.51.100.7"},
        {"0.0.0.0", 4, "0.0.0.0"},
        {"2001:db8::1", 6, "2001:db8::1"},
        {"2001:DB8:0:0::1", 6, "2001:db8::1"},
        {"::", 6, "::"},
        {"fe80::1", 6, "fe80::1"},
        {"198.51.100.256", 0, nullptr},
        {"198.51.100", 0, nullptr},
        {"198.51.100.7/24", 0, nullptr},
        {"", 0, nullptr},
        {"abc", 0, nullptr},
        {"2001:db8::1::2", 0, nullptr},
        {" 198.51.100.7", 0, nullptr},
    };
    for (const auto& r : rows) {
        CAPTURE(r.text);
        auto ip = IpAddress::parse(r.text);
        if (!r.family) {
            CHECK(!ip);
            continue;
        }
        REQUIRE(ip);
        CHECK(ip->family == r.family);
        CHECK(ip->str() == r.printed);
    }
}

TEST_CASE("Prefix::parse, network, broadcast, contains") {
    struct Row { const char* text; bool bare; const char* printed; const char* network; const char* broadcast; };
    const Row rows[] = {
        {"198.51.100.10/24", false, "198.51.100.10/24", "198.51.100.0/24", "198.51.100.255"},
        {"198.51.100.10/30", false, "198.51.100.10/30", "198.51.100.8/30", "198.51.100.11"},
        {"198.51.100.10/31", false, "198.51.100.10/31", "198.51.100.10/31", nullptr},
        {"198.51.100.10/32", false, "198.51.100.10/32", "198.51.100.10/32", nullptr},
        {"0.0.0.0/0", false, "0.0.0.0/0", "0.0.0.0/0", "255.255.255.255"},
        {"2001:db8::10/64", false, "2001:db8::10/64", "2001:db8::/64", nullptr},
        {"198.51.100.250", true, "198.51.100.250/32", "198.51.100.250/32", nullptr},
        {"2001:db8::250", true, "2001:db8::250/128", "2001:db8::250/128", nullptr},
        {"198.51.100.250", false, nullptr, nullptr, nullptr},
        {"198.51.100.10/33", false, nullptr, nullptr, nullptr},
        {"2001:db8::/129", false, nullptr, nullptr, nullptr},
        {"198.51.100.10/", false, nullptr, nullptr, nullptr},
        {"198.51.100.10/2a", false, nullptr, nullptr, nullptr},
        {"198.51.100.10/-1", false, nullptr, nullptr, nullptr},
        {"/24", false, nullptr, nullptr, nullptr},
    };
    for (const auto& r : rows) {
        CAPTURE(r.text);
        auto p = Prefix::parse(r.text, r.bare);
        if (!r.printed) {
            CHECK(!p);
            continue;
        }
        REQUIRE(p);
        CHECK(p->str() == r.printed);
        CHECK(p->network().str() == r.network);
        auto b = p->broadcast();
        if (r.broadcast) {
            REQUIRE(b);
            CHECK(b->str() == r.broadcast);
        } else
            CHECK(!b);
    }
    auto lan = *Prefix::parse("198.51.100.0/24");
    CHECK(lan.contains(*IpAddress::parse("198.51.100.1")));
    CHECK(!lan.contains(*IpAddress::parse("203.0.113.1")));
    CHECK(!lan.contains(*IpAddress::parse("2001:db8::1")));
    CHECK(lan.overlaps(*Prefix::parse("198.51.100.128/25")));
    CHECK(!lan.overlaps(*Prefix::parse("203.0.113.0/24")));
}

TEST_CASE("MacAddress::parse") {
    struct Row { const char* text; const char* printed; bool multicast; bool local; };
    const Row rows[] = {
        {"02:42:c6:33:64:0b", "02:42:c6:33:64:0b", false, true},
        {"02-42-C6-33-64-0B", "02:42:c6:33:64:0b", false, true},
        {"00:0c:29:aa:bb:cc", "00:0c:29:aa:bb:cc", false, false},
        {"01:00:5e:00:00:01", "01:00:5e:00:00:01", true, false},
        {"03:00:00:00:00:01", "03:00:00:00:00:01", true, true},
        {"02:42:zz:33:64:0b", nullptr, false, false},
        {"02:42:c6:33:64", nullptr, false, false},
        {"02:42:c6:33:64:0b:00", nullptr, false, false},
        {"0242.c633.640b", nullptr, false, false},
        {"02:42:c6:33:64:+b", nullptr, false, false},
        {"", nullptr, false, false},
    };
    for (const auto& r : rows) {
        CAPTURE(r.text);
        auto m = MacAddress::parse(r.text);
        if (!r.printed) {
            CHECK(!m);
            continue;
        }
        REQUIRE(m);
        CHECK(m->str() == r.printed);
        CHECK(m->is_multicast() == r.multicast);
        CHECK(m->is_locally_administered() == r.local);
    }
}

TEST_CASE("NetnsTarget::parse") {
    struct Row { const char* text; bool ok; const char* printed; };
    const Row rows[] = {
        {"docker:test1", true, "docker:test1"}, {"netns:test2", true, "netns:test2"},
        {"pid:1234", true, "pid:1234"},          {"path:/proc/1/ns/net", true, "path:/proc/1/ns/net"},
        {"pid:12a", false, nullptr},             {"path:proc/1", false, nullptr},
        {"test1", false, nullptr},               {"docker:", false, nullptr},
        {"lxc:x", false, nullptr},
    };
    for (const auto& r : rows) {
        CAPTURE(r.text);
        auto t = NetnsTarget::parse(r.text);
        CHECK(bool(t) == r.ok);
        if (t && r.printed) CHECK(t->str() == r.printed);
    }
}
