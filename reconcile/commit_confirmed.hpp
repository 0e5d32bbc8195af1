// Commit-confirmed (docs/daemon.md): when a change is applied pending, what
// is pending, and when a confirm is refused. A pending change stays until it
// is confirmed or rolled back; until then STATE_DIR/pending.json holds what
// rolls it back (the journal's snapshot, plan and ledger) and the deadline as
// wall-clock time, so both survive a restart. The daemon only keeps the
// timer and answers the socket's confirm and rollback.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "model/topology.hpp"
#include "reconcile/plan.hpp"

namespace netlab::reconcile {

struct ProbeResult {
    bool ok = false;
    std::string text;  // "gateway 198.51.100.1 on br0: neighbour REACHABLE, ICMP echo answered in 0.2 ms"
    bool operator==(const ProbeResult&) const = default;
};

struct PendingChange {
    std::string id;       // the transaction's: "STARTED/PID"
    std::string started;  // ISO 8601 UTC, when it was applied
    std::chrono::system_clock::time_point deadline;
    std::string reason;   // why it waits: "netlabctl apply --confirm 60s", "commit_confirmed: 60s (...)"
    std::string summary;  // what it changed, one line
    std::optional<ProbeResult> probe;  // nullopt until probed
};

// Asked by apply() with the plan it is about to run: nullopt = an ordinary
// apply; otherwise the change stays pending until `deadline`.
struct ConfirmRequest {
    std::chrono::system_clock::time_point deadline;
    std::string reason;
};
using ConfirmPolicy = std::function<std::optional<ConfirmRequest>(const Plan&)>;

// True when the plan moves the host's default route (adds, replaces or
// deletes one) or deletes an address of the host (a move or a removal):
// the changes that can cut the host off, which the topology's
// `commit_confirmed` makes pending by default.
bool moves_host_egress(const Plan& plan);

// When apply leaves the change pending: always when asked (`netlabctl apply
// --confirm DUR`); with the topology's commit_confirmed when the plan moves
// the host's default route or addresses. nullptr when neither applies.
ConfirmPolicy confirm_policy(const model::Topology& topology, std::optional<std::chrono::seconds> asked);

// Whether `netlabctl confirm` may keep the change now: not while the probe
// of the gateway runs, nor after it failed; --force keeps it anyway.
enum class ConfirmVerdict { Keep, ProbeRunning, ProbeFailed };
ConfirmVerdict may_confirm(const PendingChange& change, bool probing, bool force);

}  // namespace netlab::reconcile
