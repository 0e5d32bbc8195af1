// Per-uid accounting of control-socket sessions (session_quota.hpp).
#include "netlabd/session_quota.hpp"

namespace netlab::daemon {

struct SessionQuota::Slot::State {
    std::map<uid_t, std::size_t> held;  // only uids holding at least one session
    std::size_t users = 0;              // sessions of non-root uids
    // Refused since they last had room, and by which cap (log once).
    enum class Cap { Own, Users };
    std::map<uid_t, Cap> refused;
};

SessionQuota::Slot::Slot(Slot&& other) noexcept : state_(std::move(other.state_)), uid_(other.uid_) {}

SessionQuota::Slot& SessionQuota::Slot::operator=(Slot&& other) noexcept {
    if (this != &other) {
        release();
        state_ = std::move(other.state_);
        uid_ = other.uid_;
    }
    return *this;
}

SessionQuota::Slot::~Slot() { release(); }

void SessionQuota::Slot::release() {
    if (!state_) return;
    auto it = state_->held.find(uid_);
    if (it != state_->held.end() && --it->second == 0) state_->held.erase(it);
    // Room again: a next refusal is news.
    state_->refused.erase(uid_);
    if (uid_ != 0) {
        --state_->users;
        std::erase_if(state_->refused, [](const auto& r) { return r.second == State::Cap::Users; });
    }
    state_.reset();
}

SessionQuota::SessionQuota(Caps caps) : caps_(caps), state_(std::make_shared<Slot::State>()) {}

SessionQuota::Admission SessionQuota::admit(uid_t uid) {
    const std::size_t mine = held(uid);
    using Cap = Slot::State::Cap;
    std::string why;
    Cap cap = Cap::Own;
    if (uid == 0) {
        if (mine >= caps_.root)
            why = "too many connections from root (at most " + std::to_string(caps_.root) +
                  " at once); close one and try again";
    } else if (mine >= caps_.per_user) {
        why = "too many connections from uid " + std::to_string(uid) + " (at most " +
              std::to_string(caps_.per_user) + " at once per user); close one and try again";
    } else if (state_->users >= caps_.users) {
        cap = Cap::Users;
        why = "too many connections from users other than root (at most " + std::to_string(caps_.users) +
              " at once); try again";
    }
    Admission a;
    if (!why.empty()) {
        a.refusal = Refusal{std::move(why), state_->refused.emplace(uid, cap).second};
        return a;
    }
    ++state_->held[uid];
    if (uid != 0) ++state_->users;
    a.slot = Slot(state_, uid);
    return a;
}

std::size_t SessionQuota::held(uid_t uid) const {
    auto it = state_->held.find(uid);
    return it == state_->held.end() ? 0 : it->second;
}

std::size_t SessionQuota::users_held() const { return state_->users; }

}  // namespace netlab::daemon
