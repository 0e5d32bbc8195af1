// The inotify descriptor and its read loop, shared by the config and the
// container watches.
#include "netlabd/inotify.hpp"

#include <sys/inotify.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <spdlog/spdlog.h>

namespace netlab::daemon {

namespace {

int make_inotify() {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
    return fd;
}

}  // namespace

Inotify::Inotify(boost::asio::io_context& io, std::string who, Handler on_event)
    : who_(std::move(who)), on_event_(std::move(on_event)), stream_(io, make_inotify()) {}

Inotify::~Inotify() = default;

int Inotify::add_watch(const std::filesystem::path& path, std::uint32_t mask) {
    return inotify_add_watch(stream_.native_handle(), path.c_str(), mask);
}

void Inotify::rm_watch(int wd) { inotify_rm_watch(stream_.native_handle(), wd); }

void Inotify::cancel() {
    cancelled_ = true;
    boost::system::error_code ignored;
    stream_.cancel(ignored);
}

void Inotify::read() {
    if (reading_ || cancelled_) return;
    reading_ = true;
    stream_.async_read_some(boost::asio::buffer(buf_), [this](const boost::system::error_code& ec, std::size_t n) {
        reading_ = false;
        if (ec == boost::asio::error::operation_aborted || cancelled_) return;
        if (ec) {
            spdlog::error("{}: read inotify: {}", who_, ec.message());
            return;
        }
        std::size_t off = 0;
        while (off + sizeof(inotify_event) <= n) {
            inotify_event ev;
            std::memcpy(&ev, buf_.data() + off, sizeof(ev));
            std::string name;
            if (ev.len > 0) name = std::string(buf_.data() + off + sizeof(inotify_event));  // NUL-padded
            on_event_(ev.wd, ev.mask, name);
            off += sizeof(inotify_event) + ev.len;
        }
        read();
    });
}

}  // namespace netlab::daemon
