// The probes' attempts (ICMP echo, neighbour state, TCP connect, DNS
// query) and the rounds that feed them to the probing window (probe.hpp).
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

#include <fcntl.h>
#include <thread>

#include "netlabd/probe_dns.hpp"
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

// Echo requests to `gateway` (out of `dev` when one is named) every 200 ms
// until one is answered or `until`.
Echo ping(const model::IpAddress& gateway, const std::string& dev, Clock::time_point until) {
    const struct {
        const model::IpAddress& gateway;
        const std::string& dev;
    } t{gateway, dev};
    Echo out;
    const bool v4 = t.gateway.is_v4();
    reconcile::UniqueFd s(::socket(v4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6}));
    if (s.get() < 0) {
        out.error = std::string("raw ICMP socket: ") + std::strerror(errno);
        return out;
    }
    if (!t.dev.empty() && ::setsockopt(s.get(), SOL_SOCKET, SO_BINDTODEVICE, t.dev.c_str(),
                                       static_cast<socklen_t>(t.dev.size())) != 0) {
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
        if (!t.dev.empty()) a->sin6_scope_id = ::if_nametoindex(t.dev.c_str());  // a link-local gateway needs it
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

struct Attempt {
    bool ok = false;
    std::string text;
    double rtt_ms = 0;
};

std::string ms_text(double ms) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f ms", ms);
    return b;
}

std::string seconds_text(Clock::duration d) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f s", std::chrono::duration<double>(d).count());
    return b;
}

// The echo (or its attempt) made the kernel resolve the gateway; its
// neighbour entry says whether ARP/ND was answered.
Attempt gateway_attempt(const GatewayTarget& t, Clock::time_point until) {
    const auto t0 = Clock::now();
    Echo echo = ping(t.gateway, t.dev, until);
    std::optional<reconcile::nl::NeighbourEntry> neigh;
    std::string neigh_error;
    try {
        neigh = reconcile::nl::lookup_neighbour(t.dev, t.gateway);
    } catch (const std::exception& e) {
        neigh_error = e.what();
    }
    Attempt a;
    a.ok = echo.answered && neigh && neigh->answered;
    a.rtt_ms = echo.rtt_ms;
    if (!neigh_error.empty())
        a.text = "neighbour table: " + neigh_error;
    else if (!neigh)
        a.text = "no neighbour entry";
    else
        a.text = "neighbour " + neigh->state + (neigh->answered ? "" : " (no ARP/ND answer)");
    if (!echo.error.empty())
        a.text += ", ICMP: " + echo.error;
    else if (echo.answered)
        a.text += ", ICMP echo answered in " + ms_text(echo.rtt_ms);
    else
        a.text += ", no ICMP echo reply in " + seconds_text(Clock::now() - t0);
    return a;
}

Attempt icmp_attempt(const model::Probe& p, Clock::time_point until) {
    const auto t0 = Clock::now();
    Echo echo = ping(p.address, "", until);
    Attempt a{echo.answered, "", echo.rtt_ms};
    if (!echo.error.empty()) a.text = "ICMP: " + echo.error;
    else if (echo.answered) a.text = "ICMP echo answered in " + ms_text(echo.rtt_ms);
    else a.text = "no ICMP echo reply in " + seconds_text(Clock::now() - t0);
    return a;
}

sockaddr_storage sockaddr_of(const model::IpAddress& ip, std::uint16_t port, socklen_t& len) {
    sockaddr_storage to{};
    if (ip.is_v4()) {
        auto* a = reinterpret_cast<sockaddr_in*>(&to);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        std::memcpy(&a->sin_addr, ip.bytes.data(), 4);
        len = sizeof(sockaddr_in);
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&to);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        std::memcpy(&a->sin6_addr, ip.bytes.data(), 16);
        len = sizeof(sockaddr_in6);
    }
    return to;
}

int ms_until(Clock::time_point until) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    return static_cast<int>(std::max<long long>(ms, 0));
}

// A connection that completes (then closed at once) passes; refused, reset
// or unanswered by `until` fails.
Attempt tcp_attempt(const model::Probe& p, Clock::time_point until) {
    const auto t0 = Clock::now();
    reconcile::UniqueFd s(::socket(p.address.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.get() < 0) return {false, std::string("TCP socket: ") + std::strerror(errno)};
    socklen_t len = 0;
    auto to = sockaddr_of(p.address, p.port, len);
    int err = 0;
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&to), len) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            pollfd pfd{s.get(), POLLOUT, 0};
            if (::poll(&pfd, 1, ms_until(until)) <= 0)
                return {false, "TCP connect: no answer in " + seconds_text(Clock::now() - t0)};
            socklen_t el = sizeof err;
            if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
        }
    }
    const double rtt = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (err != 0) return {false, std::string("TCP connect: ") + std::strerror(err)};
    return {true, "TCP connected in " + ms_text(rtt), rtt};
}

// A resolver that answers the question (NOERROR or NXDOMAIN) passes; one
// that answers SERVFAIL or REFUSED, or nothing by `until`, fails.
Attempt dns_attempt(const model::Probe& p, Clock::time_point until) {
    const auto t0 = Clock::now();
    reconcile::UniqueFd s(::socket(p.address.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (s.get() < 0) return {false, std::string("UDP socket: ") + std::strerror(errno)};
    socklen_t len = 0;
    auto to = sockaddr_of(p.address, p.port, len);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&to), len) != 0)
        return {false, std::string("DNS: ") + std::strerror(errno)};
    const auto id = static_cast<std::uint16_t>(::getpid() ^ std::chrono::steady_clock::now().time_since_epoch().count());
    const auto query = dns_query(id, p.name);
    std::string last_error;
    auto next_send = Clock::now();
    Clock::time_point sent_at = next_send;
    while (Clock::now() < until) {
        if (Clock::now() >= next_send) {
            sent_at = Clock::now();
            if (::send(s.get(), query.data(), query.size(), 0) < 0) last_error = std::strerror(errno);
            next_send = sent_at + std::chrono::milliseconds(300);
        }
        pollfd pfd{s.get(), POLLIN, 0};
        if (::poll(&pfd, 1, std::max(1, ms_until(std::min(next_send, until)))) <= 0) continue;
        std::uint8_t buf[512];
        ssize_t n = ::recv(s.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            last_error = std::strerror(errno);  // ICMP port unreachable: ECONNREFUSED
            continue;
        }
        auto rcode = dns_rcode(buf, static_cast<std::size_t>(n), id);
        if (!rcode) continue;
        const double rtt = std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count();
        static const char* const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
        const std::string rc = *rcode < 6 ? names[*rcode] : "RCODE " + std::to_string(*rcode);
        return {*rcode == 0 || *rcode == 3, "DNS answer " + rc + " in " + ms_text(rtt), rtt};
    }
    return {false, "no DNS answer in " + seconds_text(Clock::now() - t0) +
                       (last_error.empty() ? std::string() : " (" + last_error + ")")};
}

// One attempt may take this long; a round starts at most this often.
constexpr auto kAttempt = std::chrono::milliseconds(1000);
constexpr auto kRound = std::chrono::milliseconds(500);

}  // namespace

reconcile::ProbeResult run_probes(const ProbeRun& run) {
    std::vector<std::string> names;
    for (const auto& g : run.gateways) names.push_back("gateway " + g.gateway.str() + " on " + g.dev);
    for (const auto& p : run.settings.probes) names.push_back(p.str());
    reconcile::ProbeWindow window(names, run.settings.grace, run.settings.window);
    const auto t0 = Clock::now();
    auto now_ms = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    };
    auto stopped = [&] {
        return (run.stop && run.stop->load()) || std::chrono::system_clock::now() >= run.deadline;
    };
    if (names.empty()) return window.result(0);
    for (;;) {
        const auto round = Clock::now();
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (stopped()) {
                auto r = window.result(now_ms());
                r.verdict = "stopped";
                return r;
            }
            const auto begun = now_ms();
            const auto until = Clock::now() + kAttempt;
            Attempt a;
            if (i < run.gateways.size()) {
                a = gateway_attempt(run.gateways[i], until);
            } else {
                const auto& p = run.settings.probes[i - run.gateways.size()];
                a = p.kind == model::Probe::Kind::Tcp   ? tcp_attempt(p, until)
                    : p.kind == model::Probe::Kind::Dns ? dns_attempt(p, until)
                                                        : icmp_attempt(p, until);
            }
            window.record(i, a.ok, std::move(a.text), a.rtt_ms, begun, now_ms());
            auto r = window.result(now_ms());
            if (run.progress) run.progress(r);
            if (r.verdict != "running") return r;
        }
        while (Clock::now() < round + kRound && !stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace netlab::daemon
