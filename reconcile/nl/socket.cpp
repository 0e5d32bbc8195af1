// Per-namespace sockets (attach, nsids), link dumps (parsed by parse_link,
// observe.cpp) and the ifindex cache. Requests and their acks: request.cpp.
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <netlink/attr.h>

#include "reconcile/nl/error.hpp"
#include "reconcile/nl/impl.hpp"

// SO_NETNS_COOKIE (Linux 5.14) in headers that predate it.
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace netlab::reconcile::nl {

namespace {

int on_error(sockaddr_nl*, nlmsgerr* e, void* arg) {
    auto* ns = static_cast<Netns*>(arg);
    ns->last_errno = -e->error;
    ns->last_extack = extack_of(e);
    return NL_STOP;
}

SockPtr connect_here(Netns& ns) {
    SockPtr sock(nl_socket_alloc());
    if (!sock) throw NlError(ENOMEM, ns.id.empty() ? "host" : ns.id, "open netlink socket");
    int err = nl_connect(sock.get(), NETLINK_ROUTE);
    if (err < 0) throw_libnl(err, ns.id.empty() ? "host" : ns.id, "open netlink socket");
    int one = 1;
    int fd = nl_socket_get_fd(sock.get());
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    // Dump requests are filtered by the kernel (a route dump of the main
    // table only); a kernel without strict checking ignores the filter and
    // observe() filters the answers itself.
    setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
    nl_socket_set_buffer_size(sock.get(), 1 << 20, 1 << 20);
    nl_socket_modify_err_cb(sock.get(), NL_CB_CUSTOM, on_error, &ns);
    return sock;
}

}  // namespace

namespace {

int collect_link(nl_msg* msg, void* arg) {
    auto* out = static_cast<std::vector<RawLink>*>(arg);
    nlmsghdr* nlh = nlmsg_hdr(msg);
    if (nlh->nlmsg_type == RTM_NEWLINK) out->push_back(parse_link(nlh));
    return NL_OK;
}

int collect_one_link(nl_msg* msg, void* arg) {
    collect_link(msg, arg);
    return NL_STOP;
}

// A dump's messages are kept until it has ended: one the kernel marks
// NLM_F_DUMP_INTR (the table changed while it was read) is thrown away and
// the dump asked for again, so the caller only ever sees a consistent one.
struct DumpSink {
    int type;
    std::vector<std::vector<char>> messages;
};

int collect_any(nl_msg* msg, void* arg) {
    auto* sink = static_cast<DumpSink*>(arg);
    nlmsghdr* nlh = nlmsg_hdr(msg);
    if (nlh->nlmsg_type == sink->type) {
        const auto* bytes = reinterpret_cast<const char*>(nlh);
        sink->messages.emplace_back(bytes, bytes + nlh->nlmsg_len);
    }
    return NL_OK;
}

// A private copy of the socket's callbacks (keeps its error callback).
CbPtr clone_cb(Netns& ns) {
    CbPtr shared(nl_socket_get_cb(ns.sock.get()));  // nl_socket_get_cb hands out a reference
    return CbPtr(nl_cb_clone(shared.get()));
}

MsgPtr link_request(int type, int flags, const std::string& name) {
    MsgPtr msg(nlmsg_alloc_simple(type, flags));
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO);
    if (!name.empty()) nla_put_string(msg.get(), IFLA_IFNAME, name.c_str());
    nla_put_u32(msg.get(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return msg;
}

}  // namespace

void throw_libnl(int nlerr, const std::string& object, const std::string& action) {
    throw NlError(EIO, object, action, nl_geterror(nlerr));
}

Netns::~Netns() {
    sock.reset();
    if (fd >= 0) close(fd);
}

NlKernel::Impl::Impl() {
    auto host = std::make_unique<Netns>();
    host->sock = connect_here(*host);
    spaces.emplace("", std::move(host));
}

Netns& NlKernel::Impl::get(const NsId& ns) {
    auto it = spaces.find(ns);
    if (it == spaces.end())
        throw NlError(ENOENT, ns, "use namespace", "namespace not attached (container not running?)");
    return *it->second;
}

int NlKernel::Impl::ns_fd(const NsId& ns) {
    Netns& n = get(ns);
    if (n.fd < 0 && ns.empty()) {
        n.fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (n.fd < 0) throw NlError(errno, "host", "open /proc/thread-self/ns/net");
    }
    return n.fd;
}

void NlKernel::Impl::attach(const NsId& ns, int fd) {
    if (ns.empty()) {
        close(fd);
        throw NlError(EINVAL, "host", "attach namespace", "the host's namespace is always attached");
    }
    // Attached already to this very namespace (same inode, fd still open, so
    // the inode cannot have been handed to another one): keep the socket.
    if (auto it = spaces.find(ns); it != spaces.end() && it->second->fd >= 0) {
        struct stat a{}, b{};
        if (fstat(fd, &a) == 0 && fstat(it->second->fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            close(fd);
            return;
        }
    }
    auto n = std::make_unique<Netns>();
    n->id = ns;
    n->fd = fd;
    // setns() moves only the calling thread: do it on a thread of our own that
    // ends right after nl_connect(); the socket stays in the namespace.
    std::exception_ptr failure;
    std::thread opener([&] {
        try {
            if (setns(fd, CLONE_NEWNET) != 0) throw NlError(errno, ns, "enter namespace");
            n->sock = connect_here(*n);
        } catch (...) {
            failure = std::current_exception();
        }
    });
    opener.join();
    if (failure) std::rethrow_exception(failure);
    if (int id = peer_nsid(n->fd); id >= 0) nsids[ns] = id;
    spaces[ns] = std::move(n);
}

int NlKernel::Impl::nsid_request(int type, int netns_fd) {
    Netns& host = get("");
    MsgPtr msg(nlmsg_alloc_simple(type, NLM_F_REQUEST | (type == RTM_NEWNSID ? NLM_F_ACK : 0)));
    rtgenmsg g{};
    g.rtgen_family = AF_UNSPEC;
    nlmsg_append(msg.get(), &g, sizeof g, NLMSG_ALIGNTO);
    nla_put_u32(msg.get(), NETNSA_FD, static_cast<std::uint32_t>(netns_fd));
    if (type == RTM_NEWNSID) nla_put_s32(msg.get(), NETNSA_NSID, -1);  // any free one
    nlmsghdr* h = nlmsg_hdr(msg.get());
    const int fd = nl_socket_get_fd(host.sock.get());
    h->nlmsg_pid = nl_socket_get_local_port(host.sock.get());
    h->nlmsg_seq = 0x80000000u | batch_seq++;
    if (::send(fd, h, h->nlmsg_len, 0) < 0) return -errno;
    std::vector<char> in(8192);
    for (;;) {
        const ssize_t n = ::recv(fd, in.data(), in.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        int len = static_cast<int>(n);
        for (auto* r = reinterpret_cast<nlmsghdr*>(in.data()); nlmsg_ok(r, len); r = nlmsg_next(r, &len)) {
            if (r->nlmsg_seq != h->nlmsg_seq) continue;
            if (r->nlmsg_type == NLMSG_ERROR) return static_cast<nlmsgerr*>(nlmsg_data(r))->error;
            if (r->nlmsg_type != RTM_NEWNSID) continue;
            nlattr* tb[NETNSA_MAX + 1] = {};
            if (nlmsg_parse(r, sizeof(rtgenmsg), tb, NETNSA_MAX, nullptr) < 0 || !attr_u32(tb[NETNSA_NSID]))
                return -EPROTO;
            return static_cast<int>(*attr_u32(tb[NETNSA_NSID]));
        }
    }
}

int NlKernel::Impl::peer_nsid(int netns_fd) {
    int id = nsid_request(RTM_GETNSID, netns_fd);
    if (id != NETNSA_NSID_NOT_ASSIGNED) return id < 0 ? -1 : id;
    if (nsid_request(RTM_NEWNSID, netns_fd) < 0) return -1;
    id = nsid_request(RTM_GETNSID, netns_fd);
    return id < 0 ? -1 : id;
}

std::map<NsId, std::string> NlKernel::Impl::attach_many(const std::vector<std::pair<NsId, int>>& fds) {
    std::map<NsId, std::string> failed;
    std::vector<std::unique_ptr<Netns>> fresh;
    for (const auto& [ns, fd] : fds) {
        if (ns.empty()) {
            close(fd);
            failed[ns] = "the host's namespace is always attached";
            continue;
        }
        // Attached already to this very namespace: keep the socket (see attach).
        if (auto it = spaces.find(ns); it != spaces.end() && it->second->fd >= 0) {
            struct stat a{}, b{};
            if (fstat(fd, &a) == 0 && fstat(it->second->fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                close(fd);
                continue;
            }
        }
        auto n = std::make_unique<Netns>();
        n->id = ns;
        n->fd = fd;
        fresh.push_back(std::move(n));
    }
    // One thread enters each namespace in turn and connects its socket, then
    // ends: the caller's thread never moves, and no thread outlives the call.
    std::vector<std::string> why(fresh.size());
    std::thread opener([&] {
        for (std::size_t i = 0; i < fresh.size(); ++i) {
            try {
                if (setns(fresh[i]->fd, CLONE_NEWNET) != 0) throw NlError(errno, fresh[i]->id, "enter namespace");
                fresh[i]->sock = connect_here(*fresh[i]);
            } catch (const std::exception& e) {
                why[i] = e.what();
            }
        }
    });
    opener.join();
    for (std::size_t i = 0; i < fresh.size(); ++i) {
        if (!why[i].empty()) {
            failed[fresh[i]->id] = why[i];
            continue;  // ~Netns closes the fd
        }
        const NsId id = fresh[i]->id;
        if (int nsid = peer_nsid(fresh[i]->fd); nsid >= 0) nsids[id] = nsid;
        spaces[id] = std::move(fresh[i]);
    }
    return failed;
}

void NlKernel::Impl::dump(Netns& ns, nl_msg* request, int type, const std::string& what,
                          const std::function<void(nlmsghdr*)>& each) {
    if (pipeline) settle(ns.id);
    const std::string who = ns.id.empty() ? "host" : ns.id;
    constexpr int kAttempts = 10;
    for (int attempt = 1;; ++attempt) {
        nlmsg_hdr(request)->nlmsg_seq = NL_AUTO_SEQ;  // a fresh sequence number for each attempt
        int err = nl_send_auto(ns.sock.get(), request);
        if (err < 0) throw_libnl(err, who, what);
        CbPtr cb = clone_cb(ns);
        DumpSink sink{type, {}};
        nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, collect_any, &sink);
        ns.last_errno = 0;
        err = nl_recvmsgs(ns.sock.get(), cb.get());
        if (err == -NLE_DUMP_INTR && attempt < kAttempts) continue;  // libnl read the dump to its end
        if (err == -NLE_DUMP_INTR)
            throw NlError(EAGAIN, who, what + " (interrupted by changes " + std::to_string(kAttempts) + " times)");
        if (err < 0) throw NlError(ns.last_errno ? ns.last_errno : EIO, who, what);
        for (auto& m : sink.messages) each(reinterpret_cast<nlmsghdr*>(m.data()));
        return;
    }
}

std::vector<RawLink> NlKernel::Impl::dump_links(Netns& ns) {
    std::vector<RawLink> out;
    MsgPtr msg = link_request(RTM_GETLINK, NLM_F_DUMP, "");
    dump(ns, msg.get(), RTM_NEWLINK, "dump links", [&](nlmsghdr* nlh) { out.push_back(parse_link(nlh)); });
    return out;
}

std::optional<RawLink> NlKernel::Impl::get_link(Netns& ns, const std::string& name) {
    if (pipeline) settle(ns.id);
    std::vector<RawLink> out;
    MsgPtr msg = link_request(RTM_GETLINK, 0, name);
    int err = nl_send_auto(ns.sock.get(), msg.get());
    if (err < 0) throw_libnl(err, name, "get link");
    CbPtr cb = clone_cb(ns);
    nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, collect_one_link, &out);
    ns.last_errno = 0;
    err = nl_recvmsgs(ns.sock.get(), cb.get());
    if (err < 0) {
        if (ns.last_errno == ENODEV) return std::nullopt;
        throw NlError(ns.last_errno ? ns.last_errno : EIO, name, "get link");
    }
    // The reply came first; the ack (auto-ack is on) follows: consume it so
    // the next request does not read it as its own.
    nl_wait_for_ack(ns.sock.get());
    if (out.empty()) return std::nullopt;
    return out.front();
}

int NlKernel::Impl::ifindex(Netns& ns, const std::string& name, const std::string& object,
                            const std::string& action) {
    auto i = find_index(ns, name);
    if (!i) throw NlError(ENODEV, object, action, "no such device: " + name);
    return *i;
}

std::optional<int> NlKernel::Impl::find_index(Netns& ns, const std::string& name) {
    if (auto it = ns.index.find(name); it != ns.index.end()) {
        ++cache_hits;
        return it->second;
    }
    if (pipeline) {
        // A queued create may be the link's: sent, its echo names the index
        // (a veth's host end names its peer's), and no read is needed.
        settle(ns.id, /*own_queue=*/false);
        if (auto it = ns.index.find(name); it != ns.index.end()) {
            ++cache_hits;
            return it->second;
        }
        settle(ns.id);
        if (auto it = ns.index.find(name); it != ns.index.end()) {
            ++cache_hits;
            return it->second;
        }
    }
    auto l = get_link(ns, name);
    if (!l) return std::nullopt;
    ns.index[name] = l->state.ifindex;
    return l->state.ifindex;
}

void NlKernel::Impl::forget_indexes() {
    for (auto& [_, n] : spaces) n->index.clear();
}

NlKernel::NlKernel() : impl_(std::make_unique<Impl>()) {}
NlKernel::~NlKernel() = default;
model::NetnsState NlKernel::observe(const NsId& ns) { return impl_->observe(ns); }
void NlKernel::execute(const Step& step) { impl_->execute(step); }
std::optional<Kernel::RunFailure> NlKernel::execute_steps(const std::vector<Step>& steps,
                                                          const std::function<void(std::size_t)>& before) {
    return impl_->execute_steps(steps, before);
}
void NlKernel::attach_namespace(const NsId& ns, int netns_fd) { impl_->attach(ns, netns_fd); }
std::map<NsId, std::string> NlKernel::attach_namespaces(const std::vector<std::pair<NsId, int>>& fds) {
    return impl_->attach_many(fds);
}
void NlKernel::detach_namespace(const NsId& ns) {
    if (!ns.empty()) impl_->spaces.erase(ns);  // ~Netns closes the socket and the fd
}
std::uint64_t NlKernel::namespace_cookie(const NsId& ns) const {
    auto it = impl_->spaces.find(ns);
    if (it == impl_->spaces.end() || !it->second->sock) return 0;
    std::uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    if (getsockopt(nl_socket_get_fd(it->second->sock.get()), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
        return 0;  // a kernel before 5.14
    return cookie;
}
std::uint64_t NlKernel::writes() const { return impl_->writes; }
std::map<NsId, int> NlKernel::peer_nsids() const { return impl_->nsids; }

}  // namespace netlab::reconcile::nl
