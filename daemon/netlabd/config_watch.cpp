// inotify on the configuration directory and topology.d/ (config_watch.hpp).
#include "netlabd/config_watch.hpp"

#include <sys/inotify.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "model/load.hpp"

namespace netlab::daemon {

namespace {

constexpr std::uint32_t kDirMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                   IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr const char* kDropins = model::kDropinDir;
// The kubelet's atomic writer (a mounted ConfigMap or Secret) never writes a
// *.yaml in place: it fills a new timestamped directory "..YYYY_MM_DD_...",
// points a "..data_tmp" symlink at it, renames that over "..data" and removes
// the old directory. topology.yaml and topology.d in the mount are symlinks
// through ..data, so the rename of ..data is the one event that means "new
// content", whatever keys changed.
constexpr const char* kKubeletData = "..data";

}  // namespace

ConfigWatch::ConfigWatch(boost::asio::io_context& io, std::filesystem::path dir, Callback on_change)
    : dir_(std::move(dir)),
      on_change_(std::move(on_change)),
      inotify_(io, "watch " + dir_.string(),
               [this](int wd, std::uint32_t mask, const std::string& name) { handle(wd, mask, name); }),
      retry_(io) {}

ConfigWatch::~ConfigWatch() = default;

void ConfigWatch::start() {
    watch_dir();
    inotify_.read();
}

void ConfigWatch::watch_dir() {
    int wd = inotify_.add_watch(dir_, kDirMask);
    if (wd < 0) {
        if (dir_wd_ != -2)  // say it once, not every second
            spdlog::warn("watch {}: {}; checking again every second", dir_.string(), std::strerror(errno));
        dir_wd_ = -2;
        retry_.expires_after(std::chrono::seconds(1));
        retry_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) watch_dir();
        });
        return;
    }
    bool was_missing = dir_wd_ == -2;
    dir_wd_ = wd;
    spdlog::debug("watch {}: watching", dir_.string());
    watch_dropins();
    if (was_missing) on_change_(dir_.string() + " appeared");
}

void ConfigWatch::watch_dropins() {
    auto path = dir_ / kDropins;
    int wd = inotify_.add_watch(path, kDirMask);
    if (wd < 0) {
        dropin_wd_ = -1;  // absent (or not a directory): the parent's watch sees it come
        return;
    }
    dropin_wd_ = wd;
    spdlog::debug("watch {}: watching", path.string());
}

void ConfigWatch::forget_dropins() {
    // A renamed-away topology.d keeps its watch (the watch follows the inode):
    // drop it so events in the old directory no longer count.
    if (dropin_wd_ >= 0) inotify_.rm_watch(dropin_wd_);
    dropin_wd_ = -1;
}

void ConfigWatch::handle(int wd, std::uint32_t mask, const std::string& name) {
    if (mask & IN_Q_OVERFLOW) {
        spdlog::warn("watch {}: inotify queue overflowed; re-reading everything", dir_.string());
        forget_dropins();
        watch_dropins();
        on_change_("inotify queue overflow");
        return;
    }
    if (wd == dir_wd_) {
        if (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
            spdlog::warn("watch {}: the directory went away", dir_.string());
            if (!(mask & IN_IGNORED)) inotify_.rm_watch(dir_wd_);
            forget_dropins();
            dir_wd_ = -2;
            watch_dir();  // retries until it is back
            on_change_(dir_.string() + " went away");
            return;
        }
        // IN_ISDIR is not required: the kubelet makes topology.d a symlink
        // (through ..data) when a ConfigMap key first projects into it.
        if (name == kDropins) {
            forget_dropins();
            watch_dropins();
            on_change_(std::string(kDropins) + (mask & (IN_CREATE | IN_MOVED_TO) ? " appeared" : " went away"));
            return;
        }
        if (name == kKubeletData && (mask & IN_MOVED_TO)) {
            // A topology.d that is a symlink through ..data was watched in
            // the old timestamped directory, which the kubelet deletes next:
            // follow the link now, so that deletion does not count as a
            // second change.
            forget_dropins();
            watch_dropins();
            on_change_(std::string(kKubeletData) + " swapped");
            return;
        }
        // Only the files the loader reads count (model/load.hpp).
        if (name == model::kMainFile) on_change_(name);
        return;
    }
    if (wd == dropin_wd_ && dropin_wd_ >= 0) {
        if (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
            if (!(mask & IN_IGNORED)) forget_dropins();
            dropin_wd_ = -1;
            watch_dropins();  // a directory already back in place (rename over) is watched again
            return;  // the parent's watch reports the change itself
        }
        // A ConfigMap mounted on topology.d itself swaps its own ..data.
        if (name == kKubeletData && (mask & IN_MOVED_TO)) {
            on_change_(std::string(kDropins) + "/" + kKubeletData + " swapped");
            return;
        }
        if (model::is_dropin_name(name)) on_change_(std::string(kDropins) + "/" + name);
    }
}

}  // namespace netlab::daemon
