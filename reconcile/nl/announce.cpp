// NlKernel::announce: gratuitous ARP and unsolicited neighbour
// advertisements sent from inside each namespace, and the frames they carry.
#include "reconcile/nl/announce.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "reconcile/nl/impl.hpp"

namespace netlab::reconcile::nl {

std::vector<std::uint8_t> arp_announcement(const model::MacAddress& mac, const model::IpAddress& ip) {
    std::vector<std::uint8_t> f;
    f.reserve(28);
    auto u16 = [&](std::uint16_t v) {
        f.push_back(static_cast<std::uint8_t>(v >> 8));
        f.push_back(static_cast<std::uint8_t>(v & 0xff));
    };
    u16(ARPHRD_ETHER);
    u16(ETH_P_IP);
    f.push_back(6);  // hardware address length
    f.push_back(4);  // protocol address length
    u16(ARPOP_REQUEST);
    f.insert(f.end(), mac.bytes.begin(), mac.bytes.end());
    f.insert(f.end(), ip.bytes.begin(), ip.bytes.begin() + 4);
    f.insert(f.end(), 6, 0);
    f.insert(f.end(), ip.bytes.begin(), ip.bytes.begin() + 4);
    return f;
}

std::vector<std::uint8_t> neighbour_advertisement(const model::MacAddress& mac, const model::IpAddress& ip,
                                                  bool router) {
    std::vector<std::uint8_t> f;
    f.reserve(32);
    f.push_back(136);  // ND_NEIGHBOR_ADVERT
    f.push_back(0);    // code
    f.push_back(0);    // checksum: the kernel's
    f.push_back(0);
    f.push_back(static_cast<std::uint8_t>((router ? 0x80 : 0) | 0x20));  // R, (S clear), O
    f.insert(f.end(), 3, 0);
    f.insert(f.end(), ip.bytes.begin(), ip.bytes.end());
    f.push_back(2);  // target link-layer address option
    f.push_back(1);  // its length in units of 8 bytes
    f.insert(f.end(), mac.bytes.begin(), mac.bytes.end());
    return f;
}

namespace {

// net.ipv6.conf.DEV.forwarding of the calling thread's namespace (/proc/sys/net
// is the namespace of the thread that opens it).
bool ipv6_forwarding(const std::string& dev) {
    const std::string path = "/proc/sys/net/ipv6/conf/" + dev + "/forwarding";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char c = '0';
    const bool yes = ::read(fd, &c, 1) == 1 && c != '0';
    ::close(fd);
    return yes;
}

// "" when sent, else why not.
std::string sent_or_why(ssize_t n, std::size_t size) {
    if (n == static_cast<ssize_t>(size)) return {};
    return n < 0 ? std::string("send: ") + std::strerror(errno) : "send: short write";
}

std::string send_arp(int sock, const Announcement& a) {
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_ARP);
    to.sll_ifindex = a.ifindex;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    const auto frame = arp_announcement(a.mac, a.addr);
    return sent_or_why(::sendto(sock, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                       frame.size());
}

// A raw ICMPv6 socket bound to the address itself: the kernel refuses the
// bind (EADDRNOTAVAIL) while the address is tentative, and an address must
// not be advertised before duplicate address detection has passed it
// (RFC 4862 section 5.4). -1 when it cannot be used, and `why` says why.
int na_socket(const Announcement& a, std::string& why) {
    int s = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (s < 0) {
        why = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    int hops = 255;
    int index = a.ifindex;
    sockaddr_in6 me{};
    me.sin6_family = AF_INET6;
    std::memcpy(&me.sin6_addr, a.addr.bytes.data(), 16);
    if (::setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0 ||
        ::setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index) != 0 ||
        ::bind(s, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0) {
        why = errno == EADDRNOTAVAIL ? "tentative: duplicate address detection has not passed it yet"
                                     : std::string("socket: ") + std::strerror(errno);
        ::close(s);
        return -1;
    }
    return s;
}

std::string send_na(int sock, const Announcement& a, bool router) {
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_addr.s6_addr[0] = 0xff;
    to.sin6_addr.s6_addr[1] = 0x02;
    to.sin6_addr.s6_addr[15] = 0x01;
    to.sin6_scope_id = static_cast<std::uint32_t>(a.ifindex);
    const auto msg = neighbour_advertisement(a.mac, a.addr, router);
    return sent_or_why(::sendto(sock, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                       msg.size());
}

}  // namespace

std::vector<std::string> NlKernel::announce(const std::vector<Announcement>& what) {
    // Until proven sent; each failure below says what it was.
    std::vector<std::string> why(what.size(), "not sent");
    if (what.empty()) return why;
    // Grouped by namespace, each with the fd to enter it by.
    std::map<NsId, std::vector<std::size_t>> by_ns;
    std::map<NsId, int> fds;
    for (std::size_t i = 0; i < what.size(); ++i) {
        if (!fds.count(what[i].ns)) {
            try {
                fds[what[i].ns] = impl_->ns_fd(what[i].ns);
            } catch (const std::exception& e) {
                // Not attached (a container gone meanwhile): nothing to tell.
                why[i] = std::string("namespace not reachable: ") + e.what();
                continue;
            }
        }
        by_ns[what[i].ns].push_back(i);
    }
    // Per announcement: the socket it goes out of (-1: none, skipped) and
    // the Router flag of an NA. A namespace's IPv4 announcements share one
    // packet socket (arp_socks owns them).
    std::vector<int> sock(what.size(), -1);
    std::vector<bool> router(what.size(), false);
    std::vector<int> arp_socks, na_socks;
    arp_socks.reserve(what.size());  // no push_back below can throw and lose a socket
    na_socks.reserve(what.size());
    auto send_one = [&](std::size_t i) {
        if (sock[i] < 0) return;
        why[i] = what[i].addr.is_v4() ? send_arp(sock[i], what[i]) : send_na(sock[i], what[i], router[i]);
    };
    // Packet and raw sockets belong to the namespace current when they are
    // made: a thread of our own enters each in turn, makes them, sends and
    // ends (the caller's thread never moves; see attach_many in socket.cpp).
    std::thread opener([&] {
        // Best effort: what cannot be made (memory) is not sent; an
        // exception must not leave this thread (std::terminate).
        try {
            for (const auto& [ns, items] : by_ns) {
                if (::setns(fds.at(ns), CLONE_NEWNET) != 0) {
                    const std::string e = std::string("cannot enter the namespace: ") + std::strerror(errno);
                    for (std::size_t i : items) why[i] = e;
                    continue;
                }
                int arp = -1;
                std::string arp_why;
                for (std::size_t i : items) {
                    if (what[i].addr.is_v4()) {
                        // Protocol 0: a socket that only sends, so no frame is
                        // queued to it meanwhile.
                        if (arp < 0 && arp_why.empty()) {
                            if ((arp = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0)
                                arp_socks.push_back(arp);
                            else
                                arp_why = std::string("socket: ") + std::strerror(errno);
                        }
                        sock[i] = arp;
                        if (arp < 0) why[i] = arp_why;
                    } else if ((sock[i] = na_socket(what[i], why[i])) >= 0) {
                        na_socks.push_back(sock[i]);
                        router[i] = ipv6_forwarding(what[i].dev);
                    }
                    send_one(i);
                }
            }
        } catch (...) {
        }
    });
    opener.join();
    for (int s : na_socks) ::close(s);
    // Closing a packet socket waits for an RCU grace period; the batch is
    // closed behind the caller's back, many at once (deferred_close.hpp).
    impl_->closer.close_later(std::move(arp_socks));
    return why;
}

}  // namespace netlab::reconcile::nl
