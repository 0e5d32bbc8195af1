// Fixtures of the Docker unit tests: a fake Docker daemon (a unix socket
// served from a thread, one request head per connection, answered by the
// test's function) and the topology with networks published to Docker.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "tests/unit/temp_dir.hpp"

namespace netlab::test_docker {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using local = asio::local::stream_protocol;

using netlab::test::TempDir;

// A fake Docker daemon: accepts connections on a unix socket in a thread,
// reads one request head each and lets `serve` answer on the socket.
class FakeDocker {
public:
    using Serve = std::function<void(const std::string& request, local::socket& s)>;

    explicit FakeDocker(Serve serve) : serve_(std::move(serve)), acceptor_(ioc_) {
        socket_path_ = (dir_.path / "docker.sock").string();
        acceptor_.open(local());
        acceptor_.bind(local::endpoint(socket_path_));
        acceptor_.listen();
        thread_ = std::thread([this] { run(); });
    }
    ~FakeDocker() {
        stop_ = true;
        release();
        // Wake a blocked accept().
        try {
            asio::io_context ioc;
            local::socket s(ioc);
            s.connect(local::endpoint(socket_path_));
        } catch (...) {
        }
        thread_.join();
    }
    const std::string& socket() const { return socket_path_; }
    std::vector<std::string> requests() {
        std::lock_guard lock(mu_);
        return requests_;
    }
    // A handler that holds its connection open waits for this.
    void wait_released() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return released_; });
    }
    void release() {
        std::lock_guard lock(mu_);
        released_ = true;
        cv_.notify_all();
    }

private:
    void run() {
        while (!stop_) {
            local::socket s(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(s, ec);
            if (ec || stop_) break;
            asio::streambuf buf;
            asio::read_until(s, buf, "\r\n\r\n", ec);
            if (ec) continue;
            std::string req(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
            {
                std::lock_guard lock(mu_);
                requests_.push_back(req);
            }
            try {
                serve_(req, s);
            } catch (...) {
            }
        }
    }

    TempDir dir_;
    std::string socket_path_;
    Serve serve_;
    asio::io_context ioc_;
    local::acceptor acceptor_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    bool released_ = false;
    std::vector<std::string> requests_;
};

inline void write_all(local::socket& s, const std::string& data) {
    boost::system::error_code ec;
    asio::write(s, asio::buffer(data), ec);
}

inline std::string http_response(int status, const std::string& body) {
    const char* reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Error";
    return "HTTP/1.1 " + std::to_string(status) + " " + reason +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
}

// A daemon that gives every request the same answer.
inline FakeDocker::Serve answer(int status, std::string body) {
    return [status, body](const std::string&, local::socket& s) { write_all(s, http_response(status, body)); };
}

// "POST /v1.41/networks/create HTTP/1.1\r\n..." -> "POST /v1.41/networks/create"
inline std::string request_line(const std::string& head) { return head.substr(0, head.find(" HTTP/")); }

// Networks published to Docker, for the pure tests of the Docker side:
// mynet (IPv4 and IPv6, a shim, web connected by Docker, side on netlab's
// own macvlan: its address is reserved), docknet published under another
// name, plain not published.
inline constexpr const char* kPublishedTopo = R"(version: 1
interfaces:
  ens33:
    addresses: [198.51.100.148/24]
networks:
  mynet:
    parent: ens33
    subnet: [198.51.100.0/24, "2001:db8:104::/64"]
    gateway: [198.51.100.1, "2001:db8:104::1"]
    host_access: 198.51.100.250/32
    docker: true
  docknet:
    parent: ens33
    subnet: 203.0.113.0/24
    docker: lan-docker
  plain:
    parent: ens33
    subnet: 2001:db8:1::/64
containers:
  web:
    netns: docker:web
    interfaces:
      eth1: {network: mynet, addresses: [198.51.100.10/24, "2001:db8:104::10/64"]}
  side:
    netns: netns:side
    interfaces:
      eth1: {network: mynet, address: 198.51.100.11/24}
)";
}  // namespace netlab::test_docker
