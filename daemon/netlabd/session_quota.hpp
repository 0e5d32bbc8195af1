// How many control-socket sessions each peer may hold at once, by the uid
// SO_PEERCRED gives: root has an allowance of its own, every other uid a
// small cap, and all non-root uids together a ceiling. No user's
// connections can take root's room, and a user over its cap is refused
// alone. Pure bookkeeping (no sockets), used on the event loop only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace netlab::daemon {

class SessionQuota {
public:
    struct Caps {
        std::size_t root = 16;      // uid 0's own allowance
        std::size_t per_user = 4;   // each other uid
        std::size_t users = 32;     // all other uids together
    };

    // One held session; gives its room back when destroyed (it may outlive
    // the SessionQuota: a session ends after the server has stopped).
    class Slot {
    public:
        Slot(Slot&& other) noexcept;
        Slot& operator=(Slot&& other) noexcept;
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        ~Slot();

    private:
        friend class SessionQuota;
        struct State;
        Slot(std::shared_ptr<State> state, uid_t uid) : state_(std::move(state)), uid_(uid) {}
        void release();
        std::shared_ptr<State> state_;
        uid_t uid_ = 0;
    };

    // A refusal: `message` is the error the peer reads; `first` is true for
    // the first refusal of this uid since it last had room (log that one,
    // not each of a flood).
    struct Refusal {
        std::string message;
        bool first = false;
    };

    // Either a slot or a refusal, never both.
    struct Admission {
        std::optional<Slot> slot;
        std::optional<Refusal> refusal;
    };

    explicit SessionQuota(Caps caps);

    Admission admit(uid_t uid);

    std::size_t held(uid_t uid) const;  // sessions uid holds now
    std::size_t users_held() const;     // sessions all non-root uids hold now
    const Caps& caps() const { return caps_; }

private:
    Caps caps_;
    std::shared_ptr<Slot::State> state_;
};

}  // namespace netlab::daemon
