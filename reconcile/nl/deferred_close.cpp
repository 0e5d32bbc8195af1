// DeferredClose: packet sockets closed many at once, off the caller's path.
#include "reconcile/nl/deferred_close.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <system_error>

namespace netlab::reconcile::nl {

void DeferredClose::close_all(const std::vector<int>& fds) {
    const std::size_t lanes = std::min(kLanes, fds.size());
    auto close_lane = [&](std::size_t t) {
        for (std::size_t k = t; k < fds.size(); k += lanes) ::close(fds[k]);
    };
    std::vector<std::thread> closers;
    closers.reserve(lanes);  // emplace_back never reallocates: a failed start leaves no thread unjoined
    std::size_t started = 0;
    for (; started < lanes; ++started) {
        try {
            closers.emplace_back(close_lane, started);
        } catch (const std::system_error&) {
            break;  // no thread to spare (TasksMax): the rest are closed here
        }
    }
    for (std::size_t t = started; t < lanes; ++t) close_lane(t);
    for (auto& t : closers) t.join();
}

void DeferredClose::close_later(std::vector<int> fds) {
    if (fds.empty()) return;
    auto owned = std::make_shared<const std::vector<int>>(std::move(fds));
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard lock(mu_);
    // Batches that ended are joined here, so a long-running netlabd does
    // not keep one ended thread per apply.
    std::erase_if(batches_, [](Batch& b) {
        if (!b.done->load()) return false;
        b.thread.join();
        return true;
    });
    batches_.reserve(batches_.size() + 1);  // the push_back below cannot throw and lose a started thread
    try {
        batches_.push_back(Batch{std::thread([owned, done] {
                                     close_all(*owned);
                                     done->store(true);
                                 }),
                                 done});
    } catch (const std::system_error&) {
        close_all(*owned);
    }
}

void DeferredClose::wait() {
    std::vector<Batch> batches;
    {
        std::lock_guard lock(mu_);
        batches.swap(batches_);
    }
    for (auto& b : batches) b.thread.join();
}

DeferredClose::~DeferredClose() { wait(); }

}  // namespace netlab::reconcile::nl
