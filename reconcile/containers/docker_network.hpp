// Networks published to Docker (topology `docker:`, docs/docker.md): what
// Docker should hold (from the topology), what it holds (parsed from the
// Engine API), the steps between the two and the request bodies of those
// steps. Pure: the calls themselves are docker::Client's.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/topology.hpp"
#include "reconcile/containers/docker.hpp"

namespace netlab::reconcile::docker {

// The Engine API version netlab speaks: Debian's dockerd 20.10 serves up
// to 1.41, and newer daemons still serve it.
inline constexpr const char* kApiPrefix = "/v1.41";
// The label that marks a Docker network as netlab's: only networks with it
// are ever changed or removed.
inline constexpr const char* kOwnerLabel = "org.netlab.owner";
inline constexpr const char* kOwnerValue = "netlab";
inline constexpr const char* kTopologyLabel = "org.netlab.network";

// A container netlab connects through Docker, with its fixed addresses.
struct Endpoint {
    std::string container;  // Docker's name (the topology's reference until bound)
    std::optional<model::IpAddress> v4, v6;
    // Docker's full container ID once known (bound, or seen on a network):
    // requests name the container by it, messages by `container`.
    std::string id;
    const std::string& ref() const { return id.empty() ? container : id; }
    bool operator==(const Endpoint&) const = default;
};

struct Pool {
    model::Prefix subnet;
    std::optional<model::IpAddress> gateway;
    // AuxiliaryAddresses: every address netlab itself uses in the subnet,
    // which Docker's IPAM then never hands out. Key: "netlab-ADDR".
    std::map<std::string, model::IpAddress> reserved;
    bool operator==(const Pool&) const = default;
};

struct NetworkSpec {
    std::string name;     // Docker's (messages)
    std::string network;  // the topology's
    std::string parent;
    std::string mode;     // macvlan_mode
    std::vector<Pool> pools;
    std::vector<Endpoint> endpoints;  // sorted by container
    // Docker's ID of the network a step acts on: the one observed, empty
    // for a network this plan creates (docker::Runner learns it then).
    // Requests address networks by it, so a network someone else re-created
    // under the same name is never hit.
    std::string id;
    bool ipv6() const;
    bool operator==(const NetworkSpec&) const = default;
};

// What Docker holds: one network of GET /networks or GET /networks/ID.
struct SeenNetwork {
    std::string id, name, driver;
    std::map<std::string, std::string> labels, options;
    std::vector<Pool> pools;
    bool ipv6 = false;
    // Containers (ID -> name and addresses); only GET /networks/ID fills it.
    std::map<std::string, Endpoint> containers;
    bool ours() const;
};
using Seen = std::vector<SeenNetwork>;

// Every published network of the topology.
std::vector<NetworkSpec> published(const model::Topology& t);

// A container as GET /containers/json?all=1 lists it.
struct SeenContainer {
    std::string id, name, state;  // state: "running", "exited", "created", "paused", ...
    bool running() const { return state == "running"; }
};
using SeenContainers = std::vector<SeenContainer>;
std::variant<SeenContainers, Error> parse_containers(std::string_view body);

// docker:REF the way Docker resolves a container reference: a full ID,
// else a name, else an ID prefix that only one container has. The
// container, or why there is none.
std::variant<SeenContainer, std::string> find_container(const SeenContainers& all, std::string_view ref);

// An endpoint left out of the plan: its container is missing or not running.
struct LeftOut {
    std::string network;  // Docker's name
    std::string ref;      // the topology's docker:REF
    std::string id;       // the container's ID when it exists
    std::string why;
};
// Binds each endpoint to its container (ID and name, so that `docker:ID`
// and `docker:NAME` match what Docker lists) and takes out the endpoints
// whose container is not running: Docker cannot connect a missing
// container, and one that is stopped is connected at the next reconcile
// after it starts.
std::vector<LeftOut> bind_endpoints(std::vector<NetworkSpec>& desired, const SeenContainers& all);

// Request bodies (Engine API 1.41).
nlohmann::json create_body(const NetworkSpec& n);
nlohmann::json connect_body(const Endpoint& e);
nlohmann::json disconnect_body(const std::string& container);

std::variant<SeenNetwork, Error> parse_network(const nlohmann::json& j);
std::variant<Seen, Error> parse_networks(std::string_view body);

struct Step {
    enum class Op { CreateNetwork, RemoveNetwork, Connect, Disconnect };
    Op op = Op::CreateNetwork;
    NetworkSpec network;  // CreateNetwork/RemoveNetwork: in full (its inverse needs it); else its name
    Endpoint endpoint;    // Connect/Disconnect
    std::string describe() const;  // reads like the docker CLI
    nlohmann::json to_json() const;
    static std::optional<Step> from_json(const nlohmann::json& j);
    Step inverse() const;
    // Before the kernel steps (taking down) or after them (building up: a
    // macvlan network needs its parent, a connect its container).
    bool before_kernel() const { return op == Op::RemoveNetwork || op == Op::Disconnect; }
    bool operator==(const Step&) const = default;
};

struct Plan {
    std::vector<Step> steps;  // removals first, then creates and connects
    model::Diagnostics refusals;
};

// From what Docker holds to the published networks. Refused: a network of
// that name that is not netlab's, a subnet another Docker network has, a
// fixed address another container holds, removing a network foreign
// containers still use (named). Containers on netlab's networks that the
// topology does not connect are foreign: never disconnected.
// `connected`: the containers netlab connected earlier, by Docker network
// (the ledger's memory): a container there that the topology no longer
// connects is disconnected; any other is foreign.
using Connected = std::map<std::string, std::set<std::string>>;
Plan plan(const std::vector<NetworkSpec>& desired, const Seen& seen, const Connected& connected);
// The way back from `forward` (a plan's Docker steps, some or all of them
// done) to before it, judged from what Docker holds now: each step that
// shows as done is undone, last first. The recovery of a killed apply uses
// it (its journal does not say how far it got). `earlier`: the plan's steps
// that ran before `forward` (its take-down, before the kernel's steps): a
// network they remove is not one `forward` created while Docker still
// shows it under the removed ID.
std::vector<Step> undo(const std::vector<Step>& forward, const Seen& now, const std::vector<Step>& earlier = {});
// The way back from steps known to be done (a docker::Runner's, with the
// IDs they acted on): their inverses, last first. The rollback of a failed
// apply uses it.
std::vector<Step> undo_done(const std::vector<Step>& done);
// What each published network connects (by container ID once bound), for
// the ledger after a successful apply. A container left out keeps the
// ledger's memory of an earlier connect (`before`): Docker keeps a stopped
// container's connect and restores it when it starts.
Connected connected_by(const std::vector<NetworkSpec>& desired, const Connected& before = {},
                       const std::vector<LeftOut>& left = {});

}  // namespace netlab::reconcile::docker
