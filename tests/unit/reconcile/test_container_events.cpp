// drift_of() on a container's namespace: which events heard there through its
// nsid mean that something netlab manages is no longer as desired (and so
// mark the namespace dirty for the fast reload), and which are the kernel's
// follow-ups of an attach, foreign objects or netlab's own echo.
#include <doctest/doctest.h>

#include "lab.hpp"
#include "reconcile/plan/compile.hpp"
#include "reconcile/watch/dirty.hpp"
#include "reconcile/watch/drift.hpp"

using namespace netlab;
using namespace netlab::test;
using reconcile::KernelEvent;

namespace {

using Op = KernelEvent::Op;
constexpr std::uint8_t kKernel = 2;  // RTPROT_KERNEL
constexpr std::uint8_t kStatic = 4;  // RTPROT_STATIC
constexpr std::uint32_t kLocalTable = 255;

// c1 on br0 (a veth pair) with an IPv4 and an IPv6 address and its default
// route via 198.51.100.1; c6 on br0 with IPv6 only, default via 2001:db8::1.
model::Topology topology() {
    model::Topology t;
    model::Interface br;
    br.name = "br0";
    br.kind = model::InterfaceKind::Bridge;
    t.interfaces["br0"] = br;
    auto add = [&](const char* name, std::vector<model::Prefix> addresses, const char* gateway) {
        model::ContainerInterface i;
        i.name = "eth1";
        i.bridge = "br0";
        i.addresses = std::move(addresses);
        i.gateway = ip(gateway);
        model::Container c;
        c.name = name;
        c.netns = *model::NetnsTarget::parse(std::string("netns:") + name);
        c.interfaces["eth1"] = i;
        t.containers[name] = c;
    };
    add("c1", {pfx("198.51.100.31/24"), pfx("2001:db8::31/64")}, "198.51.100.1");
    add("c6", {pfx("2001:db8::36/64")}, "2001:db8::1");
    return t;
}

const reconcile::DesiredNs& desired(const char* container) {
    static const reconcile::Desired d = reconcile::compile(topology(), {});
    return d.namespaces.at(reconcile::container_ns(container));
}

KernelEvent link(Op op, const char* name, bool up, const char* master = "") {
    KernelEvent e;
    e.op = op;
    e.object = KernelEvent::Object::Link;
    e.link.name = name;
    e.link.up = up;
    e.link.master = master;
    return e;
}

KernelEvent address(Op op, const char* dev, const char* prefix) {
    KernelEvent e;
    e.op = op;
    e.object = KernelEvent::Object::Address;
    e.address = model::AddressState{dev, pfx(prefix), false};
    return e;
}

KernelEvent route(Op op, const char* dst, const char* via, const char* dev, std::uint8_t protocol,
                  std::uint32_t metric = 0, std::uint32_t table = model::kMainTable, std::uint8_t type = 1) {
    KernelEvent e;
    e.op = op;
    e.object = KernelEvent::Object::Route;
    const std::string d = dst;
    e.route.dst = d == "default" ? model::Prefix::default_route(via && std::string(via).find(':') != std::string::npos ? 6 : 4)
                                 : pfx(dst);
    if (via) e.route.via = ip(via);
    e.route.dev = dev;
    e.route.protocol = protocol;
    e.route.metric = metric;
    e.route.table = table;
    e.route.type = type;
    return e;
}

KernelEvent unnamed(KernelEvent e) {
    e.unnamed = true;
    if (e.object == KernelEvent::Object::Address) e.address.dev.clear();
    if (e.object == KernelEvent::Object::Route) e.route.dev.clear();
    return e;
}

KernelEvent with_mac(KernelEvent e, const char* container) {
    e.link.mac = *desired(container).links.at("eth1").mac;
    return e;
}

struct Case {
    const char* name;
    const char* container;
    KernelEvent event;
    const char* drift;  // "" : leaves everything netlab manages as desired
};

}  // namespace

TEST_CASE("drift_of: a container's follow-ups of an attach, foreign objects and echo are not drift") {
    const Case cases[] = {
        // IPv6 duplicate address detection: the address comes tentative, then
        // again when DAD ends; the link-local address and its routes follow.
        {"DAD ends on the owned IPv6 address", "c1", address(Op::New, "eth1", "2001:db8::31/64"), ""},
        {"link-local address appears", "c1", address(Op::New, "eth1", "fe80::4c2a:1ff:fe02:3/64"), ""},
        {"link-local address goes", "c1", address(Op::Del, "eth1", "fe80::4c2a:1ff:fe02:3/64"), ""},
        {"link-local prefix route", "c1", route(Op::New, "fe80::/64", nullptr, "eth1", kKernel, 256), ""},
        {"connected IPv6 prefix route", "c1", route(Op::New, "2001:db8::/64", nullptr, "eth1", kKernel, 256), ""},
        {"connected IPv4 prefix route", "c1", route(Op::New, "198.51.100.0/24", nullptr, "eth1", kKernel), ""},
        {"multicast route in the local table", "c1",
         route(Op::New, "ff00::/8", nullptr, "eth1", kKernel, 256, kLocalTable, 5 /* RTN_MULTICAST */), ""},
        {"local route of the address", "c1",
         route(Op::New, "198.51.100.31/32", nullptr, "eth1", kKernel, 0, kLocalTable, 2 /* RTN_LOCAL */), ""},
        // Carrier and operstate: the link stays up as netlab set it.
        {"carrier comes", "c1", with_mac(link(Op::New, "eth1", true), "c1"), ""},
        // netlab's own writes, heard after the job.
        {"echo: the owned IPv4 address", "c1", address(Op::New, "eth1", "198.51.100.31/24"), ""},
        {"echo: the default route", "c1", route(Op::New, "default", "198.51.100.1", "eth1", model::kRouteProtocol), ""},
        {"echo: the IPv6 default route (metric 1024)", "c6",
         route(Op::New, "default", "2001:db8::1", "eth1", model::kRouteProtocol, 1024), ""},
        // What netlab does not manage in the container.
        {"lo comes up", "c1", link(Op::New, "lo", true), ""},
        {"a foreign address on lo", "c1", address(Op::New, "lo", "203.0.113.99/32"), ""},
        {"a foreign route in another table", "c1",
         route(Op::New, "203.0.113.0/24", "198.51.100.1", "eth1", kStatic, 0, 100), ""},
        // A link the reader could not name, in events that are foreign
        // whatever it is called.
        {"unnamed link: link-local address", "c1", unnamed(address(Op::New, "eth1", "fe80::1/64")), ""},
        {"unnamed link: local-table route", "c1",
         unnamed(route(Op::New, "fe80::1/128", nullptr, "eth1", kKernel, 0, kLocalTable, 2)), ""},
        {"unnamed link: kernel prefix route", "c1", unnamed(route(Op::New, "fe80::/64", nullptr, "eth1", kKernel, 256)),
         ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CHECK(reconcile::drift_of(desired(c.container), c.event) == c.drift);
    }
}

TEST_CASE("drift_of: a change to what netlab manages in a container is drift") {
    const Case cases[] = {
        {"owned address deleted", "c1", address(Op::Del, "eth1", "198.51.100.31/24"),
         "eth1 address 198.51.100.31/24 deleted"},
        {"owned IPv6 address deleted", "c6", address(Op::Del, "eth1", "2001:db8::36/64"),
         "eth1 address 2001:db8::36/64 deleted"},
        {"foreign address on the managed link", "c1", address(Op::New, "eth1", "198.51.100.99/24"),
         "eth1 address 198.51.100.99/24 added"},
        {"link set down", "c1", with_mac(link(Op::New, "eth1", false), "c1"), "eth1 set down"},
        {"link deleted inside the container", "c1", link(Op::Del, "eth1", false), "eth1 deleted"},
        {"default route deleted", "c1", route(Op::Del, "default", "198.51.100.1", "eth1", model::kRouteProtocol),
         "route default via 198.51.100.1 dev eth1 deleted"},
        {"IPv6 default route deleted", "c6",
         route(Op::Del, "default", "2001:db8::1", "eth1", model::kRouteProtocol, 1024),
         "route default via 2001:db8::1 dev eth1 metric 1024 deleted"},
        {"default route replaced by another", "c1", route(Op::New, "default", "198.51.100.254", "eth1", kStatic),
         "route default via 198.51.100.254 dev eth1 proto 4 replaces the topology's"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CHECK(reconcile::drift_of(desired(c.container), c.event) == c.drift);
    }
    // An event about a link the reader could not name may be about eth1.
    CHECK_FALSE(reconcile::drift_of(desired("c1"), unnamed(address(Op::Del, "eth1", "198.51.100.31/24"))).empty());
    CHECK_FALSE(
        reconcile::drift_of(desired("c1"), unnamed(route(Op::Del, "default", "198.51.100.1", "eth1", model::kRouteProtocol)))
            .empty());
}

TEST_CASE("dirty: container events are judged: only drift marks, and only its namespace") {
    using reconcile::Baseline;
    using reconcile::DirtySet;
    const auto desired_all = std::make_shared<const reconcile::Desired>(reconcile::compile(topology(), {}));
    const std::string input = "bytes";
    const std::map<std::string, std::string> targets = {{"c1", "inode 1"}, {"c6", "inode 2"}};
    auto base = [&] { return Baseline{input, targets, {{3, "container:c1"}, {7, "container:c6"}}, desired_all}; };

    SUBCASE("after the job") {
        DirtySet d;
        d.job_started();
        d.clean(base(), {"", "container:c1", "container:c6"});
        d.event(3, address(Op::New, "eth1", "fe80::1/64"));
        d.event(3, address(Op::New, "eth1", "2001:db8::31/64"));
        d.event(7, route(Op::New, "fe80::/64", nullptr, "eth1", kKernel, 256));
        d.event(7, unnamed(address(Op::New, "eth1", "fe80::2/64")));
        d.event(std::nullopt, address(Op::New, "br0", "fe80::3/64"));
        CHECK(d.dirty().empty());
        CHECK_FALSE(d.why_full(input, targets).has_value());
        CHECK(d.events_as_desired() == 5);

        d.event(7, address(Op::Del, "eth1", "2001:db8::36/64"));
        REQUIRE(d.dirty().size() == 1);
        CHECK(d.dirty().at("container:c6") == "eth1 address 2001:db8::36/64 deleted");
        auto why = d.why_full(input, targets);
        REQUIRE(why.has_value());
        CHECK(why->find("container:c6 (eth1 address 2001:db8::36/64 deleted)") != std::string::npos);
        CHECK(d.events_drift() == 1);
    }

    SUBCASE("in a job: judged against the desired state before it, marked where the plan did not write") {
        DirtySet d;
        d.job_started();
        d.clean(base(), {});
        d.job_started();
        d.event(3, address(Op::New, "eth1", "fe80::1/64"));      // c1: not written, as desired
        d.event(7, address(Op::Del, "eth1", "2001:db8::36/64")); // c6: not written, drift
        d.event(3, address(Op::Del, "eth1", "198.51.100.31/24"));  // c1 written below? no: drift
        d.clean(base(), {"container:c1"});
        CHECK(d.dirty().size() == 1);
        REQUIRE(d.dirty().contains("container:c6"));
        CHECK(d.dirty().at("container:c6").find("during the last job") != std::string::npos);
    }

    SUBCASE("the first job: its events are judged against the desired state after it") {
        DirtySet d;
        d.job_started();
        d.event(3, address(Op::New, "eth1", "fe80::1/64"));
        d.event(7, address(Op::Del, "eth1", "2001:db8::36/64"));
        d.event(99, address(Op::Del, "eth1", "2001:db8::36/64"));  // not ours
        d.clean(base(), {"", "container:c1"});
        CHECK(d.dirty().size() == 1);
        CHECK(d.dirty().contains("container:c6"));
    }

    SUBCASE("a job that changed a namespace's desired state without writing there: its events count") {
        DirtySet d;
        d.job_started();
        d.clean(base(), {});
        d.job_started();
        d.event(3, address(Op::New, "eth1", "fe80::1/64"));
        model::Topology t = topology();
        t.containers["c1"].interfaces["eth1"].addresses = {pfx("198.51.100.41/24")};
        Baseline after = base();
        after.desired = std::make_shared<const reconcile::Desired>(reconcile::compile(t, {}));
        d.clean(after, {});
        CHECK(d.dirty().contains("container:c1"));
        CHECK_FALSE(d.dirty().contains("container:c6"));
    }

    SUBCASE("no desired state for a namespace: every event counts") {
        DirtySet d;
        d.job_started();
        Baseline b = base();
        b.nsids[9] = "container:gone";
        d.clean(b, {});
        d.event(9, address(Op::New, "eth1", "fe80::1/64"));
        CHECK(d.dirty().contains("container:gone"));
    }
}
