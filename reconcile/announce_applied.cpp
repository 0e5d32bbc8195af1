// The announcement rounds of a verified apply (see announce_applied.hpp).
#include "reconcile/announce_applied.hpp"

#include <string>
#include <thread>

#include "reconcile/plan/announcements.hpp"

namespace netlab::reconcile {

void announce_applied(Kernel& kernel, const std::vector<Announcement>& what, bool later_by_caller, Outcome& out) {
    // Per announcement: "" once a round sent it, else why the last round
    // did not. Later rounds resend the same list.
    std::vector<std::string> why = kernel.announce(what);
    why.resize(what.size(), "not sent");
    AnnounceLater later = repeats_of(what);
    if (later_by_caller) {
        out.announce_later = std::move(later);  // no sleep in the apply
    } else {
        for (; !later.empty(); --later.rounds) {
            std::this_thread::sleep_for(kAnnounceGap);
            const std::vector<std::string> again = kernel.announce(later.what);
            for (std::size_t i = 0; i < why.size() && i < again.size(); ++i)
                if (!why[i].empty()) why[i] = again[i];
        }
    }
    for (std::size_t i = 0; i < what.size(); ++i) {
        if (why[i].empty()) ++out.announced;
        else out.not_announced.push_back({what[i], why[i]});
    }
}

}  // namespace netlab::reconcile
