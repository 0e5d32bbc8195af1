// The transaction's kernel work: attaching container namespaces, observing,
// the journal's content, and the rollback to a snapshot with its check.
#include "reconcile/apply/transaction.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <thread>

#include "reconcile/containers/docker_calls.hpp"
#include "reconcile/nl/error.hpp"
#include "reconcile/plan/planner.hpp"
#include "reconcile/plan/rollback_target.hpp"
#include "reconcile/apply/serialize.hpp"

namespace netlab::reconcile::detail {

using nlohmann::json;

#ifdef NETLAB_TESTING
FaultInjection FaultInjection::from_env() {
    auto ms = [](const char* name) {
        const char* v = std::getenv(name);
        return v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : 0u;
    };
    FaultInjection f;
    f.fail_at = ms("NETLAB_FAIL_AT_STEP");
    f.delay_ms = ms("NETLAB_STEP_DELAY_MS");
    f.rollback_delay_ms = ms("NETLAB_ROLLBACK_DELAY_MS");
    f.stop_before = ms("NETLAB_STOP_BEFORE_STEP");
    f.stop_after = ms("NETLAB_STOP_AFTER_STEP");
    f.stop_after_rollback = ms("NETLAB_STOP_AFTER_ROLLBACK_STEP");
    return f;
}

void FaultInjection::sleep(unsigned ms) {
    if (ms) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void FaultInjection::fail(std::size_t n) const {
    if (fail_at == n) throw nl::NlError(EPERM, "", "", "injected fault at step " + std::to_string(n));
}

void FaultInjection::stop_at(std::size_t at, std::size_t when, bool& done) {
    if (at == 0 || at != when || done) return;
    done = true;
    ::raise(SIGSTOP);
}
#endif

std::string now_utc() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::set<NsId> namespaces_of(const Desired& d, const Plan& p) {
    std::set<NsId> out{""};
    for (const auto& [ns, _] : d.namespaces) out.insert(ns);
    for (const auto& s : p.steps) {
        out.insert(s.ns);
        if (!s.link.parent_ns.empty() || s.link.kind == LinkKind::Macvlan) out.insert(s.link.parent_ns);
        if (s.link.kind == LinkKind::Veth) out.insert(s.link.peer_ns);
    }
    return out;
}

std::set<NsId> in_play(const Plan& p, const Observed& observed) {
    std::set<NsId> out;
    for (const auto& s : p.steps) {
        out.insert(s.ns);
        if (s.op == Step::Op::CreateLink && s.link.kind == LinkKind::Macvlan) out.insert(s.link.parent_ns);
        if (s.op == Step::Op::CreateLink && s.link.kind == LinkKind::Veth) out.insert(s.link.peer_ns);
        if (s.op != Step::Op::DeleteLink && s.op != Step::Op::DeleteGroup) continue;
        out.insert("");
        if (s.ns.empty())
            for (const auto& [ns, _] : observed) out.insert(ns);
    }
    return out;
}

namespace {

// A link compared without its ifindex: a link the rollback had to recreate is
// the same link for the admin.
bool same_link(model::LinkState a, model::LinkState b) {
    a.ifindex = b.ifindex = 0;
    return a == b;
}

}  // namespace

Transaction::~Transaction() {
    for (const auto& ns : attached_) {
        try {
            kernel_.detach_namespace(ns);
        } catch (...) {
        }
    }
}

json Transaction::journal_json(const Observed& snapshot, const Plan& plan, const Ledger& ledger) {
    if (started_.empty()) started_ = now_utc();
    return json{{"version", 1},
                {"started", started_},
                {"pid", ::getpid()},
                {"id", started_ + "/" + std::to_string(::getpid())},
                {"targets", targets_json(snapshot)},
                {"snapshot", serial::observed(snapshot)},
                {"plan", serial::plan(plan)},
                {"ledger", serial::ledger(ledger)}};
}

Observed Transaction::observe(const std::set<NsId>& spaces) {
    Observed out;
    for (const auto& ns : spaces) out.emplace(ns, kernel_.observe(ns));
    return out;
}

// Docker's build-up steps are undone first (a network goes before the
// kernel takes its parent's promisc or shim back), its take-down steps last
// (a re-created network needs its parent back).
bool Transaction::roll_back(const Observed& snapshot, const Plan& plan, Outcome& out,
                            const std::vector<docker::Step>* docker_done) {
    if (plan.docker.empty()) return roll_back_kernel(snapshot, plan, out);
    const docker::Client client(opts_.resolver.docker_socket, opts_.resolver.docker_timeout);
    if (docker_done) {
        std::vector<docker::Step> down, up;
        for (const auto& s : *docker_done) (s.before_kernel() ? down : up).push_back(s);
        bool clean = docker::roll_back_done(client, up, out.restored);
        clean = roll_back_kernel(snapshot, plan, out) && clean;
        return docker::roll_back_done(client, down, out.restored) && clean;
    }
    bool clean = docker::roll_back(client, plan.docker_after(), out.restored, plan.docker_before());
    clean = roll_back_kernel(snapshot, plan, out) && clean;
    return docker::roll_back(client, plan.docker_before(), out.restored) && clean;
}

bool Transaction::roll_back_kernel(const Observed& snapshot, const Plan& plan, Outcome& out) {
    Desired target = restore_target(snapshot, plan);
    // Only namespaces with a snapshot can be restored (a container that
    // died meanwhile took what netlab made in it along).
    std::erase_if(target.namespaces, [&](const auto& kv) { return !snapshot.count(kv.first); });
    std::set<NsId> spaces;
    for (const auto& [ns, _] : snapshot) spaces.insert(ns);
    bool clean = true;
    Observed now;
    try {
        now = observe(spaces);
    } catch (const std::exception& e) {
        out.restored.push_back(std::string("cannot observe before rollback: ") + e.what());
        return false;
    }
    Plan back = make_plan(target, now);
#ifdef NETLAB_TESTING
    const auto rollback_faults = FaultInjection::from_env();
    const unsigned delay_ms = rollback_faults.rollback_delay_ms;
#endif
    for (std::size_t i = 0; i < back.steps.size(); ++i) {
        const auto& step = back.steps[i];
#ifdef NETLAB_TESTING
        FaultInjection::sleep(delay_ms);
#endif
        if (opts_.progress) opts_.progress(StepEvent{StepEvent::Phase::Rollback, i + 1, back.steps.size(), step});
        // Best effort: one step refused must not stop the others.
        try {
            kernel_.execute(step);
#ifdef NETLAB_TESTING
            FaultInjection::stop_at(rollback_faults.stop_after_rollback, i + 1, stopped_after_rollback);
#endif
            out.restored.push_back(step.describe());
        } catch (const std::exception& e) {
            clean = false;
            out.restored.push_back(step.describe() + "  FAILED: " + e.what());
        }
    }
    Observed after;
    try {
        after = observe(spaces);
    } catch (const std::exception& e) {
        out.restored.push_back(std::string("cannot observe after rollback: ") + e.what());
        return false;
    }
    std::string diff = compare_in_play(snapshot, target, after);
    if (!diff.empty()) {
        out.restored.push_back("not restored: " + diff);
        clean = false;
    }
    return clean;
}

// "" when every link, address and route in play equals the snapshot;
// otherwise what differs first. In play: the links the rollback target
// names, the addresses on them, and routes through them or with the key
// of a route the target names.
std::string Transaction::compare_in_play(const Observed& snapshot, const Desired& target, const Observed& after) {
    for (const auto& [ns, want] : target.namespaces) {
        static const model::NetnsState kEmpty;
        auto s_it = snapshot.find(ns);
        auto a_it = after.find(ns);
        const model::NetnsState& before = s_it == snapshot.end() ? kEmpty : s_it->second;
        const model::NetnsState& now = a_it == after.end() ? kEmpty : a_it->second;
        const std::string where = ns.empty() ? "" : ns + ": ";
        std::set<std::string> devs;
        for (const auto& [name, _] : want.links) devs.insert(name);
        for (const auto& r : want.routes)
            if (!r.dev.empty()) devs.insert(r.dev);
        for (const auto& name : devs) {
            auto b = before.links.find(name);
            auto n = now.links.find(name);
            if ((b == before.links.end()) != (n == now.links.end()))
                return where + "link " + name + (b == before.links.end() ? " still exists" : " is missing");
            if (b != before.links.end() && !same_link(b->second, n->second))
                return where + "link " + name + " differs";
        }
        auto addrs_on = [&](const model::NetnsState& s) {
            std::set<model::AddressState> out;
            // An IPv6 link-local address is the kernel's: a link the
            // rollback re-creates gets it some time after it comes up.
            for (const auto& a : s.addresses)
                if (devs.count(a.dev) && !a.prefix.addr.is_link_local_v6()) out.insert(a);
            return out;
        };
        auto ab = addrs_on(before), an = addrs_on(now);
        for (const auto& a : ab)
            if (!an.count(a)) return where + "address " + a.prefix.str() + " on " + a.dev + " is missing";
        for (const auto& a : an)
            if (!ab.count(a)) return where + "address " + a.prefix.str() + " on " + a.dev + " is extra";
        // `routes` by name: clang 14 (the fuzz build's) cannot capture
        // the structured binding `want` itself.
        auto in_play = [&, &routes = want.routes](const model::RouteState& r) {
            if (r.dst.addr.is_link_local_v6()) return false;  // fe80::/64: the kernel's, with the address
            if (devs.count(r.dev)) return true;
            for (const auto& w : routes)
                if (w.table == r.table && w.dst == r.dst && w.metric == r.metric) return true;
            return false;
        };
        for (const auto& r : before.routes)
            if (in_play(r) && !now.routes.count(r))
                return where + "route " + r.dst.str() + (r.dev.empty() ? "" : " dev " + r.dev) + " is missing";
        for (const auto& r : now.routes)
            if (in_play(r) && !before.routes.count(r))
                return where + "route " + r.dst.str() + (r.dev.empty() ? "" : " dev " + r.dev) + " is extra";
    }
    return {};
}

void Transaction::attach_containers(const model::Topology& topo, Desired& desired, Outcome& out,
                                    const std::function<bool(const NsId&)>& wanted) {
    auto skip = [&](const std::string& name, const model::Container& c, const std::string& why) {
        const NsId ns = container_ns(name);
        out.skipped.insert(name);
        out.diagnostics.push_back(model::Diagnostic{model::Severity::Warning, {},
                                                    "container " + name + " (" + c.netns.str() + ") skipped: " + why,
                                                    "it is attached at the next reconcile after it runs"});
        desired.namespaces.erase(ns);
        for (auto& [_, d] : desired.namespaces)
            std::erase_if(d.links, [&](const auto& kv) {
                return kv.second.peer_ns == ns || (kv.second.kind == LinkKind::Macvlan && kv.second.parent_ns == ns);
            });
    };
    // Resolve all, then attach all in one go (NlKernel opens their
    // sockets from one short-lived thread instead of one thread each).
    std::vector<std::pair<std::string, ResolvedNs>> resolved;
    std::vector<std::pair<NsId, int>> fds;
    for (const auto& [name, c] : topo.containers) {
        if (wanted && !wanted(container_ns(name))) continue;
        auto r = resolve(c.netns);
        if (auto* ok = std::get_if<ResolvedNs>(&r)) {
            resolved.emplace_back(name, *ok);
            fds.emplace_back(container_ns(name), ok->fd);
        } else {
            skip(name, c, std::get<std::string>(r));
        }
    }
    const std::map<NsId, std::string> failed = kernel_.attach_namespaces(fds);
    for (const auto& [name, r] : resolved) {
        const NsId ns = container_ns(name);
        const model::Container& c = topo.containers.at(name);
        if (auto f = failed.find(ns); f != failed.end()) {
            skip(name, c, f->second);
            continue;
        }
        attached_.insert(ns);
        NsIdentity id = r.id;
        id.cookie = kernel_.namespace_cookie(ns);
        targets_[ns] = Target{c.netns.str(), id};
    }
}

void Transaction::attach_targets(const json& targets, std::vector<std::string>& notes) {
    for (const auto& [ns, entry] : targets.items()) {
        if (!entry.is_object() || !entry.contains("identity")) {
            notes.push_back(ns + ": not restored: the journal does not record which namespace it was");
            continue;
        }
        const std::string text = entry.at("target").get<std::string>();
        auto t = model::NetnsTarget::parse(text);
        if (!t) {
            notes.push_back(ns + ": not restored: the journal's target '" + text + "' does not parse");
            continue;
        }
        const NsIdentity then = serial::identity_from(entry.at("identity"));
        auto r = resolve(*t);
        auto* ok = std::get_if<ResolvedNs>(&r);
        if (!ok) {
            notes.push_back(ns + " (" + text + ") is gone: " + std::get<std::string>(r) +
                            "; not restored: what netlab made in it went with it");
            continue;
        }
        try {
            NsIdentity now = attach(ns, *ok);
            if (std::string why = identity_mismatch(then, now); !why.empty()) {
                detach(ns);
                notes.push_back(ns + " (" + text + ") is not the namespace of the interrupted transaction: " +
                                why + "; not restored: its namespace is a new one");
                continue;
            }
            targets_[ns] = Target{text, now};
        } catch (const std::exception& e) {
            notes.push_back(ns + ": " + e.what());
        }
    }
}

NsIdentity Transaction::attach(const NsId& ns, const ResolvedNs& r) {
    kernel_.attach_namespace(ns, r.fd);
    attached_.insert(ns);
    NsIdentity id = r.id;
    id.cookie = kernel_.namespace_cookie(ns);
    return id;
}

void Transaction::detach(const NsId& ns) {
    kernel_.detach_namespace(ns);
    attached_.erase(ns);
}

json Transaction::targets_json(const Observed& snapshot) const {
    json j = json::object();
    for (const auto& [ns, t] : targets_)
        if (snapshot.count(ns)) j[ns] = serial::ns_target(t.text, t.id);
    return j;
}

}  // namespace netlab::reconcile::detail
