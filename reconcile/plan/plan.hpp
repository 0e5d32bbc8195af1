// A Plan: ordered steps, each one netlink request.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/topology.hpp"
#include "reconcile/plan/desired.hpp"
#include "reconcile/containers/docker_network.hpp"

namespace netlab::reconcile {

// Link groups (IFLA_GROUP) a group delete uses start here: the first one no
// link of the namespace is in.
inline constexpr std::uint32_t kFirstDeleteGroup = 7700;

struct Step {
    enum class Op {
        CreateLink,    // link: full spec (kind, parent/peer, mac, mtu...), alias = netlab mark
        DeleteLink,    // link.name
        SetLink,       // link.name + only the fields that change (master, up, promisc, stp, mtu, mac, promote_secondaries)
        AddAddress,    // address
        DelAddress,    // address
        AddRoute,      // route (NLM_F_EXCL)
        ReplaceRoute,  // route (NLM_F_REPLACE): swaps nexthop/dev without a gap
        DelRoute,      // route
        // group + members: each member's IFLA_GROUP is set to `group`, then
        // one RTM_DELLINK carrying IFLA_GROUP deletes them all at once (one
        // rcu_barrier() wait instead of one per link). Refused, with the
        // members' groups put back, if a link outside `members` has `group`.
        DeleteGroup,
    };
    Op op = Op::SetLink;
    NsId ns;
    LinkSpec link;
    model::AddressState address;
    model::RouteState route;
    std::uint32_t group = 0;           // DeleteGroup
    std::vector<std::string> members;  // DeleteGroup: the links it deletes, in `ns`
    std::string why;  // short reason for humans, e.g. "bridge takes the uplink's MAC"

    std::string describe() const;  // one line, reads like an ip(8) command
    nlohmann::json to_json() const;
};

struct Plan {
    std::vector<Step> steps;
    model::Diagnostics refusals;  // preflight: what the kernel is certain to reject; nothing runs then
    // Networks published to Docker (docs/docker.md): the steps that take
    // down run before the kernel's, the ones that build up after them
    // (docker::Step::before_kernel), all in one numbering: docker_before(),
    // then `steps`, then docker_after().
    std::vector<docker::Step> docker;
    bool empty() const { return steps.empty() && docker.empty(); }
    std::size_t total() const { return steps.size() + docker.size(); }
    std::vector<docker::Step> docker_before() const;
    std::vector<docker::Step> docker_after() const;
    // Step k (0-based, the one numbering) in words.
    std::string describe_at(std::size_t k) const;
};

const char* to_string(Step::Op op);

// The settable attributes of a link (master, up, promisc, stp,
// promote_secondaries, mtu, group, mac, mac_from), those it has, as keys of
// `j`: the one encoding the plan's JSON and the journal share.
void put_link_attrs(nlohmann::json& j, const LinkSpec& l);

}  // namespace netlab::reconcile
