// Telling a link's neighbours where an address lives now: the frames of a
// gratuitous ARP (IPv4) and of an unsolicited neighbour advertisement (IPv6),
// as pure functions, and NlKernel::announce (announce.cpp), which sends one
// round of them from inside each address's network namespace (how many
// rounds: reconcile/plan/announcements.hpp). Free of libnl headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/net.hpp"

namespace netlab::reconcile::nl {

// The 28-byte ARP payload of an announcement (RFC 5227 section 2.3): a
// request whose sender and target protocol addresses are both `ip`, sender
// hardware address `mac`, target hardware address zero — what the kernel's
// own arp_notify and `arping -U` send. Sent to the Ethernet broadcast. A
// neighbour that has an entry for `ip` replaces its MAC (Linux: arp_process
// takes a request with sender == target as gratuitous and overrides).
std::vector<std::uint8_t> arp_announcement(const model::MacAddress& mac, const model::IpAddress& ip);

// The ICMPv6 message of an unsolicited neighbour advertisement (RFC 4861
// section 7.2.6): type 136, code 0, Override set, Solicited clear, Router as
// given (a router that clears it makes its neighbours drop it as a default
// router), target `ip`, a target link-layer address option with `mac`.
// The checksum is left 0: the kernel computes it on a raw ICMPv6 socket.
// Sent to ff02::1 with hop limit 255 (receivers drop anything less).
std::vector<std::uint8_t> neighbour_advertisement(const model::MacAddress& mac, const model::IpAddress& ip,
                                                  bool router);

}  // namespace netlab::reconcile::nl
