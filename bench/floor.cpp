// bench_floor: the raw-netlink floor of the benchmarks (issue 7, docs/benchmarks.md).
//
// A minimal single-process libnl program that does the pipework-style work of
// W1 (veth pair, container end in the container's netns named eth1, address,
// default route via the gateway, host end enslaved to the bridge, both ends up)
// as fast as the kernel allows, the bulk teardown of W4, and the raw dump of
// W2. It is not netlab: no model, no diff, no rollback. It exists so that
// netlab's figures have a lower bound measured in the same run.
//
// Why it is shaped this way (kernel 6.18, measured):
// - The container end is created directly in the container's namespace
//   (IFLA_NET_NS_FD inside VETH_INFO_PEER): moving a link waits ~18 ms in
//   rcu_barrier().
// - The peer cannot be created already up (ENOTCONN): it is brought up by a
//   request sent from inside its namespace.
// - Requests are packed many to one sendmsg(): the kernel handles each in
//   turn and queues one ack per request, so the cost is the kernel's work, not
//   syscalls. The receive buffer is raised so no ack is dropped.
// - Deleting links one request at a time waits in rcu_barrier() per request;
//   one RTM_DELLINK carrying IFLA_GROUP deletes the whole group at once.
//
// The workload comes from a plan file written by bench/run.sh, one container
// per line: NETNS HOST_END IFNAME ADDR/LEN GATEWAY BRIDGE
//
// Usage (run inside the bench's host namespace, e.g. under `ip netns exec`):
//   bench_floor attach   PLAN [--group G]     W1: attach every container
//   bench_floor teardown PLAN --group G [--grouped]
//                                             W4: put the host ends in group G
//                                             (skipped with --grouped), then
//                                             one RTM_DELLINK for the group
//   bench_floor dump     PLAN                 W2: dump links, addresses and
//                                             routes of this netns and of
//                                             every container netns
//   bench_floor sysctl   PLAN --ipv6 0|1      enable/disable IPv6 in this
//                                             netns and every container netns
//   bench_floor sweep    PLAN                 clean-up after a failed method:
//                                             delete every non-loopback link
//                                             in the container namespaces
// Each prints one JSON object with its own phase timings on stdout.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// An error that keeps the kernel's errno and what it was about.
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& what, int err) {
    throw Failure(what + ": " + std::strerror(err));
}

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Attachment {
    std::string netns, host_end, ifname, gateway, bridge;
    int family = AF_INET;
    unsigned char addr[16] = {};
    unsigned char gw[16] = {};
    int prefixlen = 0;
};

std::vector<Attachment> read_plan(const std::string& path) {
    std::ifstream in(path);
    if (!in) fail("open " + path, errno);
    std::vector<Attachment> plan;
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        Attachment a;
        std::string cidr;
        if (!(fields >> a.netns >> a.host_end >> a.ifname >> cidr >> a.gateway >> a.bridge))
            throw Failure(path + ":" + std::to_string(lineno) + ": expected NETNS HOST_END IFNAME ADDR/LEN GATEWAY BRIDGE");
        auto slash = cidr.find('/');
        std::string ip = cidr.substr(0, slash);
        a.prefixlen = slash == std::string::npos ? -1 : std::atoi(cidr.c_str() + slash + 1);
        a.family = ip.find(':') == std::string::npos ? AF_INET : AF_INET6;
        if (inet_pton(a.family, ip.c_str(), a.addr) != 1 || inet_pton(a.family, a.gateway.c_str(), a.gw) != 1 ||
            a.prefixlen < 0)
            throw Failure(path + ":" + std::to_string(lineno) + ": bad address '" + cidr + "' or gateway '" + a.gateway + "'");
        plan.push_back(std::move(a));
    }
    return plan;
}

// ---- namespaces ---------------------------------------------------------------

struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
    Fd& operator=(Fd&& o) noexcept {
        std::swap(fd, o.fd);
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

Fd open_netns(const std::string& name) {
    std::string path = "/run/netns/" + name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("open " + path, errno);
    return Fd(fd);
}

// The bench must never act in the machine's own namespace (its eth0 carries
// the session). /proc/1/ns/net may not be readable here, so the test is the
// one `ip netns identify` makes: the current namespace must be a named one,
// bind-mounted under /run/netns.
void refuse_unnamed_netns() {
    struct stat self{};
    if (::stat("/proc/self/ns/net", &self) != 0) fail("stat /proc/self/ns/net", errno);
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/run/netns"), ::closedir);
    if (dir) {
        while (dirent* e = ::readdir(dir.get())) {
            struct stat st{};
            std::string path = std::string("/run/netns/") + e->d_name;
            if (e->d_name[0] != '.' && ::stat(path.c_str(), &st) == 0 && st.st_ino == self.st_ino &&
                st.st_dev == self.st_dev)
                return;
        }
    }
    throw Failure("refusing to run outside a named network namespace (the machine's own must not be touched); "
                  "use `ip netns exec NS bench_floor ...`");
}

// setns() on this (only) thread, and always back, so every socket belongs to
// the namespace it was opened in and the process ends where it started.
class NetnsGuard {
public:
    NetnsGuard(int home, int target) : home_(home) {
        if (::setns(target, CLONE_NEWNET) != 0) fail("setns", errno);
    }
    ~NetnsGuard() {
        if (::setns(home_, CLONE_NEWNET) != 0) {
            std::perror("bench_floor: setns back home");
            std::abort();
        }
    }
    NetnsGuard(const NetnsGuard&) = delete;
    NetnsGuard& operator=(const NetnsGuard&) = delete;

private:
    int home_;
};

// ---- netlink ------------------------------------------------------------------

struct SockDeleter {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct MsgDeleter {
    void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgDeleter>;

MsgPtr new_msg(int type, int flags) {
    MsgPtr m(nlmsg_alloc_simple(type, flags));
    if (!m) throw Failure("nlmsg_alloc_simple: out of memory");
    return m;
}

void check(int nlerr, const char* what) {
    if (nlerr < 0) throw Failure(std::string(what) + ": " + nl_geterror(nlerr));
}

// One rtnetlink socket of one namespace, with requests packed into as few
// sendmsg() calls as the socket buffers allow.
class Rtnl {
public:
    Rtnl() : sk_(nl_socket_alloc()) {
        if (!sk_) throw Failure("nl_socket_alloc: out of memory");
        check(nl_connect(sk_.get(), NETLINK_ROUTE), "nl_connect");
        int fd = nl_socket_get_fd(sk_.get());
        int big = 8 << 20;
        // Over net.core.rmem_max on purpose (we are root): a batch of acks
        // must never overflow, or acks are dropped and the socket reports ENOBUFS.
        if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0) fail("SO_RCVBUFFORCE", errno);
        if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) != 0) fail("SO_SNDBUFFORCE", errno);
        int one = 1;
        ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    }

    // Queue a request; it is sent by flush() (or when the batch is full).
    void add(MsgPtr m, std::string what) {
        nl_complete_msg(sk_.get(), m.get());
        nlmsghdr* h = nlmsg_hdr(m.get());
        whats_[h->nlmsg_seq] = std::move(what);
        size_t at = buf_.size();
        buf_.resize(at + NLMSG_ALIGN(h->nlmsg_len));
        std::memcpy(buf_.data() + at, h, h->nlmsg_len);
        ++pending_;
        ++writes_;
        if (pending_ >= kBatch || buf_.size() >= kBatchBytes) flush();
    }

    // Send what is queued and wait for one ack per request. Errors are
    // collected, not thrown at the first one, so a run reports them all.
    void flush() {
        if (pending_ == 0) return;
        int fd = nl_socket_get_fd(sk_.get());
        ssize_t sent = ::send(fd, buf_.data(), buf_.size(), 0);
        if (sent != static_cast<ssize_t>(buf_.size())) fail("netlink send", errno);
        buf_.clear();
        while (pending_ > 0) {
            ssize_t n = ::recv(fd, rx_, sizeof rx_, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                fail("netlink recv", errno);
            }
            int len = static_cast<int>(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(rx_); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                if (h->nlmsg_type != NLMSG_ERROR) continue;
                auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
                --pending_;
                if (e->error != 0) {
                    auto it = whats_.find(h->nlmsg_seq);
                    errors_.push_back((it == whats_.end() ? "?" : it->second) + ": " + std::strerror(-e->error));
                }
                whats_.erase(h->nlmsg_seq);
            }
        }
    }

    // A request whose answer we need (RTM_GETLINK by name): returns the ifindex.
    int ifindex_of(const std::string& name) {
        flush();
        auto m = new_msg(RTM_GETLINK, 0);
        ifinfomsg ifi{};
        ifi.ifi_family = AF_UNSPEC;
        check(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO), "nlmsg_append");
        check(nla_put_string(m.get(), IFLA_IFNAME, name.c_str()), "nla_put");
        check(nla_put_u32(m.get(), IFLA_EXT_MASK, 0), "nla_put");
        check(nl_send_auto(sk_.get(), m.get()), ("get link " + name).c_str());
        int fd = nl_socket_get_fd(sk_.get());
        int index = 0;
        bool acked = false;
        while (!acked) {
            ssize_t n = ::recv(fd, rx_, sizeof rx_, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                fail("netlink recv", errno);
            }
            int len = static_cast<int>(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(rx_); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                if (h->nlmsg_type == RTM_NEWLINK) {
                    index = static_cast<ifinfomsg*>(NLMSG_DATA(h))->ifi_index;
                } else if (h->nlmsg_type == NLMSG_ERROR) {
                    int err = static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
                    if (err != 0) fail("get link " + name, -err);
                    acked = true;
                }
            }
        }
        return index;
    }

    // Dump one table (RTM_GETLINK/GETADDR/GETROUTE, all families); returns
    // the number of objects. Nothing is parsed beyond the header: this is the
    // floor that netlab's observe is compared with.
    long dump(int type) {
        auto m = new_msg(type, NLM_F_DUMP);
        rtgenmsg g{};
        g.rtgen_family = AF_UNSPEC;
        check(nlmsg_append(m.get(), &g, sizeof g, NLMSG_ALIGNTO), "nlmsg_append");
        nlmsg_hdr(m.get())->nlmsg_flags &= ~NLM_F_ACK;
        check(nl_send_auto(sk_.get(), m.get()), "dump request");
        int fd = nl_socket_get_fd(sk_.get());
        long objects = 0;
        for (;;) {
            ssize_t n = ::recv(fd, rx_, sizeof rx_, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                fail("netlink recv", errno);
            }
            int len = static_cast<int>(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(rx_); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                if (h->nlmsg_type == NLMSG_DONE) return objects;
                if (h->nlmsg_type == NLMSG_ERROR) {
                    int err = static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
                    fail("dump", -err);
                }
                ++objects;
            }
        }
    }

    // Every link of this namespace but loopback: (ifindex, name).
    std::vector<std::pair<int, std::string>> non_loopback_links() {
        auto m = new_msg(RTM_GETLINK, NLM_F_DUMP);
        ifinfomsg ifi{};
        ifi.ifi_family = AF_UNSPEC;
        check(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO), "nlmsg_append");
        nlmsg_hdr(m.get())->nlmsg_flags &= ~NLM_F_ACK;
        check(nl_send_auto(sk_.get(), m.get()), "dump request");
        int fd = nl_socket_get_fd(sk_.get());
        std::vector<std::pair<int, std::string>> out;
        for (;;) {
            ssize_t n = ::recv(fd, rx_, sizeof rx_, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                fail("netlink recv", errno);
            }
            int len = static_cast<int>(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(rx_); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                if (h->nlmsg_type == NLMSG_DONE) return out;
                if (h->nlmsg_type == NLMSG_ERROR) fail("dump links", -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error);
                if (h->nlmsg_type != RTM_NEWLINK) continue;
                auto* li = static_cast<ifinfomsg*>(NLMSG_DATA(h));
                if (li->ifi_flags & IFF_LOOPBACK) continue;
                nlattr* tb[IFLA_MAX + 1];
                if (nlmsg_parse(h, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0) continue;
                out.emplace_back(li->ifi_index, tb[IFLA_IFNAME] ? nla_get_string(tb[IFLA_IFNAME]) : "?");
            }
        }
    }

    long writes() const { return writes_; }
    const std::vector<std::string>& errors() const { return errors_; }

private:
    static constexpr int kBatch = 128;
    static constexpr size_t kBatchBytes = 64 * 1024;
    std::unique_ptr<nl_sock, SockDeleter> sk_;
    std::vector<char> buf_;
    std::map<std::uint32_t, std::string> whats_;
    std::vector<std::string> errors_;
    int pending_ = 0;
    long writes_ = 0;
    // One receive buffer for every socket: the program is single-threaded,
    // and 1001 sockets must not cost 1001 buffers.
    alignas(nlmsghdr) static inline char rx_[256 * 1024];
};

Rtnl open_rtnl_in(int home, int target) {
    NetnsGuard in(home, target);
    return Rtnl();
}

// ---- requests -------------------------------------------------------------------

// Host end `host_end` (up, enslaved to `bridge_index`, in `group` if non-zero)
// with its peer `ifname` created directly in the namespace `ns_fd`, down.
MsgPtr veth_request(const Attachment& a, int bridge_index, std::uint32_t group, int ns_fd) {
    auto m = new_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_flags = IFF_UP;
    ifi.ifi_change = IFF_UP;
    check(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO), "nlmsg_append");
    check(nla_put_string(m.get(), IFLA_IFNAME, a.host_end.c_str()), "nla_put");
    check(nla_put_u32(m.get(), IFLA_MASTER, static_cast<std::uint32_t>(bridge_index)), "nla_put");
    if (group != 0) check(nla_put_u32(m.get(), IFLA_GROUP, group), "nla_put");
    nlattr* info = nla_nest_start(m.get(), IFLA_LINKINFO);
    check(nla_put_string(m.get(), IFLA_INFO_KIND, "veth"), "nla_put");
    nlattr* data = nla_nest_start(m.get(), IFLA_INFO_DATA);
    nlattr* peer = nla_nest_start(m.get(), VETH_INFO_PEER);
    ifinfomsg pifi{};
    pifi.ifi_family = AF_UNSPEC;
    check(nlmsg_append(m.get(), &pifi, sizeof pifi, NLMSG_ALIGNTO), "nlmsg_append");
    check(nla_put_string(m.get(), IFLA_IFNAME, a.ifname.c_str()), "nla_put");
    check(nla_put_u32(m.get(), IFLA_NET_NS_FD, static_cast<std::uint32_t>(ns_fd)), "nla_put");
    nla_nest_end(m.get(), peer);
    nla_nest_end(m.get(), data);
    nla_nest_end(m.get(), info);
    return m;
}

MsgPtr link_up_request(int ifindex) {
    auto m = new_msg(RTM_NEWLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = ifindex;
    ifi.ifi_flags = IFF_UP;
    ifi.ifi_change = IFF_UP;
    check(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO), "nlmsg_append");
    return m;
}

size_t addr_len(int family) { return family == AF_INET ? 4 : 16; }

MsgPtr addr_request(const Attachment& a, int ifindex) {
    auto m = new_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    ifaddrmsg ifa{};
    ifa.ifa_family = static_cast<unsigned char>(a.family);
    ifa.ifa_prefixlen = static_cast<unsigned char>(a.prefixlen);
    ifa.ifa_index = static_cast<unsigned>(ifindex);
    check(nlmsg_append(m.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO), "nlmsg_append");
    check(nla_put(m.get(), IFA_LOCAL, static_cast<int>(addr_len(a.family)), a.addr), "nla_put");
    check(nla_put(m.get(), IFA_ADDRESS, static_cast<int>(addr_len(a.family)), a.addr), "nla_put");
    return m;
}

// pipework's "@GW": the container's default route, replaced, via the gateway.
MsgPtr default_route_request(const Attachment& a, int ifindex) {
    auto m = new_msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
    rtmsg rt{};
    rt.rtm_family = static_cast<unsigned char>(a.family);
    rt.rtm_table = RT_TABLE_MAIN;
    rt.rtm_protocol = RTPROT_BOOT;
    rt.rtm_scope = RT_SCOPE_UNIVERSE;
    rt.rtm_type = RTN_UNICAST;
    check(nlmsg_append(m.get(), &rt, sizeof rt, NLMSG_ALIGNTO), "nlmsg_append");
    check(nla_put(m.get(), RTA_GATEWAY, static_cast<int>(addr_len(a.family)), a.gw), "nla_put");
    check(nla_put_u32(m.get(), RTA_OIF, static_cast<std::uint32_t>(ifindex)), "nla_put");
    return m;
}

MsgPtr set_group_request(const std::string& name, std::uint32_t group) {
    auto m = new_msg(RTM_NEWLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    check(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO), "nlmsg_append");
    check(nla_put_string(m.get(), IFLA_IFNAME, name.c_str()), "nla_put");
    check(nla_put_u32(m.get(), IFLA_GROUP, group), "nla_put");
    return m;
}

MsgPtr delete_group_request(std::uint32_t group) {
    auto m = new_msg(RTM_DELLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    check(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO), "nlmsg_append");
    check(nla_put_u32(m.get(), IFLA_GROUP, group), "nla_put");
    return m;
}

// ---- commands ------------------------------------------------------------------

int report_errors(const char* cmd, const std::vector<std::string>& errors) {
    for (const auto& e : errors) std::fprintf(stderr, "bench_floor %s: %s\n", cmd, e.c_str());
    return errors.empty() ? 0 : 1;
}

// Distinct namespaces of the plan, in plan order.
std::vector<std::string> namespaces_of(const std::vector<Attachment>& plan) {
    std::vector<std::string> out;
    std::map<std::string, bool> seen;
    for (const auto& a : plan)
        if (!seen[a.netns]) {
            seen[a.netns] = true;
            out.push_back(a.netns);
        }
    return out;
}

int cmd_attach(const std::vector<Attachment>& plan, std::uint32_t group) {
    auto t0 = Clock::now();
    Fd home(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (home.fd < 0) fail("open /proc/self/ns/net", errno);
    std::map<std::string, Fd> ns_fds;
    for (const auto& name : namespaces_of(plan)) ns_fds.emplace(name, open_netns(name));
    std::map<std::string, int> bridges;
    for (const auto& a : plan) {
        if (bridges.count(a.bridge)) continue;
        unsigned idx = if_nametoindex(a.bridge.c_str());
        if (idx == 0) fail("bridge " + a.bridge, errno);
        bridges[a.bridge] = static_cast<int>(idx);
    }
    double t_open = ms_since(t0);

    // Phase 1, host namespace: every veth pair, host end up and enslaved,
    // container end born in its namespace.
    auto t1 = Clock::now();
    Rtnl host;
    for (const auto& a : plan)
        host.add(veth_request(a, bridges[a.bridge], group, ns_fds.at(a.netns).fd), a.host_end + ": create veth");
    host.flush();
    double t_host = ms_since(t1);
    if (report_errors("attach", host.errors()) != 0) return 1;

    // Phase 2, each container namespace: its end up, the address, the route.
    auto t2 = Clock::now();
    std::vector<std::string> errors;
    long writes = host.writes();
    std::map<std::string, std::unique_ptr<Rtnl>> socks;
    for (const auto& a : plan) {
        auto& sk = socks[a.netns];
        if (!sk) sk = std::make_unique<Rtnl>(open_rtnl_in(home.fd, ns_fds.at(a.netns).fd));
        int ifindex = sk->ifindex_of(a.ifname);
        std::string who = a.netns + "/" + a.ifname;
        sk->add(link_up_request(ifindex), who + ": up");
        sk->add(addr_request(a, ifindex), who + ": address");
        sk->add(default_route_request(a, ifindex), who + ": default route");
        sk->flush();
    }
    for (auto& [name, sk] : socks) {
        writes += sk->writes();
        errors.insert(errors.end(), sk->errors().begin(), sk->errors().end());
    }
    double t_ns = ms_since(t2);
    std::printf("{\"op\":\"attach\",\"containers\":%zu,\"writes\":%ld,\"open_ms\":%.3f,\"host_ms\":%.3f,"
                "\"containers_ms\":%.3f,\"total_ms\":%.3f,\"errors\":%zu}\n",
                plan.size(), writes, t_open, t_host, t_ns, ms_since(t0), errors.size());
    return report_errors("attach", errors);
}

int cmd_teardown(const std::vector<Attachment>& plan, std::uint32_t group, bool grouped) {
    auto t0 = Clock::now();
    Rtnl host;
    if (!grouped) {
        for (const auto& a : plan) host.add(set_group_request(a.host_end, group), a.host_end + ": set group");
        host.flush();
    }
    double t_group = ms_since(t0);
    auto t1 = Clock::now();
    host.add(delete_group_request(group), "delete group " + std::to_string(group));
    host.flush();
    double t_del = ms_since(t1);
    std::printf("{\"op\":\"teardown\",\"links\":%zu,\"writes\":%ld,\"group_ms\":%.3f,\"delete_ms\":%.3f,"
                "\"total_ms\":%.3f,\"errors\":%zu}\n",
                plan.size(), host.writes(), t_group, t_del, ms_since(t0), host.errors().size());
    return report_errors("teardown", host.errors());
}

int cmd_dump(const std::vector<Attachment>& plan) {
    auto t0 = Clock::now();
    Fd home(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (home.fd < 0) fail("open /proc/self/ns/net", errno);
    std::vector<std::unique_ptr<Rtnl>> socks;
    socks.push_back(std::make_unique<Rtnl>());
    for (const auto& name : namespaces_of(plan)) {
        Fd ns = open_netns(name);
        socks.push_back(std::make_unique<Rtnl>(open_rtnl_in(home.fd, ns.fd)));
    }
    double t_open = ms_since(t0);
    auto t1 = Clock::now();
    long links = 0, addrs = 0, routes = 0;
    for (auto& sk : socks) {
        links += sk->dump(RTM_GETLINK);
        addrs += sk->dump(RTM_GETADDR);
        routes += sk->dump(RTM_GETROUTE);
    }
    double t_dump = ms_since(t1);
    std::printf("{\"op\":\"dump\",\"sockets\":%zu,\"links\":%ld,\"addresses\":%ld,\"routes\":%ld,"
                "\"open_ms\":%.3f,\"dump_ms\":%.3f,\"total_ms\":%.3f}\n",
                socks.size(), links, addrs, routes, t_open, t_dump, ms_since(t0));
    return 0;
}

// Not a measurement: puts every container namespace of the plan back to
// loopback only, whatever a failed method left there (one process, where
// `ip -n` per namespace would start thousands).
int cmd_sweep(const std::vector<Attachment>& plan) {
    Fd home(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (home.fd < 0) fail("open /proc/self/ns/net", errno);
    long deleted = 0;
    std::vector<std::string> errors;
    for (const auto& name : namespaces_of(plan)) {
        Fd ns = open_netns(name);
        Rtnl sk = open_rtnl_in(home.fd, ns.fd);
        for (const auto& [index, ifname] : sk.non_loopback_links()) {
            auto m = new_msg(RTM_DELLINK, 0);
            ifinfomsg ifi{};
            ifi.ifi_family = AF_UNSPEC;
            ifi.ifi_index = index;
            check(nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO), "nlmsg_append");
            sk.add(std::move(m), name + "/" + ifname + ": delete");
            ++deleted;
        }
        sk.flush();
        errors.insert(errors.end(), sk.errors().begin(), sk.errors().end());
    }
    std::printf("{\"op\":\"sweep\",\"deleted\":%ld,\"errors\":%zu}\n", deleted, errors.size());
    return report_errors("sweep", errors);
}

void write_file(const std::string& path, const char* value) {
    // Opened after setns(): /proc/sys/net is the namespace of the opener.
    Fd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (f.fd < 0) fail("open " + path, errno);
    if (::write(f.fd, value, std::strlen(value)) < 0) fail("write " + path, errno);
}

int cmd_sysctl(const std::vector<Attachment>& plan, bool ipv6) {
    auto t0 = Clock::now();
    const char* v = ipv6 ? "0" : "1";
    auto set_here = [&] {
        write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", v);
        write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", v);
    };
    Fd home(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (home.fd < 0) fail("open /proc/self/ns/net", errno);
    set_here();
    size_t count = 1;
    for (const auto& name : namespaces_of(plan)) {
        Fd ns = open_netns(name);
        NetnsGuard in(home.fd, ns.fd);
        set_here();
        ++count;
    }
    std::printf("{\"op\":\"sysctl\",\"namespaces\":%zu,\"ipv6\":%d,\"total_ms\":%.3f}\n", count, ipv6 ? 1 : 0,
                ms_since(t0));
    return 0;
}

void usage() {
    std::fputs(
        "usage: bench_floor attach PLAN [--group G]\n"
        "       bench_floor teardown PLAN --group G [--grouped]\n"
        "       bench_floor dump PLAN\n"
        "       bench_floor sysctl PLAN --ipv6 0|1\n"
        "       bench_floor sweep PLAN                (not timed: every container netns back to lo only)\n"
        "PLAN: one container per line: NETNS HOST_END IFNAME ADDR/LEN GATEWAY BRIDGE\n",
        stderr);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        usage();
        return 2;
    }
    std::string cmd = argv[1];
    std::uint32_t group = 0;
    bool grouped = false;
    int ipv6 = -1;
    for (int i = 3; i < argc; ++i) {
        std::string opt = argv[i];
        if (opt == "--group" && i + 1 < argc) {
            group = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
        } else if (opt == "--grouped") {
            grouped = true;
        } else if (opt == "--ipv6" && i + 1 < argc) {
            ipv6 = std::atoi(argv[++i]);
        } else {
            usage();
            return 2;
        }
    }
    try {
        refuse_unnamed_netns();
        // One fd per container namespace and one socket each: 2 per container.
        rlimit nofile{};
        if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
            nofile.rlim_cur = nofile.rlim_max;
            if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0) fail("setrlimit NOFILE", errno);
        }
        auto plan = read_plan(argv[2]);
        if (cmd == "attach") return cmd_attach(plan, group);
        if (cmd == "teardown") {
            if (group == 0) throw Failure("teardown needs --group G (G > 0)");
            return cmd_teardown(plan, group, grouped);
        }
        if (cmd == "dump") return cmd_dump(plan);
        if (cmd == "sweep") return cmd_sweep(plan);
        if (cmd == "sysctl") {
            if (ipv6 != 0 && ipv6 != 1) throw Failure("sysctl needs --ipv6 0|1");
            return cmd_sysctl(plan, ipv6 == 1);
        }
        usage();
        return 2;
    } catch (const Failure& e) {
        std::fprintf(stderr, "bench_floor %s: %s\n", cmd.c_str(), e.what());
        return 1;
    }
}
