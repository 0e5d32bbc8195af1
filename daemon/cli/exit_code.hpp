// netlabctl's exit codes, one table for every command (README, netlabctl(8)
// EXIT STATUS), and the pure functions that pick them from an outcome.
#pragma once

#include <optional>
#include <string>

#include "reconcile/engine.hpp"

namespace netlab::cli::exit_code {

inline constexpr int kOk = 0;           // check valid; plan converged; apply done
inline constexpr int kError = 1;        // errors, usage errors, apply rejected before any write
inline constexpr int kChanges = 2;      // plan: changes to make; apply --detailed-exitcode: changed
inline constexpr int kRolledBack = 3;   // apply failed and the snapshot was restored and verified
inline constexpr int kNotRestored = 4;  // apply failed and the rollback did not restore everything
inline constexpr int kNoDaemon = 5;     // status/reload/confirm/rollback/apply --confirm: netlabd not running

using Status = reconcile::Outcome::Status;

inline int plan(Status s) {
    if (s == Status::Converged) return kOk;
    if (s == Status::Changes) return kChanges;
    return kError;
}

inline int apply(Status s, bool detailed) {
    switch (s) {
        case Status::Converged:
        case Status::Changes: return kOk;
        case Status::Applied: return detailed ? kChanges : kOk;
        case Status::Rejected: return kError;
        case Status::RolledBack: return kRolledBack;
        case Status::Failed: return kNotRestored;
    }
    return kError;
}

// A status as reconcile::to_string spells it (netlabd's replies carry it).
inline std::optional<Status> parse_status(const std::string& s) {
    for (Status st : {Status::Converged, Status::Changes, Status::Applied, Status::RolledBack, Status::Rejected,
                      Status::Failed})
        if (s == reconcile::to_string(st)) return st;
    return std::nullopt;
}

}  // namespace netlab::cli::exit_code
