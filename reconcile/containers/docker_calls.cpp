// The Engine API calls behind the published networks: what Docker holds
// (GET /networks, then GET /networks/ID for netlab's; GET /containers/json)
// and steps sent by network ID. Every path carries the API version
// (kApiPrefix).
#include <nlohmann/json.hpp>

#include "reconcile/containers/docker_calls.hpp"

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

std::string network_path(const std::string& id) { return std::string(kApiPrefix) + "/networks/" + url_encode(id); }

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

std::variant<SeenContainers, Error> observe_containers(const Client& c) {
    auto listed = c.request("GET", std::string(kApiPrefix) + "/containers/json?all=1");
    if (auto* e = std::get_if<Error>(&listed)) return *e;
    const auto& r = std::get<Client::Response>(listed);
    if (r.status != 200) return failed(c, "list containers", r);
    return parse_containers(r.body);
}

std::optional<Error> Runner::execute(const Step& s) {
    Step sent = s;
    std::string& id = sent.network.id;
    if (auto mapped = now_id_.find(id.empty() ? s.network.name : id); mapped != now_id_.end()) id = mapped->second;
    if (id.empty() && s.op != Step::Op::CreateNetwork)
        return Error{Error::Kind::Protocol, 0,
                     s.describe() + ": no ID known for Docker network " + s.network.name +
                         " (neither observed nor created by this run); not sent by name"};
    std::variant<Client::Response, Error> answer;
    switch (s.op) {
        case Step::Op::CreateNetwork:
            answer = client_.request("POST", std::string(kApiPrefix) + "/networks/create", create_body(s.network).dump());
            break;
        case Step::Op::RemoveNetwork:
            answer = client_.request("DELETE", network_path(id));
            break;
        case Step::Op::Connect:
            answer = client_.request("POST", network_path(id) + "/connect", connect_body(s.endpoint).dump());
            break;
        case Step::Op::Disconnect:
            answer = client_.request("POST", network_path(id) + "/disconnect", disconnect_body(s.endpoint.ref()).dump());
            break;
    }
    if (auto* e = std::get_if<Error>(&answer)) {
        if (e->kind == Error::Kind::Timeout || e->kind == Error::Kind::Protocol) unsure_ = sent;
        return *e;
    }
    const auto& r = std::get<Client::Response>(answer);
    if (r.status < 200 || r.status >= 300) return failed(client_, s.describe(), r);
    if (s.op == Step::Op::CreateNetwork) {
        // {"Id": "...", "Warning": ""}: the ID every later step on it uses.
        auto j = json::parse(r.body, nullptr, false);
        std::string created = j.is_object() && j.contains("Id") && j["Id"].is_string() ? j["Id"].get<std::string>() : "";
        if (created.empty())
            return Error{Error::Kind::Protocol, r.status, s.describe() + ": Docker's answer names no network ID"};
        now_id_[s.network.name] = created;
        if (!s.network.id.empty()) now_id_[s.network.id] = created;
        id = created;
    }
    done_.push_back(std::move(sent));
    return std::nullopt;
}

namespace {

bool run_all(Runner& run, const std::vector<Step>& steps, std::vector<std::string>& said) {
    bool clean = true;
    for (const auto& s : steps) {
        if (auto e = run.execute(s)) {
            clean = false;
            said.push_back(s.describe() + "  FAILED: " + e->message);
        } else {
            said.push_back(s.describe());
        }
    }
    return clean;
}

}  // namespace

bool roll_back_done(const Client& c, const std::vector<Step>& done, std::vector<std::string>& said) {
    Runner run(c);
    return run_all(run, undo_done(done), said);
}

bool roll_back(const Client& c, const std::vector<Step>& forward, std::vector<std::string>& said,
               const std::vector<Step>& earlier) {
    if (forward.empty()) return true;
    auto now = observe(c);
    if (auto* e = std::get_if<Error>(&now)) {
        said.push_back("cannot observe Docker before rollback: " + e->message);
        return false;
    }
    Runner run(c);
    bool clean = run_all(run, undo(forward, std::get<Seen>(now), earlier), said);
    auto after = observe(c);
    if (auto* e = std::get_if<Error>(&after)) {
        said.push_back("cannot observe Docker after rollback: " + e->message);
        return false;
    }
    if (auto left = undo(forward, std::get<Seen>(after), earlier); !left.empty()) {
        said.push_back("not restored in Docker: " + left.front().describe());
        clean = false;
    }
    return clean;
}

}  // namespace netlab::reconcile::docker
