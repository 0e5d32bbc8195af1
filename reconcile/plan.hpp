// A Plan: ordered steps, each one netlink request.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/topology.hpp"
#include "reconcile/desired.hpp"

namespace netlab::reconcile {

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
    };
    Op op = Op::SetLink;
    NsId ns;
    LinkSpec link;
    model::AddressState address;
    model::RouteState route;
    std::string why;  // short reason for humans, e.g. "bridge takes the uplink's MAC"

    std::string describe() const;  // one line, reads like an ip(8) command
    nlohmann::json to_json() const;
};

struct Plan {
    std::vector<Step> steps;
    model::Diagnostics refusals;  // preflight: what the kernel is certain to reject; nothing runs then
    bool empty() const { return steps.empty(); }
};

const char* to_string(Step::Op op);

}  // namespace netlab::reconcile
