// Commit-confirmed (docs/daemon.md): when a change is applied pending, what
// is pending, and when a confirm is refused. A pending change stays until it
// is confirmed or rolled back; until then STATE_DIR/pending.json holds what
// rolls it back (the journal's snapshot, plan and ledger), the deadline as
// wall-clock time and how probes decide it, so all survive a restart. The
// probes' verdict over their window (ProbeWindow) is decided here too; the
// daemon keeps the timer, runs the probes and answers the socket.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/probe.hpp"
#include "model/topology.hpp"
#include "reconcile/plan/plan.hpp"

namespace netlab::reconcile {

// One probe over the probing window: a default gateway or a `probes:` target.
struct ProbeCheck {
    std::string name;  // "gateway 198.51.100.1 on br0", "tcp 203.0.113.2:22"
    bool ok = false;   // its latest attempt passed
    std::string text;  // what the latest attempt saw
    int passes = 0, failures = 0;
    double rtt_ms = 0;  // of the latest passing attempt
    // Milliseconds since the probing began: the end of the latest attempt
    // (-1: none yet), and the start of the current run of passes or
    // failures (a failing run starts when its first attempt began, a
    // passing one when the pass was seen).
    std::int64_t last_ms = -1;
    std::int64_t since_ms = 0;
    bool operator==(const ProbeCheck&) const = default;
};

struct ProbeResult {
    bool ok = false;
    std::string text;  // "gateway 198.51.100.1 on br0: neighbour REACHABLE, ICMP echo answered in 0.2 ms"
    // How the probing window ended: running (not yet), passed (every probe
    // passed for `window_ms`), failed (`failed` failed for `grace_ms`),
    // stopped (cut short: confirm, rollback, deadline, netlabd stopping).
    std::string verdict = "running";
    std::string failed;  // the name of the probe that failed
    std::int64_t elapsed_ms = 0, grace_ms = 0, window_ms = 0;
    std::vector<ProbeCheck> checks;
    bool operator==(const ProbeResult&) const = default;
};

// How probes decide a pending change: the topology's `commit_confirmed:`
// mode, grace and window, and its `probes:` (model/probe.hpp); kept with
// the pending change so a restarted netlabd probes the same way.
struct ProbeSettings {
    model::ConfirmMode mode = model::ConfirmMode::Manual;
    std::chrono::seconds grace = model::kDefaultProbeGrace;
    std::chrono::seconds window = model::kDefaultProbeWindow;
    std::vector<model::Probe> probes;
    bool operator==(const ProbeSettings&) const = default;
};

// The probing window's verdict from each probe's attempts, as they come:
// failed as soon as one probe has failed for the whole grace period,
// passed once every probe has passed for the whole window. Pure: times are
// milliseconds since the probing began, given by the caller.
class ProbeWindow {
public:
    ProbeWindow(std::vector<std::string> names, std::chrono::milliseconds grace, std::chrono::milliseconds window);
    // One attempt of probe `i`, begun at `begun` and seen at `now`.
    void record(std::size_t i, bool ok, std::string text, double rtt_ms, std::int64_t begun, std::int64_t now);
    // "running", "passed" or "failed" at `now`. With no probe at all it is
    // "passed" at once: nothing can say the change cut anything off.
    std::string verdict(std::int64_t now) const;
    ProbeResult result(std::int64_t now) const;

private:
    std::vector<ProbeCheck> checks_;
    std::int64_t grace_, window_;
};

// As pending.json and `status` carry them (docs/json.md).
nlohmann::json probe_json(const ProbeResult& r);
ProbeResult probe_from_json(const nlohmann::json& j);
nlohmann::json settings_json(const ProbeSettings& s);
ProbeSettings settings_from_json(const nlohmann::json& j);

struct PendingChange {
    std::string id;       // the transaction's: "STARTED/PID"
    std::string started;  // ISO 8601 UTC, when it was applied
    std::chrono::system_clock::time_point deadline;
    std::string reason;   // why it waits: "netlabctl apply --confirm 60s", "commit_confirmed: 60s (...)"
    std::string summary;  // what it changed, one line
    std::optional<ProbeResult> probe;  // nullopt until probed
    ProbeSettings settings;
};

// Asked by apply() with the plan it is about to run: nullopt = an ordinary
// apply; otherwise the change stays pending until `deadline`.
struct ConfirmRequest {
    std::chrono::system_clock::time_point deadline;
    std::string reason;
    ProbeSettings settings;
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

// Whether `netlabctl confirm` may keep the change now: not before every
// probe has passed at least at its latest attempt, nor while one fails or
// after one failed; --force keeps it anyway. `change.probe` is the probes'
// result so far while they run.
enum class ConfirmVerdict { Keep, ProbeRunning, ProbeFailed };
ConfirmVerdict may_confirm(const PendingChange& change, bool probing, bool force);

}  // namespace netlab::reconcile
