#include "netlabd/probe.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <optional>

#include "reconcile/nl/neighbour.hpp"
#include "reconcile/unique_fd.hpp"

namespace netlab::daemon {

namespace {

using Clock = std::chrono::steady_clock;

std::uint16_t checksum(const std::uint8_t* p, std::size_t n) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < n; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

struct Echo {
    bool answered = false;
    double rtt_ms = 0;
    std::string error;  // the socket could not be used
};

// Echo requests to `t.gateway` out of `t.dev` every 200 ms until one is
// answered or `until`.
Echo ping(const ProbeTarget& t, Clock::time_point until) {
    Echo out;
    const bool v4 = t.gateway.is_v4();
    reconcile::UniqueFd s(::socket(v4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6}));
    if (s.get() < 0) {
        out.error = std::string("raw ICMP socket: ") + std::strerror(errno);
        return out;
    }
    if (::setsockopt(s.get(), SOL_SOCKET, SO_BINDTODEVICE, t.dev.c_str(), static_cast<socklen_t>(t.dev.size())) !=
        0) {
        out.error = "bind to " + t.dev + ": " + std::strerror(errno);
        return out;
    }
    sockaddr_storage to{};
    socklen_t to_len = 0;
    if (v4) {
        auto* a = reinterpret_cast<sockaddr_in*>(&to);
        a->sin_family = AF_INET;
        std::memcpy(&a->sin_addr, t.gateway.bytes.data(), 4);
        to_len = sizeof(sockaddr_in);
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&to);
        a->sin6_family = AF_INET6;
        std::memcpy(&a->sin6_addr, t.gateway.bytes.data(), 16);
        a->sin6_scope_id = ::if_nametoindex(t.dev.c_str());  // a link-local gateway needs it
        to_len = sizeof(sockaddr_in6);
    }
    const std::uint16_t id = static_cast<std::uint16_t>(::getpid() ^ 0x6e6c);
    std::uint16_t seq = 0;
    Clock::time_point sent_at{};
    Clock::time_point next_send = Clock::now();
    while (Clock::now() < until) {
        if (Clock::now() >= next_send) {
            std::uint8_t pkt[16] = {};
            pkt[0] = v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
            ++seq;
            pkt[4] = static_cast<std::uint8_t>(id >> 8);
            pkt[5] = static_cast<std::uint8_t>(id);
            pkt[6] = static_cast<std::uint8_t>(seq >> 8);
            pkt[7] = static_cast<std::uint8_t>(seq);
            std::memcpy(pkt + 8, "netlab..", 8);
            if (v4) {  // the kernel fills in the ICMPv6 checksum itself
                std::uint16_t c = checksum(pkt, sizeof pkt);
                pkt[2] = static_cast<std::uint8_t>(c >> 8);
                pkt[3] = static_cast<std::uint8_t>(c);
            }
            sent_at = Clock::now();
            // An unresolved neighbour makes the kernel queue or drop the
            // request, not fail it; a hard error (no route) is retried too.
            (void)::sendto(s.get(), pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), to_len);
            next_send = sent_at + std::chrono::milliseconds(200);
        }
        auto wait = std::min(next_send, until) - Clock::now();
        int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
        pollfd p{s.get(), POLLIN, 0};
        if (::poll(&p, 1, std::max(ms, 1)) <= 0) continue;
        std::uint8_t buf[1500];
        sockaddr_storage from{};
        socklen_t from_len = sizeof from;
        ssize_t n = ::recvfrom(s.get(), buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n <= 0) continue;
        const std::uint8_t* icmp = buf;
        std::size_t len = static_cast<std::size_t>(n);
        if (v4) {  // a raw IPv4 socket hands over the IP header too
            std::size_t ihl = static_cast<std::size_t>(buf[0] & 0x0f) * 4;
            if (len < ihl + 8 || std::memcmp(buf + 12, t.gateway.bytes.data(), 4) != 0) continue;
            icmp += ihl;
            len -= ihl;
        } else {
            auto* a = reinterpret_cast<sockaddr_in6*>(&from);
            if (len < 8 || std::memcmp(&a->sin6_addr, t.gateway.bytes.data(), 16) != 0) continue;
        }
        const bool reply = icmp[0] == (v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY);
        if (!reply || icmp[4] != static_cast<std::uint8_t>(id >> 8) || icmp[5] != static_cast<std::uint8_t>(id))
            continue;
        out.answered = true;
        out.rtt_ms = std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count();
        return out;
    }
    return out;
}

}  // namespace

reconcile::ProbeResult probe_gateways(const std::vector<ProbeTarget>& targets, std::chrono::milliseconds budget) {
    reconcile::ProbeResult r;
    if (targets.empty()) {
        r.ok = true;
        r.text = "the host has no default route via a gateway: nothing to probe";
        return r;
    }
    r.ok = true;
    for (const auto& t : targets) {
        const auto until = Clock::now() + budget;
        Echo echo = ping(t, until);
        // The echo (or its attempt) made the kernel resolve the gateway; its
        // neighbour entry says whether ARP/ND was answered. An unanswered
        // resolution stays INCOMPLETE for ~3 s before FAILED: wait for a
        // final answer while the budget lasts.
        std::optional<reconcile::nl::NeighbourEntry> neigh;
        std::string neigh_error;
        for (;;) {
            try {
                neigh = reconcile::nl::lookup_neighbour(t.dev, t.gateway);
                neigh_error.clear();
            } catch (const std::exception& e) {
                neigh_error = e.what();
            }
            if ((neigh && neigh->answered) || (neigh && neigh->state == "FAILED") || Clock::now() >= until) break;
            ::usleep(100000);
        }
        const bool ok = echo.answered && neigh && neigh->answered;
        std::string line = "gateway " + t.gateway.str() + " on " + t.dev + ": ";
        if (!neigh_error.empty())
            line += "neighbour table: " + neigh_error;
        else if (!neigh)
            line += "no neighbour entry";
        else
            line += "neighbour " + neigh->state + (neigh->answered ? "" : " (no ARP/ND answer)");
        if (!echo.error.empty()) {
            line += ", ICMP: " + echo.error;
        } else if (echo.answered) {
            char rtt[32];
            std::snprintf(rtt, sizeof rtt, "%.1f", echo.rtt_ms);
            line += std::string(", ICMP echo answered in ") + rtt + " ms";
        } else {
            char secs[32];
            std::snprintf(secs, sizeof secs, "%.1f", static_cast<double>(budget.count()) / 1000.0);
            line += std::string(", no ICMP echo reply in ") + secs + " s";
        }
        r.text += (r.text.empty() ? "" : "; ") + line;
        r.ok = r.ok && ok;
    }
    return r;
}

}  // namespace netlab::daemon
