// EventSocket: rtnetlink multicast notifications, parsed from the raw
// messages (links with parse_link(), as the dumps are) into KernelEvents,
// other namespaces' with link names of their own; decode_events() runs the
// same parser on bytes, without a socket.
#include "reconcile/nl/events.hpp"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <netlink/attr.h>

#include "reconcile/nl/decode.hpp"
#include "reconcile/nl/error.hpp"
#include "reconcile/nl/impl.hpp"

namespace netlab::reconcile::nl {

namespace {

const char* const kWho = "events";

std::optional<model::IpAddress> ip_attr(nlattr* a, int family) {
    if (!a) return std::nullopt;
    model::IpAddress ip;
    std::size_t len = 0;
    if (family == AF_INET) {
        ip.family = 4;
        len = 4;
    } else if (family == AF_INET6) {
        ip.family = 6;
        len = 16;
    } else {
        return std::nullopt;
    }
    if (static_cast<std::size_t>(nla_len(a)) != len) return std::nullopt;
    std::memcpy(ip.bytes.data(), nla_data(a), len);
    return ip;
}

SockPtr open_socket(const char* action) {
    SockPtr sock(nl_socket_alloc());
    if (!sock) throw NlError(ENOMEM, kWho, action);
    int err = nl_connect(sock.get(), NETLINK_ROUTE);
    if (err < 0) throw_libnl(err, kWho, action);
    return sock;
}

using Names = std::unordered_map<int, std::string>;  // ifindex -> link name

// The links of the namespace `nsid` tags, asked of the kernel from here
// (RTM_GETLINK with IFLA_TARGET_NETNSID): no socket in that namespace, which
// would keep it alive. Empty when the kernel does not answer.
Names peer_links(int nsid) {
    Names out;
    SockPtr sock(nl_socket_alloc());
    if (!sock || nl_connect(sock.get(), NETLINK_ROUTE) < 0) return out;
    MsgPtr msg(nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP));
    if (!msg) return out;
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
        nla_put_s32(msg.get(), IFLA_TARGET_NETNSID, nsid) < 0 ||
        nla_put_u32(msg.get(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0 || nl_send_auto(sock.get(), msg.get()) < 0)
        return out;
    auto each = [](nl_msg* m, void* arg) -> int {
        nlmsghdr* nlh = nlmsg_hdr(m);
        if (nlh->nlmsg_type == RTM_NEWLINK && nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(ifinfomsg))) {
            RawLink raw = parse_link(nlh);
            (*static_cast<Names*>(arg))[raw.state.ifindex] = raw.state.name;
        }
        return NL_OK;
    };
    nl_socket_modify_cb(sock.get(), NL_CB_VALID, NL_CB_CUSTOM, each, &out);
    // An interrupted dump (NLM_F_DUMP_INTR) or an error: what was read is
    // still right for the links it names; the others stay unknown.
    nl_recvmsgs_default(sock.get());
    return out;
}

}  // namespace

struct EventSocket::Impl {
    SockPtr sock;
    bool all_nsid = false;
    std::string all_nsid_error;
    Names names;                                  // this namespace's links
    std::unordered_map<int, Names> peer_names;    // nsid -> that namespace's links
    std::unordered_set<int> asked;                // nsids whose links were dumped in this read()
    alignas(nlmsghdr) std::array<char, 64 * 1024> buf{};
    bool ask_kernel = true;  // false in decode_events(): no socket, no kernel

    Names& names_in(std::optional<int> peer) { return peer ? peer_names[*peer] : names; }

    // The link's name in the event's namespace, "" if unknown. A peer's
    // links are learnt from its link events; one that came before its nsid
    // did (lo, a Docker container's eth0) is asked for once per read.
    std::string name_of(std::optional<int> peer, int ifindex) {
        Names& known = names_in(peer);
        auto it = known.find(ifindex);
        if (it != known.end()) return it->second;
        if (!peer || !ask_kernel || !asked.insert(*peer).second) return {};
        for (auto& [index, name] : peer_links(*peer)) known.try_emplace(index, std::move(name));
        it = known.find(ifindex);
        return it == known.end() ? std::string() : it->second;
    }

    // A dump on a socket of its own: the event socket only ever reads events.
    void learn_names() {
        SockPtr dump = open_socket("dump links");
        nl_cache* raw = nullptr;
        int err = rtnl_link_alloc_cache(dump.get(), AF_UNSPEC, &raw);
        if (err < 0) throw_libnl(err, kWho, "dump links");
        CachePtr cache(raw);
        names.clear();
        for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
            auto* l = reinterpret_cast<rtnl_link*>(o);
            names[rtnl_link_get_ifindex(l)] = rtnl_link_get_name(l);
        }
    }

    void parse(nlmsghdr* nlh, std::optional<int> peer, KernelEvents& out);
    void parse_nsid(nlmsghdr* nlh, KernelEvents& out);
    std::optional<KernelEvent> parse_link_event(nlmsghdr* nlh, std::optional<int> peer);
    std::optional<KernelEvent> parse_address(nlmsghdr* nlh, std::optional<int> peer);
    std::optional<KernelEvent> parse_route(nlmsghdr* nlh, std::optional<int> peer);
};

void EventSocket::Impl::parse(nlmsghdr* nlh, std::optional<int> peer, KernelEvents& out) {
    std::optional<KernelEvent> e;
    switch (nlh->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK: e = parse_link_event(nlh, peer); break;
    case RTM_NEWADDR:
    case RTM_DELADDR: e = parse_address(nlh, peer); break;
    case RTM_NEWROUTE:
    case RTM_DELROUTE: e = parse_route(nlh, peer); break;
    case RTM_NEWNSID:
    case RTM_DELNSID:
        // A peer's own nsid messages are about its peers, not about it.
        if (!peer) parse_nsid(nlh, out);
        break;
    default: break;
    }
    if (!e) return;
    if (peer)
        out.peers.push_back(PeerEvent{*peer, std::move(*e)});
    else
        out.events.push_back(std::move(*e));
}

void EventSocket::Impl::parse_nsid(nlmsghdr* nlh, KernelEvents& out) {
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(rtgenmsg))) return;
    nlattr* tb[NETNSA_MAX + 1] = {};
    if (nlmsg_parse(nlh, sizeof(rtgenmsg), tb, NETNSA_MAX, nullptr) < 0 || !attr_u32(tb[NETNSA_NSID])) return;
    const int nsid = static_cast<int>(*attr_u32(tb[NETNSA_NSID]));
    if (nsid < 0) return;
    // Either way the names learnt under this nsid are not the next owner's.
    peer_names.erase(nsid);
    (nlh->nlmsg_type == RTM_NEWNSID ? out.nsids_new : out.nsids_del).push_back(nsid);
}

std::optional<KernelEvent> EventSocket::Impl::parse_link_event(nlmsghdr* nlh, std::optional<int> peer) {
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return std::nullopt;
    // AF_BRIDGE messages are about a bridge port's state (STP, flags), and
    // their RTM_DELLINK means "no longer a port", not "deleted": the plain
    // RTM_NEWLINK that comes with them says what changed.
    if (static_cast<ifinfomsg*>(nlmsg_data(nlh))->ifi_family == AF_BRIDGE) return std::nullopt;
    RawLink raw = parse_link(nlh);
    KernelEvent e;
    e.op = nlh->nlmsg_type == RTM_NEWLINK ? KernelEvent::Op::New : KernelEvent::Op::Del;
    e.object = KernelEvent::Object::Link;
    e.link = std::move(raw.state);
    Names& known = names_in(peer);
    if (e.op == KernelEvent::Op::New) {
        std::string& name = known[e.link.ifindex];
        if (!name.empty() && name != e.link.name) e.renamed_from = name;
        name = e.link.name;
    } else {
        known.erase(e.link.ifindex);
    }
    if (raw.master_index) {
        e.link.master = name_of(peer, raw.master_index);
        e.unnamed = e.link.master.empty();
    }
    return e;
}

std::optional<KernelEvent> EventSocket::Impl::parse_address(nlmsghdr* nlh, std::optional<int> peer) {
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) return std::nullopt;
    auto* ifa = static_cast<ifaddrmsg*>(nlmsg_data(nlh));
    nlattr* tb[IFA_MAX + 1] = {};
    if (nlmsg_parse(nlh, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) return std::nullopt;
    // IFA_LOCAL is the address itself (IFA_ADDRESS the peer's, on
    // point-to-point links); IPv6 sends IFA_ADDRESS only.
    auto ip = ip_attr(tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS], ifa->ifa_family);
    if (!ip) return std::nullopt;
    std::uint32_t flags = attr_u32(tb[IFA_FLAGS]).value_or(ifa->ifa_flags);
    KernelEvent e;
    e.op = nlh->nlmsg_type == RTM_NEWADDR ? KernelEvent::Op::New : KernelEvent::Op::Del;
    e.object = KernelEvent::Object::Address;
    e.address = model::AddressState{name_of(peer, static_cast<int>(ifa->ifa_index)),
                                    model::Prefix{*ip, ifa->ifa_prefixlen}, (flags & IFA_F_SECONDARY) != 0};
    e.unnamed = e.address.dev.empty();
    return e;
}

std::optional<KernelEvent> EventSocket::Impl::parse_route(nlmsghdr* nlh, std::optional<int> peer) {
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) return std::nullopt;
    auto* rtm = static_cast<rtmsg*>(nlmsg_data(nlh));
    if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) return std::nullopt;
    nlattr* tb[RTA_MAX + 1] = {};
    if (nlmsg_parse(nlh, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return std::nullopt;
    model::RouteState r;
    r.table = attr_u32(tb[RTA_TABLE]).value_or(rtm->rtm_table);
    r.type = rtm->rtm_type;
    r.protocol = rtm->rtm_protocol;
    r.scope = rtm->rtm_scope;
    if (auto v = attr_u32(tb[RTA_PRIORITY])) r.metric = *v;
    if (auto dst = ip_attr(tb[RTA_DST], rtm->rtm_family))
        r.dst = model::Prefix{*dst, rtm->rtm_dst_len};
    else
        r.dst = model::Prefix::default_route(rtm->rtm_family == AF_INET ? 4 : 6);
    int oif = static_cast<int>(attr_u32(tb[RTA_OIF]).value_or(0));
    r.via = ip_attr(tb[RTA_GATEWAY], rtm->rtm_family);
    if (auto hop = oif ? std::nullopt : first_hop(tb[RTA_MULTIPATH], rtm->rtm_family)) {
        // Multipath: the first hop, as observe() takes it.
        oif = hop->ifindex;
        if (hop->parsed) r.via = hop->via;
    }
    KernelEvent e;
    if (oif) {
        r.dev = name_of(peer, oif);
        e.unnamed = r.dev.empty();
    }
    e.op = nlh->nlmsg_type == RTM_NEWROUTE ? KernelEvent::Op::New : KernelEvent::Op::Del;
    e.object = KernelEvent::Object::Route;
    e.route = std::move(r);
    return e;
}

KernelEvents decode_events(const std::vector<EventDatagram>& datagrams) {
    auto parser = std::make_unique<EventSocket::Impl>();  // its read buffer is 64 KiB: not on the stack
    parser->ask_kernel = false;
    KernelEvents out;
    for (const auto& d : datagrams) for_each_message(d.bytes, [&](nlmsghdr* nlh) { parser->parse(nlh, d.peer, out); });
    return out;
}

EventSocket::EventSocket() : impl_(std::make_unique<Impl>()) {
    impl_->sock = open_socket("open event socket");
    nl_sock* sk = impl_->sock.get();
    // Events carry sequence number 0: no sequence check.
    nl_socket_disable_seq_check(sk);
    int err = nl_socket_add_memberships(sk, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                        RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_NSID, 0);
    if (err < 0) throw_libnl(err, kWho, "subscribe to link, address, route and nsid events");
    // The events of every namespace with an nsid here, tagged with it.
    int one = 1;
    if (setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &one, sizeof one) == 0)
        impl_->all_nsid = true;
    else
        impl_->all_nsid_error = std::string("NETLINK_LISTEN_ALL_NSID: ") + std::strerror(errno);
    err = nl_socket_set_nonblocking(sk);
    if (err < 0) throw_libnl(err, kWho, "set non-blocking");
    // As large as net.core.rmem_max allows: a big transaction's echo must not
    // overflow it while the loop is busy elsewhere.
    nl_socket_set_buffer_size(sk, 1 << 20, 0);
    // Subscribed first, named second: a link created in between is in both.
    impl_->learn_names();
}

EventSocket::~EventSocket() = default;

int EventSocket::fd() const { return nl_socket_get_fd(impl_->sock.get()); }
bool EventSocket::listen_all_nsid() const { return impl_->all_nsid; }
const std::string& EventSocket::listen_all_nsid_error() const { return impl_->all_nsid_error; }

KernelEvents EventSocket::read() {
    KernelEvents out;
    const int fd = nl_socket_get_fd(impl_->sock.get());
    // One datagram per recvmsg(), so its control message (the nsid of the
    // namespace it comes from, with NETLINK_LISTEN_ALL_NSID) covers it all.
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int)) * 2> control{};
    for (;;) {
        iovec iov{impl_->buf.data(), impl_->buf.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == ENOBUFS) {
                // The kernel dropped events; the socket itself is fine.
                out.lost = true;
                continue;
            }
            throw NlError(errno, kWho, "read events");
        }
        if (n == 0) break;
        std::optional<int> peer;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_LISTEN_ALL_NSID &&
                c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int id = 0;
                std::memcpy(&id, CMSG_DATA(c), sizeof id);
                peer = id;
            }
        int len = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<nlmsghdr*>(impl_->buf.data()); nlmsg_ok(nlh, len);
             nlh = nlmsg_next(nlh, &len))
            impl_->parse(nlh, peer, out);
    }
    impl_->asked.clear();
    if (out.lost) {
        // Renames and deletions may have been missed: learn again, the
        // peers' lazily.
        impl_->learn_names();
        impl_->peer_names.clear();
    }
    return out;
}

}  // namespace netlab::reconcile::nl
