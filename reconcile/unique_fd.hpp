// UniqueFd: the one owner of a file descriptor in netlab (closed when its
// owner goes, handed on by move or release()). Namespace handles, the
// state directory's lock, the control socket's client end and the probe's
// raw ICMP sockets all hold theirs in one.
#pragma once

#include <unistd.h>

namespace netlab::reconcile {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = o.release();
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    // Gives the descriptor up to the caller, who closes it.
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

}  // namespace netlab::reconcile
