// The planner's working state and the queries its phases ask, shared by the
// files that hold the phases: planner.cpp (the order), planner_links.cpp
// (links: recreate, preflight, create, configure, delete) and
// planner_routes.cpp (addresses and routes). Only the planner includes it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcile/plan/planner.hpp"

namespace netlab::reconcile::planning {

using model::AddressState;
using model::LinkState;
using model::NetnsState;
using model::Prefix;
using model::RouteState;

struct LinkRef {
    NsId ns;
    std::string name;
    auto operator<=>(const LinkRef&) const = default;
};

// The phases, in execution order. Each step lands in exactly one.
enum Phase {
    kRecreate,       // owned links that must be made again (wrong kind, parent, mode, lost peer)
    kCreate,         // new links, parents and masters first, with mac/mtu/master/stp
    kConfigure,      // new links up; adopted links' own attributes (no master change)
    kAddAddresses,   // before anything leaves the link that holds them now
    kEnslave,        // master changes; a port's own attributes go with it
    kRoutes,         // AddRoute / ReplaceRoute (NLM_F_REPLACE: no gap)
    kDropRoutes,     // owned routes no longer desired, before the kernel could flush them
    kDropAddresses,  // last of the moves: removing an address flushes routes
    kSettle,         // promote_secondaries back to the link's own setting
    kRelease,        // ports leaving a bridge that carry nothing themselves
    kDelete,         // owned links no longer desired, children and ports first
    kPhases
};

// Plans one change; run() once.
class Planner {
public:
    Planner(const Desired& desired, const Observed& observed) : desired_(desired), work_(observed) {}
    Plan run();

private:
    const Desired& desired_;
    Observed work_;  // observed, minus what the recreate phase deletes
    Plan plan_;
    std::array<std::vector<Step>, kPhases> phases_;
    std::set<LinkRef> creates_;  // links this plan creates (veth peers included)
    std::set<LinkRef> deletes_;  // owned links this plan deletes at the end
    std::set<LinkRef> dies_;     // those and the veth ends that go with them
    std::map<LinkRef, LinkRef> partners_;  // desired veth peer -> the end that creates the pair

    // ---- queries (planner.cpp) ----
    bool reachable(const NsId& ns) const { return work_.count(ns) != 0; }
    const LinkState* find(const NsId& ns, const std::string& name) const;
    const LinkSpec* wanted(const NsId& ns, const std::string& name) const;
    // Will the link exist once the plan ran?
    bool will_exist(const NsId& ns, const std::string& name) const;
    // The host end of a container's veth, when it is there.
    const LinkState* host_end(const NsId& ns, const std::string& name) const;
    // netlab's mark; a container's veth end is netlab's when its host end is.
    bool owned(const NsId& ns, const LinkState& l) const;
    void refuse(std::string message, std::string hint = "");
    void emit(Phase p, Step::Op op, const NsId& ns, LinkSpec link, std::string why);
    // What the link's master is once the plan ran.
    std::string master_after(const NsId& ns, const std::string& name) const;
    std::optional<model::MacAddress> resolved_mac(const NsId& ns, const LinkSpec& l) const;
    std::optional<std::uint32_t> resolved_mtu(const LinkSpec& l) const;
    std::string route_dev(const NsId& ns, const RouteSpec& r) const;

    // ---- links (planner_links.cpp) ----
    void recreate();
    bool partner_exists(const NsId& ns, const std::string& name) const;
    void drop(const NsId& ns, const std::string& name, std::string why);
    void collect_creates_and_deletes();
    void preflight();
    void bridge_ports();  // preflight: no bridge past the kernel's port limit
    // Existing macvlan children of a link, in its namespace or (as named by
    // the desired state) in a container's.
    std::vector<std::string> macvlan_children(const NsId& ns, const std::string& name) const;
    void create();
    bool carries_traffic(const NsId& ns, const std::string& name, const LinkSpec& spec) const;
    void configure_links();
    void configure_new(const NsId& ns, const LinkSpec& spec);
    void remove_links();
    // A link group number no link of the namespace has (they start at 0,
    // the default; netlab's start at kFirstDeleteGroup).
    std::uint32_t free_group(const NsId& ns) const;

    // ---- addresses and routes (planner_routes.cpp) ----
    void addresses();
    static model::AddressAttrs carried(const AddressState& from, const std::string& dev);
    void readd_if_changed(const NsId& ns, const std::string& dev, const Prefix& p, const AddressWant& want);
    void promote_secondaries(const NsId& ns, const std::string& name, const LinkSpec& spec, bool replaced);
    void routes();
    // The IPv4 addresses a link has once the plan ran.
    std::set<Prefix> v4_after(const NsId& ns, const std::string& name) const;
    void rehome(const NsId& ns, const NetnsState& s, const DesiredNs& dns, const std::vector<RouteState>& want);
};

}  // namespace netlab::reconcile::planning
