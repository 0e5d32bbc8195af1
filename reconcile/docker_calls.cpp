// The Engine API calls behind the published networks: what Docker holds
// (GET /networks, then GET /networks/ID for netlab's) and one step sent.
// Every path carries the API version (kApiPrefix).
#include <nlohmann/json.hpp>

#include "reconcile/docker_calls.hpp"

namespace netlab::reconcile::docker {

using nlohmann::json;

namespace {

Error failed(const Client& c, const std::string& what, const Client::Response& r) {
    Error e;
    e.kind = r.status == 404 ? Error::Kind::NotFound : Error::Kind::Http;
    e.status = r.status;
    e.message = "docker " + c.socket_path() + ": " + what + ": HTTP " + std::to_string(r.status) + ": " +
                Client::message_of(r.body);
    return e;
}

std::string network_path(const std::string& name) { return std::string(kApiPrefix) + "/networks/" + url_encode(name); }

}  // namespace

std::variant<Seen, Error> observe(const Client& c) {
    auto listed = c.request("GET", std::string(kApiPrefix) + "/networks");
    if (auto* e = std::get_if<Error>(&listed)) return *e;
    const auto& r = std::get<Client::Response>(listed);
    if (r.status != 200) return failed(c, "list networks", r);
    auto seen = parse_networks(r.body);
    if (auto* e = std::get_if<Error>(&seen)) return *e;
    auto& all = std::get<Seen>(seen);
    // The list leaves Containers empty: netlab's networks are asked one by
    // one, the only ones whose containers matter.
    for (auto& n : all) {
        if (!n.ours()) continue;
        auto one = c.request("GET", network_path(n.id));
        if (auto* e = std::get_if<Error>(&one)) return *e;
        const auto& r1 = std::get<Client::Response>(one);
        if (r1.status != 200) return failed(c, "inspect network " + n.name, r1);
        auto parsed = parse_network(json::parse(r1.body, nullptr, false));
        if (auto* e = std::get_if<Error>(&parsed)) return *e;
        n = std::get<SeenNetwork>(std::move(parsed));
    }
    return all;
}

std::optional<Error> execute(const Client& c, const Step& s) {
    std::variant<Client::Response, Error> answer;
    unsigned ok = 200;
    switch (s.op) {
        case Step::Op::CreateNetwork:
            answer = c.request("POST", std::string(kApiPrefix) + "/networks/create", create_body(s.network).dump());
            ok = 201;
            break;
        case Step::Op::RemoveNetwork:
            answer = c.request("DELETE", network_path(s.network.name));
            ok = 204;
            break;
        case Step::Op::Connect:
            answer = c.request("POST", network_path(s.network.name) + "/connect", connect_body(s.endpoint).dump());
            break;
        case Step::Op::Disconnect:
            answer = c.request("POST", network_path(s.network.name) + "/disconnect",
                               disconnect_body(s.endpoint.container).dump());
            break;
    }
    if (auto* e = std::get_if<Error>(&answer)) return *e;
    const auto& r = std::get<Client::Response>(answer);
    if (r.status == ok || (r.status >= 200 && r.status < 300)) return std::nullopt;
    return failed(c, s.describe(), r);
}

bool roll_back(const Client& c, const std::vector<Step>& forward, std::vector<std::string>& said) {
    if (forward.empty()) return true;
    auto now = observe(c);
    if (auto* e = std::get_if<Error>(&now)) {
        said.push_back("cannot observe Docker before rollback: " + e->message);
        return false;
    }
    bool clean = true;
    for (const auto& s : undo(forward, std::get<Seen>(now))) {
        if (auto e = execute(c, s)) {
            clean = false;
            said.push_back(s.describe() + "  FAILED: " + e->message);
        } else {
            said.push_back(s.describe());
        }
    }
    auto after = observe(c);
    if (auto* e = std::get_if<Error>(&after)) {
        said.push_back("cannot observe Docker after rollback: " + e->message);
        return false;
    }
    if (auto left = undo(forward, std::get<Seen>(after)); !left.empty()) {
        said.push_back("not restored in Docker: " + left.front().describe());
        clean = false;
    }
    return clean;
}

}  // namespace netlab::reconcile::docker
