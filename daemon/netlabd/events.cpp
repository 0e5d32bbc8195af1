// Structured events: the MESSAGE_ID of each kind and the hand-off of the
// fields to the journal sink (log.cpp) through the thread logging them.
#include "netlabd/events.hpp"

#include <spdlog/spdlog.h>

namespace netlab::daemon::events {

namespace {

// spdlog loggers are synchronous: the sink runs on the thread that logs,
// inside emit(), while this points at the event's fields.
thread_local const Current* current_ = nullptr;

}  // namespace

std::string_view message_id(Kind k) {
    // Generated once (random UUIDs); never change one: admins' queries and
    // alerts name them.
    switch (k) {
    case Kind::ReconcileDone: return "ead87147d9ad46a9a21a143df90fc10c";
    case Kind::Rejected: return "e3f8e8be12be4db3809329d2ba91bddb";
    case Kind::RolledBack: return "027c1b702c854399a581a895d92a8a7c";
    case Kind::DriftRepaired: return "39d5eaaa08c440268566cb4609641b67";
    case Kind::Reattached: return "9c1946eb16174b69a79e54ac31b2bd98";
    case Kind::CommitPending: return "cbd6e1014109418aa2f7b62634624ba3";
    case Kind::CommitConfirmed: return "0a345bfd295949b1baf60c95acc9378a";
    case Kind::CommitRolledBack: return "9e0549d194044b03975c29f8e22d317b";
    }
    return "";
}

void emit(spdlog::level::level_enum level, Kind kind, const Fields& fields, const std::string& message) {
    Current c{kind, &fields};
    current_ = &c;
    spdlog::log(level, "{}", message);
    current_ = nullptr;
}

const Current* current() { return current_; }

}  // namespace netlab::daemon::events
