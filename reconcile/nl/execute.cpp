// execute(): the netlink request(s) of one Step.
//
// Links are built as raw RTM_NEWLINK/RTM_DELLINK messages: libnl's link
// objects cannot carry IFLA_BR_STP_STATE, nor IFLA_NET_NS_FD on a veth peer,
// and a request that names the link by IFLA_IFNAME needs no ifindex lookup.
// Addresses and routes go through libnl's rtnl_addr/rtnl_route builders.
// Every request is sent and acked through Impl::write(), which counts it and
// keeps the kernel's own errno — or, under execute_steps(), queued
// (reconcile/nl/pipeline.cpp).
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <map>
#include <set>

#include <netlink/attr.h>

#include "reconcile/nl/error.hpp"
#include "reconcile/nl/impl.hpp"

namespace netlab::reconcile::nl {

namespace {

std::string who(const NsId& ns, const std::string& name) {
    return ns.empty() ? name : ns + "/" + name;
}

std::uint32_t macvlan_mode(model::MacvlanMode m) {
    switch (m) {
        case model::MacvlanMode::Private: return MACVLAN_MODE_PRIVATE;
        case model::MacvlanMode::Vepa: return MACVLAN_MODE_VEPA;
        case model::MacvlanMode::Passthru: return MACVLAN_MODE_PASSTHRU;
        case model::MacvlanMode::Bridge: break;
    }
    return MACVLAN_MODE_BRIDGE;
}

MsgPtr newlink(int flags, const std::string& name, unsigned ifi_flags, unsigned ifi_change) {
    MsgPtr msg(nlmsg_alloc_simple(RTM_NEWLINK, flags));
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_flags = ifi_flags;
    ifi.ifi_change = ifi_change;
    nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO);
    nla_put_string(msg.get(), IFLA_IFNAME, name.c_str());
    return msg;
}

NlAddrPtr to_nl(const model::IpAddress& ip, int prefixlen) {
    NlAddrPtr a(nl_addr_build(ip.is_v4() ? AF_INET : AF_INET6, ip.bytes.data(), ip.size()));
    if (a) nl_addr_set_prefixlen(a.get(), prefixlen);
    return a;
}

void set_ifname_alias(NlKernel::Impl& k, Netns& ns, const std::string& name, const std::string& alias,
                      std::optional<std::uint32_t> mtu = std::nullopt) {
    MsgPtr msg = newlink(0, name, 0, 0);
    nla_put_string(msg.get(), IFLA_IFALIAS, alias.c_str());
    if (mtu) nla_put_u32(msg.get(), IFLA_MTU, *mtu);
    k.write_or_throw(ns, msg.get(), who(ns.id, name), "set alias " + alias);
}

MsgPtr set_group_request(const std::string& name, std::uint32_t group) {
    MsgPtr msg = newlink(0, name, 0, 0);
    nla_put_u32(msg.get(), IFLA_GROUP, group);
    return msg;
}

}  // namespace

// One RTM_DELLINK with IFLA_GROUP (and neither index nor name) deletes every
// link of the namespace in that group as one batch: the kernel waits in
// rcu_barrier() once, not once per link. The group is only netlab's for the
// moment of the request, so it is checked twice: before the members join it
// (no other link may be in it) and right before the delete (a link that
// joined meanwhile would go too). Either refusal puts the members' groups
// back and deletes nothing.
void NlKernel::Impl::delete_group(const Step& step) {
    Netns& ns = get(step.ns);
    const std::string obj = step.ns.empty() ? "host" : step.ns;
    const std::string g = std::to_string(step.group);
    const std::string action = "delete group " + g;
    if (step.group == 0) throw NlError(EINVAL, obj, action, "group 0 is every link's default");
    const std::set<std::string> members(step.members.begin(), step.members.end());
    auto outsider = [&](const std::vector<RawLink>& links) -> std::string {
        for (const auto& l : links)
            if (l.state.group == step.group && !members.count(l.state.name)) return l.state.name;
        return "";
    };
    std::map<std::string, std::uint32_t> joined;  // member -> the group it had
    std::vector<RawLink> links = dump_links(ns);
    if (std::string o = outsider(links); !o.empty())
        throw NlError(EBUSY, obj, action, o + ", which is not to be deleted, is in group " + g + "; nothing was deleted");
    std::map<std::string, std::uint32_t> present;
    for (const auto& l : links)
        if (members.count(l.state.name)) present[l.state.name] = l.state.group;
    if (present.empty()) return;  // all gone already
    auto put_back = [&] {
        std::vector<MsgPtr> back;
        for (const auto& [name, old] : joined) back.push_back(set_group_request(name, old));
        write_batch(ns, back);  // best effort: the refusal is what counts
    };
    // The members join the group in one batch of requests (one sendmsg()
    // per 64 KiB, then the acks), not one round trip each.
    std::vector<std::string> names;
    std::vector<MsgPtr> join;
    for (const auto& [name, old] : present) {
        if (old == step.group) continue;
        names.push_back(name);
        join.push_back(set_group_request(name, step.group));
    }
    const std::vector<int> answers = write_batch(ns, join);
    std::string refused;
    int refusal = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (answers[i] == 0) joined[names[i]] = present.at(names[i]);
        else if (answers[i] != ENODEV && !refusal) refusal = answers[i], refused = names[i];  // ENODEV: gone meanwhile
    }
    if (refusal) {
        const std::string extack = ns.last_extack;
        put_back();
        throw NlError(refusal, who(step.ns, refused), "set group " + g, {}, extack);
    }
    if (std::string o = outsider(dump_links(ns)); !o.empty()) {
        put_back();
        throw NlError(EBUSY, obj, action,
                      o + ", which is not to be deleted, joined group " + g + "; nothing was deleted");
    }
    MsgPtr msg(nlmsg_alloc_simple(RTM_DELLINK, 0));
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO);
    nla_put_u32(msg.get(), IFLA_GROUP, step.group);
    forget_indexes();
    int e = write(ns, msg.get());
    if (e == 0 || e == ENODEV) return;  // ENODEV: no link left in the group
    const std::string extack = ns.last_extack;
    put_back();
    throw NlError(e, obj, action, {}, extack);
}

void NlKernel::Impl::execute(const Step& step) {
    const LinkSpec& l = step.link;
    switch (step.op) {
        case Step::Op::CreateLink: {
            // A container's macvlan is created from the socket of its parent's
            // namespace, straight into the container (IFLA_NET_NS_FD): nothing
            // is moved afterwards.
            const bool remote = l.kind == LinkKind::Macvlan && l.parent_ns != step.ns;
            Netns& target = get(step.ns);
            Netns& sender = remote ? get(l.parent_ns) : target;
            const std::string obj = who(step.ns, l.name);
            const std::string kind(to_string(l.kind));
            const std::string action = "create " + kind;
            unsigned flags = 0, change = 0;
            if (l.up) {
                change |= IFF_UP;
                if (*l.up) flags |= IFF_UP;
            }
            if (l.promisc) {
                change |= IFF_PROMISC;
                if (*l.promisc) flags |= IFF_PROMISC;
            }
            const bool pin_mtu = l.mtu && l.kind == LinkKind::Bridge;
            auto build = [&]() -> MsgPtr {
                MsgPtr msg = newlink(NLM_F_CREATE | NLM_F_EXCL, l.name, flags, change);
                nl_msg* m = msg.get();
                // A bridge's MTU given at creation is not "set by the user": the
                // bridge lowers/raises it to its ports' as they join. Set it with
                // the follow-up change below, which pins it.
                if (l.mtu && !pin_mtu) nla_put_u32(m, IFLA_MTU, *l.mtu);
                std::optional<model::MacAddress> mac = l.mac;
                if (!mac && l.mac_from) {
                    auto src = get_link(target, *l.mac_from);
                    if (!src) throw NlError(ENODEV, obj, action, "MAC source " + *l.mac_from + " does not exist");
                    mac = src->state.mac;
                }
                if (mac) nla_put(m, IFLA_ADDRESS, 6, mac->bytes.data());
                if (l.group) nla_put_u32(m, IFLA_GROUP, *l.group);
                if (l.master && !l.master->empty())
                    nla_put_u32(m, IFLA_MASTER, ifindex(target, *l.master, obj, action));
                if (remote) {
                    nla_put_u32(m, IFLA_LINK, ifindex(sender, l.parent, obj, action));
                    nla_put_u32(m, IFLA_NET_NS_FD, ns_fd(step.ns));
                } else if (l.kind == LinkKind::Macvlan) {
                    nla_put_u32(m, IFLA_LINK, ifindex(target, l.parent, obj, action));
                }
                nlattr* info = nla_nest_start(m, IFLA_LINKINFO);
                nla_put_string(m, IFLA_INFO_KIND, kind.c_str());
                if (l.kind == LinkKind::Bridge && l.stp) {
                    nlattr* data = nla_nest_start(m, IFLA_INFO_DATA);
                    nla_put_u32(m, IFLA_BR_STP_STATE, *l.stp ? 1 : 0);
                    nla_nest_end(m, data);
                } else if (l.kind == LinkKind::Macvlan) {
                    nlattr* data = nla_nest_start(m, IFLA_INFO_DATA);
                    nla_put_u32(m, IFLA_MACVLAN_MODE, macvlan_mode(l.mode));
                    nla_nest_end(m, data);
                } else if (l.kind == LinkKind::Veth) {
                    // The peer goes straight into its namespace (no move, no
                    // rcu_barrier wait). It is never created up: kernel 6.18
                    // answers ENOTCONN; its own SetLink brings it up.
                    nlattr* data = nla_nest_start(m, IFLA_INFO_DATA);
                    nlattr* peer = nla_nest_start(m, VETH_INFO_PEER);
                    ifinfomsg pifi{};
                    pifi.ifi_family = AF_UNSPEC;
                    nlmsg_append(m, &pifi, sizeof pifi, NLMSG_ALIGNTO);
                    nla_put_string(m, IFLA_IFNAME, l.peer_name.c_str());
                    if (l.peer_ns != step.ns) nla_put_u32(m, IFLA_NET_NS_FD, ns_fd(l.peer_ns));
                    nla_nest_end(m, peer);
                    nla_nest_end(m, data);
                }
                nla_nest_end(m, info);
                return msg;
            };
            // The request changes the peer's (or the remote macvlan's) namespace too.
            const NsId* reaches = remote ? &step.ns : l.kind == LinkKind::Veth ? &l.peer_ns : nullptr;
            write_built(sender, build, obj, action, {}, reaches);
            target.index.erase(l.name);
            if (pipeline) {
                // Queued, not sent: its echo will give the new link's ifindex
                // (a veth's host end names its peer's too).
                Pipeline::Request& r = pipeline->queues[sender.id].requests.back();
                nlmsg_hdr(r.msg.get())->nlmsg_flags |= NLM_F_ECHO;
                r.learn_own = !remote;
                r.own_ns = step.ns;
                r.own_name = l.name;
                r.learn_peer = l.kind == LinkKind::Veth && !l.peer_name.empty();
                r.peer_ns = l.peer_ns;
                r.peer_name = l.peer_name;
            }
            if (l.kind == LinkKind::Veth) get(l.peer_ns).index.erase(l.peer_name);
            // The kernel ignores IFLA_IFALIAS in a create: mark ownership with
            // a follow-up change, on both ends of a veth.
            set_ifname_alias(*this, target, l.name, std::string(model::kOwnedAliasPrefix) + kind,
                             pin_mtu ? l.mtu : std::nullopt);
            if (l.kind == LinkKind::Veth && !l.peer_name.empty())
                set_ifname_alias(*this, get(l.peer_ns), l.peer_name,
                                 std::string(model::kOwnedAliasPrefix) + "veth-peer");
            return;
        }
        case Step::Op::DeleteLink: {
            Netns& ns = get(step.ns);
            MsgPtr msg(nlmsg_alloc_simple(RTM_DELLINK, 0));
            ifinfomsg ifi{};
            ifi.ifi_family = AF_UNSPEC;
            nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO);
            nla_put_string(msg.get(), IFLA_IFNAME, l.name.c_str());
            forget_indexes();  // the link, and a veth's other end wherever it is
            write_or_throw(ns, msg.get(), who(step.ns, l.name), "delete", {ENODEV});
            return;
        }
        case Step::Op::DeleteGroup:
            delete_group(step);
            return;
        case Step::Op::SetLink: {
            Netns& ns = get(step.ns);
            const std::string obj = who(step.ns, l.name);
            std::string action;
            auto build = [&]() -> MsgPtr {
                action.clear();
                auto say = [&](const std::string& s) { action += (action.empty() ? "" : ", ") + s; };
                unsigned flags = 0, change = 0;
                if (l.up) {
                    change |= IFF_UP;
                    if (*l.up) flags |= IFF_UP;
                    say(*l.up ? "up" : "down");
                }
                if (l.promisc) {
                    change |= IFF_PROMISC;
                    if (*l.promisc) flags |= IFF_PROMISC;
                    say(*l.promisc ? "promisc on" : "promisc off");
                }
                MsgPtr msg = newlink(0, l.name, flags, change);
                nl_msg* m = msg.get();
                if (l.mtu) {
                    nla_put_u32(m, IFLA_MTU, *l.mtu);
                    say("mtu " + std::to_string(*l.mtu));
                }
                std::optional<model::MacAddress> mac = l.mac;
                if (!mac && l.mac_from) {
                    auto src = get_link(ns, *l.mac_from);
                    if (!src) throw NlError(ENODEV, obj, "take MAC of " + *l.mac_from, "no such device");
                    mac = src->state.mac;
                }
                if (mac) {
                    nla_put(m, IFLA_ADDRESS, 6, mac->bytes.data());
                    say("address " + mac->str());
                }
                if (l.group) {
                    nla_put_u32(m, IFLA_GROUP, *l.group);
                    say("group " + std::to_string(*l.group));
                }
                if (l.master) {
                    if (l.master->empty()) {
                        nla_put_u32(m, IFLA_MASTER, 0);
                        say("nomaster");
                    } else {
                        say("enslave to " + *l.master);
                        nla_put_u32(m, IFLA_MASTER, ifindex(ns, *l.master, obj, action));
                    }
                }
                if (l.promote_secondaries) {
                    // sysctl net.ipv4.conf.NAME.promote_secondaries, by netlink:
                    // IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { [id] = u32 } } }.
                    nlattr* af = nla_nest_start(m, IFLA_AF_SPEC);
                    nlattr* inet = nla_nest_start(m, AF_INET);
                    nlattr* conf = nla_nest_start(m, IFLA_INET_CONF);
                    nla_put_u32(m, IPV4_DEVCONF_PROMOTE_SECONDARIES, *l.promote_secondaries ? 1 : 0);
                    nla_nest_end(m, conf);
                    nla_nest_end(m, inet);
                    nla_nest_end(m, af);
                    say(*l.promote_secondaries ? "promote_secondaries on" : "promote_secondaries off");
                }
                if (l.stp) {
                    nlattr* info = nla_nest_start(m, IFLA_LINKINFO);
                    nla_put_string(m, IFLA_INFO_KIND, "bridge");
                    nlattr* data = nla_nest_start(m, IFLA_INFO_DATA);
                    nla_put_u32(m, IFLA_BR_STP_STATE, *l.stp ? 1 : 0);
                    nla_nest_end(m, data);
                    nla_nest_end(m, info);
                    say(*l.stp ? "stp on" : "stp off");
                }
                if (action.empty()) action = "set";
                return msg;
            };
            write_built(ns, build, obj, action);  // read after build() ran
            return;
        }
        case Step::Op::AddAddress:
        case Step::Op::DelAddress: {
            Netns& ns = get(step.ns);
            const bool add = step.op == Step::Op::AddAddress;
            const auto& a = step.address;
            const std::string obj = who(step.ns, a.dev);
            const std::string action = (add ? "add address " : "delete address ") + a.prefix.str();
            auto build = [&]() -> MsgPtr {
                auto dev = find_index(ns, a.dev);
                if (!dev) {
                    if (!add) return nullptr;  // the device is gone, and its addresses with it
                    throw NlError(ENODEV, obj, action);
                }
                AddrPtr addr(rtnl_addr_alloc());
                NlAddrPtr local = to_nl(a.prefix.addr, a.prefix.len);
                rtnl_addr_set_ifindex(addr.get(), *dev);
                rtnl_addr_set_family(addr.get(), a.prefix.addr.is_v4() ? AF_INET : AF_INET6);
                rtnl_addr_set_local(addr.get(), local.get());
                rtnl_addr_set_prefixlen(addr.get(), a.prefix.len);
                NlAddrPtr brd;
                if (add) {
                    const auto& at = a.attrs;
                    if (at.broadcast) {
                        brd = to_nl(*at.broadcast, 32);
                        rtnl_addr_set_broadcast(addr.get(), brd.get());
                    }
                    if (!at.label.empty() && a.prefix.addr.is_v4()) rtnl_addr_set_label(addr.get(), at.label.c_str());
                    if (at.flags) rtnl_addr_set_flags(addr.get(), at.flags);
                    if (at.scope) rtnl_addr_set_scope(addr.get(), at.scope);
                    if (at.leased()) {
                        rtnl_addr_set_valid_lifetime(addr.get(), at.valid_lft);
                        rtnl_addr_set_preferred_lifetime(addr.get(), at.preferred_lft);
                    }
                }
                nl_msg* raw = nullptr;
                int err = add ? rtnl_addr_build_add_request(addr.get(), NLM_F_EXCL, &raw)
                              : rtnl_addr_build_delete_request(addr.get(), 0, &raw);
                if (err < 0) throw_libnl(err, obj, action);
                return MsgPtr(raw);
            };
            // "already there" / "already gone" are outcomes, not errors
            write_built(ns, build, obj, action, {add ? EEXIST : EADDRNOTAVAIL});
            return;
        }
        case Step::Op::AddRoute:
        case Step::Op::ReplaceRoute:
        case Step::Op::DelRoute: {
            Netns& ns = get(step.ns);
            const auto& r = step.route;
            const bool del = step.op == Step::Op::DelRoute;
            const std::string obj = who(step.ns, r.dev.empty() ? r.dst.str() : r.dev);
            const std::string action = std::string(del ? "delete" : step.op == Step::Op::AddRoute ? "add" : "replace") +
                                       " route " + (r.dst.is_default() ? "default" : r.dst.str());
            const int fam = r.dst.addr.is_v6() ? AF_INET6 : AF_INET;
            auto build = [&]() -> MsgPtr {
                RoutePtr route(rtnl_route_alloc());
                rtnl_route_set_family(route.get(), fam);
                rtnl_route_set_table(route.get(), r.table);
                rtnl_route_set_type(route.get(), r.type);
                rtnl_route_set_protocol(route.get(), r.protocol);
                rtnl_route_set_scope(route.get(), r.scope);
                rtnl_route_set_priority(route.get(), r.metric);
                NlAddrPtr dst = to_nl(r.dst.addr.family ? r.dst.addr : model::IpAddress::any(fam == AF_INET ? 4 : 6),
                                      r.dst.len);
                rtnl_route_set_dst(route.get(), dst.get());
                if (!r.dev.empty() || r.via) {
                    rtnl_nexthop* nh = rtnl_route_nh_alloc();  // the route takes ownership below
                    if (!r.dev.empty()) {
                        auto dev = find_index(ns, r.dev);
                        if (!dev) {
                            rtnl_route_nh_free(nh);
                            if (del) return nullptr;  // routes die with their device
                            throw NlError(ENODEV, obj, action);
                        }
                        rtnl_route_nh_set_ifindex(nh, *dev);
                    }
                    if (r.via) {
                        NlAddrPtr gw = to_nl(*r.via, r.via->is_v4() ? 32 : 128);
                        rtnl_route_nh_set_gateway(nh, gw.get());
                    }
                    rtnl_route_add_nexthop(route.get(), nh);
                }
                nl_msg* raw = nullptr;
                int err = del ? rtnl_route_build_del_request(route.get(), 0, &raw)
                              : rtnl_route_build_add_request(
                                    route.get(), step.op == Step::Op::AddRoute ? NLM_F_EXCL : NLM_F_REPLACE, &raw);
                if (err < 0) throw_libnl(err, obj, action);
                return MsgPtr(raw);
            };
            if (del)
                write_built(ns, build, obj, action, {ESRCH});
            else
                write_built(ns, build, obj, action);
            return;
        }
    }
}

}  // namespace netlab::reconcile::nl
