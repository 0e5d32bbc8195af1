// SessionQuota: who may open another control-socket session.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "netlabd/session_quota.hpp"

using netlab::daemon::SessionQuota;

namespace {

constexpr SessionQuota::Caps kCaps{.root = 3, .per_user = 2, .users = 5};

// Takes slots for uid until refused; returns how many it got (they stay held in `held`).
std::size_t fill(SessionQuota& q, uid_t uid, std::vector<SessionQuota::Slot>& held) {
    std::size_t n = 0;
    for (;;) {
        auto a = q.admit(uid);
        if (!a.slot) return n;
        held.push_back(std::move(*a.slot));
        ++n;
    }
}

}  // namespace

TEST_CASE("a user over its cap is refused, with the cap in the message, and only that user") {
    SessionQuota q(kCaps);
    std::vector<SessionQuota::Slot> held;
    CHECK(fill(q, 1000, held) == 2);
    auto a = q.admit(1000);
    REQUIRE(a.refusal);
    CHECK_FALSE(a.slot);
    CHECK(a.refusal->message ==
          "too many connections from uid 1000 (at most 2 at once per user); close one and try again");
    CHECK(q.admit(1001).slot);  // another user still has room
    CHECK(q.admit(0).slot);     // and root
}

TEST_CASE("other users' connections never take root's room") {
    SessionQuota q(kCaps);
    std::vector<SessionQuota::Slot> held;
    for (uid_t uid = 1000; uid < 1010; ++uid) fill(q, uid, held);
    CHECK(q.users_held() == 5);  // the ceiling of all users together
    auto late = q.admit(1010);
    REQUIRE(late.refusal);
    CHECK(late.refusal->message.find("users other than root (at most 5") != std::string::npos);
    CHECK(fill(q, 0, held) == 3);  // root's own allowance, untouched
    auto a = q.admit(0);
    REQUIRE(a.refusal);
    CHECK(a.refusal->message == "too many connections from root (at most 3 at once); close one and try again");
}

TEST_CASE("a session that ends gives its room back") {
    SessionQuota q(kCaps);
    std::vector<SessionQuota::Slot> held;
    fill(q, 1000, held);
    CHECK(q.held(1000) == 2);
    held.pop_back();
    CHECK(q.held(1000) == 1);
    CHECK(q.users_held() == 1);
    CHECK(q.admit(1000).slot);  // taken and dropped at once
    CHECK(q.held(1000) == 1);
    held.clear();
    CHECK(q.held(1000) == 0);
    CHECK(q.users_held() == 0);
}

TEST_CASE("a moved slot is given back once") {
    SessionQuota q(kCaps);
    {
        auto a = q.admit(7);
        REQUIRE(a.slot);
        SessionQuota::Slot moved = std::move(*a.slot);
        a.slot.reset();
        CHECK(q.held(7) == 1);
        SessionQuota::Slot other = std::move(*q.admit(7).slot);
        other = std::move(moved);  // other's own slot is given back here
        CHECK(q.held(7) == 1);
    }
    CHECK(q.held(7) == 0);
    CHECK(q.users_held() == 0);
}

TEST_CASE("slots outlive the quota") {
    std::optional<SessionQuota::Slot> slot;
    {
        SessionQuota q(kCaps);
        slot = std::move(q.admit(1000).slot);
    }
    slot.reset();  // no use after free (the sanitizer build checks)
}

TEST_CASE("only the first refusal of a flood is news, until the user has room again") {
    SessionQuota q(kCaps);
    std::vector<SessionQuota::Slot> held;
    held.push_back(std::move(*q.admit(1000).slot));
    held.push_back(std::move(*q.admit(1000).slot));
    CHECK(q.admit(1000).refusal->first);
    for (int i = 0; i < 100; ++i) CHECK_FALSE(q.admit(1000).refusal->first);
    held.pop_back();
    CHECK(q.admit(1000).slot);  // room: taken and dropped
    held.push_back(std::move(*q.admit(1000).slot));
    CHECK(q.admit(1000).refusal->first);

    // Refused by the users' ceiling: news again once any user gave room back.
    std::vector<SessionQuota::Slot> others;
    for (uid_t uid : {1001, 1001, 1002}) others.push_back(std::move(*q.admit(uid).slot));
    CHECK(q.users_held() == 5);
    CHECK(q.admit(1003).refusal->first);
    CHECK_FALSE(q.admit(1003).refusal->first);
    others.pop_back();
    others.push_back(std::move(*q.admit(1003).slot));
    CHECK(q.admit(1004).refusal->first);
}
