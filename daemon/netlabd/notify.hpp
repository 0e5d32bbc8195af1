// sd_notify(3) for Type=notify: READY=1, RELOADING=1, STATUS=..., and
// WATCHDOG=1 keep-alives from a timer on the loop at half of WATCHDOG_USEC.
// Without NOTIFY_SOCKET every call is a no-op.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace netlab::daemon {

class Notifier {
public:
    // `alive` is asked before each keep-alive: returning false withholds it,
    // so systemd restarts a daemon whose engine is stuck.
    Notifier(boost::asio::io_context& io, std::function<bool()> alive);

    void ready(const std::string& status);
    void reloading(const std::string& status);
    void stopping(const std::string& status);
    void status(const std::string& status);
    void start_watchdog();
    std::chrono::microseconds watchdog_interval() const { return interval_; }

private:
    void arm();

    boost::asio::steady_timer timer_;
    std::function<bool()> alive_;
    std::chrono::microseconds interval_{0};
};

}  // namespace netlab::daemon
