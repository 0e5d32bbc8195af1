// inotify on the configuration directory and on its topology.d/. Directories
// are watched, not files: editors and config-management tools write a
// temporary file and rename it over the old one, which a watch on the file
// would lose. A topology.d/ (or the whole directory) deleted and created again
// is picked up again. A mounted Kubernetes ConfigMap is followed too: the
// kubelet's rename of the "..data" symlink counts as one change. Every
// relevant event calls on_change; debouncing is the caller's business.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "netlabd/inotify.hpp"

namespace netlab::daemon {

class ConfigWatch {
public:
    using Callback = std::function<void(const std::string& what)>;
    ConfigWatch(boost::asio::io_context& io, std::filesystem::path dir, Callback on_change);
    ~ConfigWatch();
    ConfigWatch(const ConfigWatch&) = delete;
    ConfigWatch& operator=(const ConfigWatch&) = delete;

    void start();

private:
    void handle(int wd, std::uint32_t mask, const std::string& name);
    void watch_dir();      // (re)watch dir_; retries from a timer while it is missing
    void watch_dropins();  // (re)watch dir_/topology.d when it exists
    void forget_dropins();

    std::filesystem::path dir_;
    Callback on_change_;
    Inotify inotify_;
    boost::asio::steady_timer retry_;
    int dir_wd_ = -1;
    int dropin_wd_ = -1;
};

}  // namespace netlab::daemon
