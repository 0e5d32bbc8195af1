// The events netlabd reports with structured fields: one function call per
// event, one fixed MESSAGE_ID per kind (docs/daemon.md, *Logging*). On the
// journal (log.hpp) the fields travel with the message, so
// `journalctl -u netlab MESSAGE_ID=…` finds every event of a kind; on plain
// stderr only the message is printed, as any other log line.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>

namespace netlab::daemon::events {

enum class Kind {
    ReconcileDone,     // an apply converged or applied its plan
    Rejected,          // an apply was refused before any write
    RolledBack,        // an apply failed and was rolled back (or did not verify)
    DriftRepaired,     // a reconcile repaired drift made from outside
    Reattached,        // a container whose namespace came back is attached again
    CommitPending,     // a commit-confirmed change waits for `netlabctl confirm`
    CommitConfirmed,   // it was confirmed and stays
    CommitRolledBack,  // it was rolled back (deadline, `netlabctl rollback`)
};

// The 128-bit MESSAGE_ID of a kind, as 32 lowercase hex digits.
std::string_view message_id(Kind k);

struct Fields {
    std::string netns = {};            // NETLAB_NETNS: "host", a container's target
    std::string object = {};           // NETLAB_OBJECT: a link, a container, a change
    std::optional<std::size_t> steps = {};  // NETLAB_STEPS: steps of the plan
};

// Logs `message` at `level` with the kind's MESSAGE_ID and `fields`.
void emit(spdlog::level::level_enum level, Kind kind, const Fields& fields, const std::string& message);

// What the journal sink sends with the message being logged on this thread
// (nullptr for a plain log line).
struct Current {
    Kind kind;
    const Fields* fields;
};
const Current* current();

}  // namespace netlab::daemon::events
