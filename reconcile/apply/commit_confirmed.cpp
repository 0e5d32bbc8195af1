// Commit-confirmed: the policy (when a change is pending, when a confirm is
// refused) and the pending change's record in the state directory
// (pending.json), its probe result, confirming it. Rolling it back is
// restore.cpp's, the same path as crash recovery.
#include "reconcile/apply/commit_confirmed.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "model/duration.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/apply/state_dir.hpp"
#include "reconcile/apply/transaction.hpp"

namespace netlab::reconcile {

using nlohmann::json;

bool moves_host_egress(const Plan& plan) {
    for (const auto& st : plan.steps) {
        if (!st.ns.empty()) continue;
        switch (st.op) {
        case Step::Op::AddRoute:
        case Step::Op::ReplaceRoute:
        case Step::Op::DelRoute:
            if (st.route.dst.is_default()) return true;
            break;
        case Step::Op::DelAddress: return true;
        default: break;
        }
    }
    return false;
}

ConfirmPolicy confirm_policy(const model::Topology& topology, std::optional<std::chrono::seconds> asked) {
    const auto topo = topology.commit_confirmed;
    if (!asked && !topo) return nullptr;
    const ProbeSettings settings{topology.confirm.mode, topology.confirm.grace, topology.confirm.window,
                                 topology.probes};
    return [asked, topo, settings](const Plan& plan) -> std::optional<ConfirmRequest> {
        const auto now = std::chrono::system_clock::now();
        if (asked)
            return ConfirmRequest{now + *asked, "netlabctl apply --confirm " + model::format_duration(*asked), settings};
        if (moves_host_egress(plan))
            return ConfirmRequest{now + *topo,
                                  "commit_confirmed: " + model::format_duration(*topo) +
                                      " (the change moves the host's default route or addresses)",
                                  settings};
        return std::nullopt;
    };
}

ConfirmVerdict may_confirm(const PendingChange& change, bool probing, bool force) {
    if (force) return ConfirmVerdict::Keep;
    if (change.probe) {
        const auto& r = *change.probe;
        const bool failing = r.verdict == "failed" || std::any_of(r.checks.begin(), r.checks.end(), [](const auto& c) {
                                 return c.last_ms >= 0 && !c.ok;
                             });
        if (failing) return ConfirmVerdict::ProbeFailed;
        if (r.verdict == "running" && !r.ok) return ConfirmVerdict::ProbeRunning;
        return ConfirmVerdict::Keep;
    }
    return probing ? ConfirmVerdict::ProbeRunning : ConfirmVerdict::Keep;
}

namespace detail {

namespace {

// "7 steps; ip route replace default via ... dev br0; ip addr del ..."
std::string summarize(const Plan& plan) {
    std::string s = std::to_string(plan.steps.size()) + (plan.steps.size() == 1 ? " step" : " steps");
    std::size_t shown = 0;
    for (const auto& st : plan.steps) {
        Plan one;
        one.steps.push_back(st);
        if (!moves_host_egress(one)) continue;
        if (++shown > 4) {
            s += "; ...";
            break;
        }
        s += "; " + st.describe();
    }
    return s;
}

}  // namespace

PendingChange write_pending(Transaction& tx, const Observed& snapshot, const Plan& plan, const Ledger& ledger,
                            const ConfirmRequest& req) {
    json j = tx.journal_json(snapshot, plan, ledger);
    PendingChange p;
    p.id = j.at("id").get<std::string>();
    p.started = tx.started();
    p.deadline = req.deadline;
    p.reason = req.reason;
    p.summary = summarize(plan);
    j["deadline_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(req.deadline.time_since_epoch()).count();
    j["reason"] = p.reason;
    j["summary"] = p.summary;
    j["probe"] = nullptr;
    j["probe_settings"] = settings_json(req.settings);
    p.settings = req.settings;
    tx.dir().write(StateDirectory::Record::Pending, j);
    return p;
}

PendingChange pending_from(const json& j) {
    PendingChange p;
    p.id = j.value("id", "");
    p.started = j.value("started", "");
    p.deadline = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::milliseconds(j.at("deadline_ms").get<std::int64_t>())));
    p.reason = j.value("reason", "");
    p.summary = j.value("summary", "");
    if (j.contains("probe") && j.at("probe").is_object()) p.probe = probe_from_json(j.at("probe"));
    if (j.contains("probe_settings") && j.at("probe_settings").is_object())
        p.settings = settings_from_json(j.at("probe_settings"));
    return p;
}

}  // namespace detail

std::optional<PendingChange> Engine::pending() const {
    const StateDirectory dir(opts_.state_dir);
    if (!dir.has(StateDirectory::Record::Pending)) return std::nullopt;
    try {
        return detail::pending_from(dir.read(StateDirectory::Record::Pending));
    } catch (const std::exception& e) {
        throw std::runtime_error("the pending commit-confirmed change " +
                                 dir.file(StateDirectory::Record::Pending).string() + " cannot be read: " + e.what());
    }
}

void Engine::record_probe(const ProbeResult& probe) {
    const StateDirectory dir(opts_.state_dir);
    json j = dir.read(StateDirectory::Record::Pending);
    j["probe"] = probe_json(probe);
    dir.write(StateDirectory::Record::Pending, j);
}

bool Engine::confirm_pending() {
    const StateDirectory dir(opts_.state_dir);
    auto lock = dir.lock();
    if (!dir.has(StateDirectory::Record::Pending)) return false;
    dir.remove(StateDirectory::Record::Pending);
    return true;
}

}  // namespace netlab::reconcile
