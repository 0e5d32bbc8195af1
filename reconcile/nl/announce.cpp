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

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <system_error>
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

bool send_arp(int sock, const Announcement& a) {
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_ARP);
    to.sll_ifindex = a.ifindex;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    const auto frame = arp_announcement(a.mac, a.addr);
    return ::sendto(sock, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
           static_cast<ssize_t>(frame.size());
}

// A raw ICMPv6 socket bound to the address itself: the kernel refuses the
// bind (EADDRNOTAVAIL) while the address is tentative, and an address must
// not be advertised before duplicate address detection has passed it
// (RFC 4862 section 5.4). -1 when it cannot be used.
int na_socket(const Announcement& a) {
    int s = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (s < 0) return -1;
    int hops = 255;
    int index = a.ifindex;
    sockaddr_in6 me{};
    me.sin6_family = AF_INET6;
    std::memcpy(&me.sin6_addr, a.addr.bytes.data(), 16);
    if (::setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0 ||
        ::setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index) != 0 ||
        ::bind(s, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0) {
        ::close(s);
        return -1;
    }
    return s;
}

bool send_na(int sock, const Announcement& a, bool router) {
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_addr.s6_addr[0] = 0xff;
    to.sin6_addr.s6_addr[1] = 0x02;
    to.sin6_addr.s6_addr[15] = 0x01;
    to.sin6_scope_id = static_cast<std::uint32_t>(a.ifindex);
    const auto msg = neighbour_advertisement(a.mac, a.addr, router);
    return ::sendto(sock, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
           static_cast<ssize_t>(msg.size());
}

}  // namespace

std::size_t NlKernel::announce(const std::vector<Announcement>& what) {
    if (what.empty()) return 0;
    // Grouped by namespace, each with the fd to enter it by.
    std::map<NsId, std::vector<std::size_t>> by_ns;
    std::map<NsId, int> fds;
    for (std::size_t i = 0; i < what.size(); ++i) {
        if (!fds.count(what[i].ns)) {
            try {
                fds[what[i].ns] = impl_->ns_fd(what[i].ns);
            } catch (const std::exception&) {
                continue;  // not attached (a container gone meanwhile): nothing to tell
            }
        }
        by_ns[what[i].ns].push_back(i);
    }
    // Per announcement: the socket it goes out of (-1: none, skipped) and
    // the Router flag of an NA. A namespace's IPv4 announcements share one
    // packet socket (arp_socks owns them).
    std::vector<int> sock(what.size(), -1);
    std::vector<bool> router(what.size(), false), sent(what.size(), false);
    std::vector<int> arp_socks, na_socks;
    arp_socks.reserve(what.size());  // no push_back below can throw and lose a socket
    na_socks.reserve(what.size());
    auto send_one = [&](std::size_t i) {
        if (sock[i] < 0) return;
        const bool ok = what[i].addr.is_v4() ? send_arp(sock[i], what[i]) : send_na(sock[i], what[i], router[i]);
        if (ok) sent[i] = true;
    };
    // Packet and raw sockets belong to the namespace current when they are
    // made: a thread of our own enters each in turn, makes them, sends the
    // first round and ends (the caller's thread never moves; see attach_many
    // in socket.cpp). The sockets stay in their namespaces for the later rounds.
    std::thread opener([&] {
        // Best effort: what cannot be made (memory) is not sent; an
        // exception must not leave this thread (std::terminate).
        try {
            for (const auto& [ns, items] : by_ns) {
                if (::setns(fds.at(ns), CLONE_NEWNET) != 0) continue;
                int arp = -1;
                for (std::size_t i : items) {
                    if (what[i].addr.is_v4()) {
                        // Protocol 0: a socket that only sends, so no frame is
                        // queued to it meanwhile.
                        if (arp < 0 && (arp = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0)
                            arp_socks.push_back(arp);
                        sock[i] = arp;
                    } else if ((sock[i] = na_socket(what[i])) >= 0) {
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
    const int rounds = what.size() <= kAnnounceRepeatMax ? kAnnounceRounds : 1;
    for (int round = 1; round < rounds; ++round) {
        std::this_thread::sleep_for(std::chrono::milliseconds(kAnnounceGapMs));
        for (std::size_t i = 0; i < what.size(); ++i) send_one(i);
    }
    for (int s : na_socks) ::close(s);
    // Closing a packet socket waits for an RCU grace period
    // (packet_release: synchronize_net), a few ms each: one after the other
    // that is seconds for 1000 namespaces. Closed from several threads at
    // once, the waits share grace periods.
    constexpr std::size_t kClosers = 32;
    const std::size_t lanes = std::min(kClosers, arp_socks.size());
    auto close_lane = [&](std::size_t t) {
        for (std::size_t k = t; k < arp_socks.size(); k += kClosers) ::close(arp_socks[k]);
    };
    std::vector<std::thread> closers;
    closers.reserve(lanes);  // emplace_back never reallocates: a failed start leaves no thread unjoined
    std::size_t started = 0;
    for (; started < lanes; ++started) {
        try {
            closers.emplace_back(close_lane, started);
        } catch (const std::system_error&) {
            break;  // no thread to spare (TasksMax): the rest are closed here
        }
    }
    for (std::size_t t = started; t < lanes; ++t) close_lane(t);
    for (auto& t : closers) t.join();
    std::size_t n = 0;
    for (bool b : sent) n += b;
    return n;
}

}  // namespace netlab::reconcile::nl
