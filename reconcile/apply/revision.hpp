// A revision: one change netlabd applied, as a value — the merged topology
// it applied (as the YAML netlab reads), the plan it ran, how that ended,
// when, and who asked — and what `history`, `diff` and `rollback --to` make
// of revisions. Pure: the state directory (state_dir.hpp) keeps them, the
// JSON forms here are what it writes and what netlabd answers (docs/json.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reconcile/plan/plan.hpp"

namespace netlab::reconcile {

inline constexpr int kRevisionFormat = 1;
// How many revisions the state directory keeps unless told (netlabd --revisions).
inline constexpr std::size_t kDefaultRevisions = 50;
inline constexpr std::size_t kMaxRevisions = 10000;

struct Revision {
    std::uint64_t number = 0;        // 1, 2, ...: never reused while one is kept
    std::string time;                // when the change ended, ISO 8601 UTC
    // What started it: start, file, reload, socket, ansible, rollback,
    // container, drift (origin_of).
    std::string origin;
    std::vector<std::string> by;     // who asked, one line per request the change served
    std::string result;              // applied, rolled_back or failed (Outcome's spelling)
    std::string error;               // the failed step's error
    bool pending = false;            // applied as a commit-confirmed change, not yet confirmed
    // How a pending change ended, once it has: confirmed, rolled_back or
    // failed (a rollback that did not verify); when, and what settled it
    // (netlabctl confirm, the deadline, a probe, netlabctl rollback).
    std::string settled, settled_at, settled_by;
    std::vector<std::string> files;  // the files it read, in merge order
    std::string topology;            // the merged topology, model::to_yaml
    Plan plan;                       // the plan it ran
};

nlohmann::json revision_json(const Revision& r);
// Throws (nlohmann::json::exception, std::runtime_error) on what
// revision_json does not write, a "format" other than 1 included.
Revision revision_from(const nlohmann::json& j);
// What `history` lists: the revision without its topology and plan, with
// the plan's step count.
nlohmann::json revision_summary(const Revision& r);

// The numbers to drop so that at most `keep` remain, the oldest first.
std::vector<std::uint64_t> revisions_to_drop(std::vector<std::uint64_t> numbers, std::size_t keep);

// The origin of a change from what netlabd calls its trigger ("files
// changed: topology.yaml", "SIGHUP", "netlabctl reload", "start", ...) and,
// for a control-socket request, the client's own word ("systemd" when run
// as ExecReload=, "ansible" from the Ansible modules, "" otherwise).
std::string origin_of(const std::string& trigger, const std::string& client = "");

// The lines of a unified diff (3 lines of context, "@@ -a,b +c,d @@" hunk
// heads, " ", "-", "+" lines) from text `from` to text `to`; empty when
// they are equal.
std::vector<std::string> unified_diff(const std::string& from, const std::string& to);

// `diff A B`: the topology diff from A to B and the plans the revisions
// after the older one ran, up to the newer one (`between`, ascending, the
// newer one included). docs/json.md, "netlabctl diff".
nlohmann::json revision_diff(const Revision& from, const Revision& to, const std::vector<Revision>& between);

}  // namespace netlab::reconcile
