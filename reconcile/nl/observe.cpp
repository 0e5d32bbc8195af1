// observe(): links, addresses and routes of one namespace, as model values,
// each parsed straight from its raw dump (RTM_NEWLINK by parse_link: libnl's
// link object has no bridge STP attribute, and IFLA_LINK_NETNSID decides
// whether a veth peer or macvlan parent is in this namespace; RTM_NEWADDR and
// RTM_NEWROUTE by functions decode.cpp shares). No libnl cache: at 1000 namespaces
// its per-object allocation and hashing was a good part of observe's time.
// Route dumps ask the kernel for the main table only (strict checking, see
// connect_here); answers are filtered here too, for kernels without it.
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include <netlink/attr.h>

#include "reconcile/nl/decode.hpp"
#include "reconcile/nl/error.hpp"
#include "reconcile/nl/impl.hpp"

namespace netlab::reconcile::nl {

namespace {

std::optional<model::IpAddress> to_ip(int family, const nlattr* a) {
    if (!a) return std::nullopt;
    model::IpAddress ip;
    const int len = nla_len(a);
    if (family == AF_INET && len == 4)
        ip.family = 4;
    else if (family == AF_INET6 && len == 16)
        ip.family = 6;
    else
        return std::nullopt;
    std::memcpy(ip.bytes.data(), nla_data(a), static_cast<std::size_t>(len));
    return ip;
}

MsgPtr dump_request(int type, const void* header, std::size_t size) {
    MsgPtr msg(nlmsg_alloc_simple(type, NLM_F_DUMP));
    nlmsg_append(msg.get(), const_cast<void*>(header), size, NLMSG_ALIGNTO);
    return msg;
}

}  // namespace

RawLink parse_link(nlmsghdr* nlh) {
    RawLink out;
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return out;
    auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(nlh));
    nlattr* tb[IFLA_MAX + 1] = {};
    nlmsg_parse(nlh, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr);
    auto& s = out.state;
    s.ifindex = ifi->ifi_index;
    s.up = ifi->ifi_flags & IFF_UP;
    s.promisc = ifi->ifi_flags & IFF_PROMISC;
    s.name = attr_str(tb[IFLA_IFNAME]);
    if (auto v = attr_u32(tb[IFLA_MTU])) s.mtu = *v;
    if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6)
        std::memcpy(s.mac.bytes.data(), nla_data(tb[IFLA_ADDRESS]), 6);
    s.alias = attr_str(tb[IFLA_IFALIAS]);
    if (auto v = attr_u32(tb[IFLA_GROUP])) s.group = *v;
    if (auto v = attr_u32(tb[IFLA_MASTER])) out.master_index = static_cast<int>(*v);
    if (auto v = attr_u32(tb[IFLA_LINK])) out.link_index = static_cast<int>(*v);
    out.link_elsewhere = tb[IFLA_LINK_NETNSID] != nullptr;
    if (tb[IFLA_LINKINFO]) {
        nlattr* li[IFLA_INFO_MAX + 1] = {};
        if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) == 0) {
            s.kind = attr_str(li[IFLA_INFO_KIND]);
            if (li[IFLA_INFO_DATA] && s.kind == "bridge") {
                nlattr* br[IFLA_BR_MAX + 1] = {};
                if (nla_parse_nested(br, IFLA_BR_MAX, li[IFLA_INFO_DATA], nullptr) == 0)
                    if (auto v = attr_u32(br[IFLA_BR_STP_STATE])) s.stp = *v != 0;
            } else if (li[IFLA_INFO_DATA] && s.kind == "macvlan") {
                nlattr* mv[IFLA_MACVLAN_MAX + 1] = {};
                if (nla_parse_nested(mv, IFLA_MACVLAN_MAX, li[IFLA_INFO_DATA], nullptr) == 0 &&
                    attr_u32(mv[IFLA_MACVLAN_MODE])) {
                    switch (*attr_u32(mv[IFLA_MACVLAN_MODE])) {
                        case MACVLAN_MODE_PRIVATE: s.macvlan_mode = model::MacvlanMode::Private; break;
                        case MACVLAN_MODE_VEPA: s.macvlan_mode = model::MacvlanMode::Vepa; break;
                        case MACVLAN_MODE_PASSTHRU: s.macvlan_mode = model::MacvlanMode::Passthru; break;
                        default: s.macvlan_mode = model::MacvlanMode::Bridge; break;
                    }
                }
            }
        }
    }
    if (s.kind == "bridge" && !s.stp) s.stp = false;
    if (tb[IFLA_AF_SPEC]) {
        nlattr* af = nullptr;
        int rem = 0;
        nla_for_each_nested(af, tb[IFLA_AF_SPEC], rem) {
            if (nla_type(af) != AF_INET) continue;
            nlattr* inet[IFLA_INET_MAX + 1] = {};
            if (nla_parse_nested(inet, IFLA_INET_MAX, af, nullptr) < 0 || !inet[IFLA_INET_CONF]) continue;
            // An array of u32, entry i-1 holding devconf value i.
            const int at = (IPV4_DEVCONF_PROMOTE_SECONDARIES - 1) * 4;
            if (nla_len(inet[IFLA_INET_CONF]) >= at + 4) {
                std::uint32_t v = 0;
                std::memcpy(&v, static_cast<const char*>(nla_data(inet[IFLA_INET_CONF])) + at, 4);
                s.promote_secondaries = v != 0;
            }
        }
    }
    return out;
}

std::optional<FirstHop> first_hop(const nlattr* multipath, int family) {
    if (!multipath || nla_len(multipath) < static_cast<int>(sizeof(rtnexthop))) return std::nullopt;
    rtnexthop nh{};
    std::memcpy(&nh, nla_data(multipath), sizeof nh);
    FirstHop hop;
    hop.ifindex = nh.rtnh_ifindex;
    const int attrs = std::min<int>(nh.rtnh_len, nla_len(multipath)) - static_cast<int>(RTNH_ALIGN(sizeof(rtnexthop)));
    if (attrs > 0) {
        nlattr* ntb[RTA_MAX + 1] = {};
        auto* head = reinterpret_cast<nlattr*>(static_cast<char*>(nla_data(multipath)) + RTNH_ALIGN(sizeof(rtnexthop)));
        if (nla_parse(ntb, RTA_MAX, head, attrs, nullptr) == 0) {
            hop.parsed = true;
            hop.via = to_ip(family, ntb[RTA_GATEWAY]);
        }
    }
    return hop;
}

void add_links(std::vector<RawLink>& raw, LinkNames& names, model::NetnsState& out) {
    for (const auto& l : raw)
        if (!l.state.name.empty()) names[l.state.ifindex] = l.state.name;
    for (auto& l : raw) {
        if (l.state.name.empty()) continue;  // too short to be a link
        if (l.master_index) {
            auto it = names.find(l.master_index);
            if (it != names.end()) l.state.master = it->second;
        }
        // macvlan parent / veth peer, named only when it lives in this namespace
        if (l.link_index && !l.link_elsewhere && (l.state.kind == "macvlan" || l.state.kind == "veth")) {
            auto it = names.find(l.link_index);
            if (it != names.end()) l.state.parent = it->second;
        }
        out.links.emplace(l.state.name, std::move(l.state));
    }
}

void add_address(nlmsghdr* nlh, const LinkNames& names, model::NetnsState& out) {
    const auto* a = static_cast<const ifaddrmsg*>(nlmsg_data(nlh));
    nlattr* tb[IFA_MAX + 1] = {};
    if (nlmsg_parse(nlh, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) return;
    auto it = names.find(static_cast<int>(a->ifa_index));
    if (it == names.end()) return;
    // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer's on a
    // point-to-point link, and the only one IPv6 sends otherwise.
    auto ip = to_ip(a->ifa_family, tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS]);
    if (!ip) return;
    const std::uint32_t flags = attr_u32(tb[IFA_FLAGS]).value_or(a->ifa_flags);
    model::AddressState st{it->second, model::Prefix{*ip, a->ifa_prefixlen}, (flags & IFA_F_SECONDARY) != 0};
    if (tb[IFA_BROADCAST]) st.attrs.broadcast = to_ip(a->ifa_family, tb[IFA_BROADCAST]);
    // The kernel labels every IPv4 address, with the device's name unless told otherwise.
    if (tb[IFA_LABEL]) st.attrs.label = attr_str(tb[IFA_LABEL]);
    if (st.attrs.label == it->second) st.attrs.label.clear();
    st.attrs.flags = flags & model::AddressAttrs::kAdminFlags;
    st.attrs.scope = a->ifa_scope;
    if (tb[IFA_CACHEINFO] && nla_len(tb[IFA_CACHEINFO]) >= static_cast<int>(sizeof(ifa_cacheinfo))) {
        ifa_cacheinfo ci{};
        std::memcpy(&ci, nla_data(tb[IFA_CACHEINFO]), sizeof ci);
        st.attrs.valid_lft = ci.ifa_valid;
        st.attrs.preferred_lft = ci.ifa_prefered;
    }
    out.addresses.insert(std::move(st));
}

void add_route(nlmsghdr* nlh, const LinkNames& names, model::NetnsState& out) {
    const auto* r = static_cast<const rtmsg*>(nlmsg_data(nlh));
    nlattr* tb[RTA_MAX + 1] = {};
    if (nlmsg_parse(nlh, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return;
    const std::uint32_t table = attr_u32(tb[RTA_TABLE]).value_or(r->rtm_table);
    if (table != model::kMainTable || r->rtm_type != RTN_UNICAST) return;
    if (r->rtm_family != AF_INET && r->rtm_family != AF_INET6) return;
    model::RouteState rs;
    rs.table = table;
    rs.type = r->rtm_type;
    rs.protocol = r->rtm_protocol;
    rs.scope = r->rtm_scope;
    if (auto v = attr_u32(tb[RTA_PRIORITY])) rs.metric = *v;
    const std::uint8_t fam = r->rtm_family == AF_INET ? 4 : 6;
    if (auto dst = to_ip(r->rtm_family, tb[RTA_DST]))
        rs.dst = model::Prefix{*dst, r->rtm_dst_len};
    else
        rs.dst = model::Prefix::default_route(fam);
    int oif = static_cast<int>(attr_u32(tb[RTA_OIF]).value_or(0));
    rs.via = to_ip(r->rtm_family, tb[RTA_GATEWAY]);
    if (auto hop = first_hop(tb[RTA_MULTIPATH], r->rtm_family)) {
        // multipath: the first hop, as for a single-path route
        oif = hop->ifindex;
        if (hop->parsed) rs.via = hop->via;
    }
    if (auto it = names.find(oif); it != names.end()) rs.dev = it->second;
    out.routes.insert(std::move(rs));
}

model::NetnsState decode_dump(std::string_view messages) {
    model::NetnsState out;
    std::vector<RawLink> raw;
    for_each_message(messages, [&](nlmsghdr* nlh) {
        if (nlh->nlmsg_type == RTM_NEWLINK) raw.push_back(parse_link(nlh));
    });
    LinkNames names;
    add_links(raw, names, out);
    for_each_message(messages, [&](nlmsghdr* nlh) {
        if (nlh->nlmsg_type == RTM_NEWADDR) add_address(nlh, names, out);
        if (nlh->nlmsg_type == RTM_NEWROUTE) add_route(nlh, names, out);
    });
    return out;
}

model::NetnsState NlKernel::Impl::observe(const NsId& id) {
    Netns& ns = get(id);
    model::NetnsState out;

    LinkNames names;
    std::vector<RawLink> raw = dump_links(ns);
    ns.index.clear();
    for (const auto& l : raw)
        if (!l.state.name.empty()) ns.index[l.state.name] = l.state.ifindex;
    add_links(raw, names, out);

    ifaddrmsg ifa{};
    ifa.ifa_family = AF_UNSPEC;
    MsgPtr addr_req = dump_request(RTM_GETADDR, &ifa, sizeof ifa);
    dump(ns, addr_req.get(), RTM_NEWADDR, "dump addresses", [&](nlmsghdr* nlh) { add_address(nlh, names, out); });

    for (const int family : {AF_INET, AF_INET6}) {
        rtmsg rtm{};
        rtm.rtm_family = static_cast<unsigned char>(family);
        rtm.rtm_table = RT_TABLE_MAIN;
        MsgPtr route_req = dump_request(RTM_GETROUTE, &rtm, sizeof rtm);
        nla_put_u32(route_req.get(), RTA_TABLE, model::kMainTable);
        dump(ns, route_req.get(), RTM_NEWROUTE, "dump routes", [&](nlmsghdr* nlh) { add_route(nlh, names, out); });
    }
    return out;
}

}  // namespace netlab::reconcile::nl
