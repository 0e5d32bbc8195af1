// One inotify instance read from the event loop: it owns the descriptor,
// adds and removes watches, and hands every event to one callback as
// (watch descriptor, mask, name). What an event means is the caller's.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace netlab::daemon {

class Inotify {
public:
    using Handler = std::function<void(int wd, std::uint32_t mask, const std::string& name)>;
    // `who` prefixes the one log line a failed read writes.
    Inotify(boost::asio::io_context& io, std::string who, Handler on_event);
    ~Inotify();  // closing the descriptor drops every watch
    Inotify(const Inotify&) = delete;
    Inotify& operator=(const Inotify&) = delete;

    // inotify_add_watch: the watch descriptor, or -1 with errno set.
    int add_watch(const std::filesystem::path& path, std::uint32_t mask);
    void rm_watch(int wd);
    // Reads until cancel() or a read error; a call while a read is pending
    // does nothing.
    void read();
    // No event is handed on after this, not even one already read.
    void cancel();

private:
    std::string who_;
    Handler on_event_;
    boost::asio::posix::stream_descriptor stream_;
    bool reading_ = false;
    bool cancelled_ = false;
    alignas(8) std::array<char, 64 * 1024> buf_{};
};

}  // namespace netlab::daemon
