// sd_notify(3) messages and the watchdog timer (notify.hpp).
#include "netlabd/notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>

#include <spdlog/spdlog.h>

namespace netlab::daemon {

namespace {
void send(const std::string& text) {
    int r = sd_notify(0, text.c_str());
    if (r < 0) spdlog::warn("sd_notify: {}", std::strerror(-r));
}
}  // namespace

Notifier::Notifier(boost::asio::io_context& io, std::function<bool()> alive)
    : timer_(io), alive_(std::move(alive)) {}

void Notifier::ready(const std::string& s) { send("READY=1\nSTATUS=" + s); }
void Notifier::reloading(const std::string& s) { send("RELOADING=1\nSTATUS=" + s); }
void Notifier::stopping(const std::string& s) { send("STOPPING=1\nSTATUS=" + s); }
void Notifier::status(const std::string& s) { send("STATUS=" + s); }

void Notifier::start_watchdog() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    interval_ = std::chrono::microseconds(usec / 2);
    spdlog::info("watchdog: keep-alive every {} ms", interval_.count() / 1000);
    arm();
}

void Notifier::arm() {
    timer_.expires_after(interval_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        if (alive_())
            send("WATCHDOG=1");
        else
            spdlog::error("watchdog: engine stuck; withholding the keep-alive so systemd restarts netlabd");
        arm();
    });
}

}  // namespace netlab::daemon
