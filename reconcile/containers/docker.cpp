// The Docker Engine API client (docker.hpp): HTTP/1.1 requests over the
// daemon's Unix socket with a deadline, and the answers parsed.
#include "reconcile/containers/docker.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <cinttypes>
#include <cstdio>
#include <limits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace netlab::reconcile::docker {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

const char* to_string(Error::Kind k) {
    switch (k) {
        case Error::Kind::NotFound: return "not found";
        case Error::Kind::Unreachable: return "unreachable";
        case Error::Kind::Timeout: return "timeout";
        case Error::Kind::Protocol: return "protocol";
        case Error::Kind::Http: return "http";
        case Error::Kind::Cancelled: return "cancelled";
    }
    return "?";
}

std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size() * 3);
    for (unsigned char c : s) {
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out;
}

bool valid_container_ref(std::string_view name) {
    if (name.empty() || name.size() > 255) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (!alnum(name.front())) return false;
    for (char c : name)
        if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

std::string since_from(const Event& e) {
    std::int64_t nanos = e.time_nano != 0 ? e.time_nano : e.time * 1'000'000'000;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%" PRId64 ".%09" PRId64, nanos / 1'000'000'000, nanos % 1'000'000'000);
    return buf;
}

std::string events_target(const EventFilter& f) {
    json filters = json::object();
    filters["type"] = f.types;
    if (!f.actions.empty()) filters["event"] = f.actions;
    if (!f.containers.empty()) filters["container"] = f.containers;
    std::string target = "/events?";
    if (f.since) target += "since=" + url_encode(*f.since) + "&";
    if (f.until) target += "until=" + url_encode(*f.until) + "&";
    target += "filters=" + url_encode(filters.dump());
    return target;
}

namespace {

Error err(Error::Kind kind, std::string message, unsigned status = 0) {
    return Error{kind, status, std::move(message)};
}

// The daemon's own message from an error answer ({"message": "..."}), else the body.
std::string daemon_message(std::string_view body) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
    std::string s(body.substr(0, 200));
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// One connection to the daemon. Every operation is asynchronous underneath
// and driven here until it completes, its deadline passes, or the caller's
// stop token fires; then the socket is closed, which completes the pending
// operation with operation_aborted. That is what makes a synchronous call
// with a timeout possible without a thread per call.
class Connection {
public:
    Connection(std::string path, std::stop_token stop)
        : path_(std::move(path)),
          socket_(ioc_),
          stop_(std::move(stop)),
          on_stop_(stop_, [this] {
              asio::post(ioc_, [this] {
                  cancelled_ = true;
                  error_code ignored;
                  socket_.close(ignored);
              });
          }) {}

    std::optional<Error> connect(Clock::time_point deadline) {
        asio::local::stream_protocol::endpoint ep;
        try {
            ep = asio::local::stream_protocol::endpoint(path_);
        } catch (const boost::system::system_error& e) {
            return err(Error::Kind::Unreachable, path_ + ": " + e.code().message());
        }
        auto ec = drive([&](auto handler) { socket_.async_connect(ep, handler); }, deadline);
        if (ec) return failure("connect", ec, Error::Kind::Unreachable);
        return std::nullopt;
    }

    std::optional<Error> send(const std::string& target, bool keep_alive, Clock::time_point deadline,
                              http::verb verb = http::verb::get, const std::string* body = nullptr) {
        http::request<http::string_body> req{verb, target, 11};
        req.set(http::field::host, "docker");
        req.set(http::field::user_agent, "netlab");
        req.keep_alive(keep_alive);
        if (body) {
            req.set(http::field::content_type, "application/json");
            req.body() = *body;
        }
        req.prepare_payload();
        auto ec = drive([&](auto handler) { http::async_write(socket_, req, handler); }, deadline);
        if (ec) return failure("send request", ec);
        return std::nullopt;
    }

    template <class Parser>
    std::optional<Error> read_header(Parser& p, Clock::time_point deadline) {
        auto ec = drive([&](auto handler) { http::async_read_header(socket_, buffer_, p, handler); }, deadline);
        if (ec) return failure("read answer", ec);
        return std::nullopt;
    }

    template <class Message>
    std::optional<Error> read(Message& m, Clock::time_point deadline) {
        auto ec = drive([&](auto handler) { http::async_read(socket_, buffer_, m, handler); }, deadline);
        if (ec) return failure("read answer", ec);
        return std::nullopt;
    }

    // Reads what is available of a buffer_body message; need_buffer is not an error.
    template <class Parser>
    std::optional<Error> read_some(Parser& p, std::optional<Clock::time_point> deadline) {
        auto ec = drive([&](auto handler) { http::async_read_some(socket_, buffer_, p, handler); }, deadline);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) return failure("read stream", ec);
        return std::nullopt;
    }

private:
    template <class Start>
    error_code drive(Start&& start, std::optional<Clock::time_point> deadline) {
        if (cancelled_ || stop_.stop_requested()) {
            cancelled_ = true;
            return asio::error::operation_aborted;
        }
        bool done = false;
        error_code result;
        start([&done, &result](error_code ec, auto&&...) {
            done = true;
            result = ec;
        });
        timed_out_ = false;
        while (!done) {
            if (ioc_.stopped()) ioc_.restart();
            if (deadline) {
                if (Clock::now() >= *deadline) {
                    timed_out_ = true;
                    break;
                }
                ioc_.run_one_until(*deadline);
            } else {
                ioc_.run_one();
            }
        }
        if (!done) {
            error_code ignored;
            socket_.close(ignored);
            while (!done) {
                if (ioc_.stopped()) ioc_.restart();
                ioc_.run_one();
            }
        }
        if (timed_out_) return asio::error::timed_out;
        return result;
    }

    Error failure(const std::string& what, error_code ec, Error::Kind otherwise = Error::Kind::Protocol) const {
        if (cancelled_) return err(Error::Kind::Cancelled, "docker " + path_ + ": cancelled");
        if (timed_out_ || ec == asio::error::timed_out)
            return err(Error::Kind::Timeout, "docker " + path_ + ": " + what + ": timed out");
        return err(otherwise, "docker " + path_ + ": " + what + ": " + ec.message());
    }

    std::string path_;
    asio::io_context ioc_;
    asio::local::stream_protocol::socket socket_;
    beast::flat_buffer buffer_;
    std::stop_token stop_;
    bool cancelled_ = false;
    bool timed_out_ = false;
    std::stop_callback<std::function<void()>> on_stop_;
};

}  // namespace

Client::Client(std::string socket_path, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout) {}

std::variant<ContainerState, Error> Client::parse_inspect(std::string_view body) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return err(Error::Kind::Protocol, "inspect: answer is not a JSON object");
    const auto state = j.find("State");
    if (state == j.end() || !state->is_object()) return err(Error::Kind::Protocol, "inspect: answer has no State");
    ContainerState c;
    auto str = [](const json& o, const char* key) -> std::optional<std::string> {
        auto it = o.find(key);
        if (it == o.end() || !it->is_string()) return std::nullopt;
        return it->get<std::string>();
    };
    auto id = str(j, "Id");
    auto pid = state->find("Pid");
    auto running = state->find("Running");
    auto started = str(*state, "StartedAt");
    if (!id) return err(Error::Kind::Protocol, "inspect: answer has no Id");
    if (pid == state->end() || !pid->is_number_integer())
        return err(Error::Kind::Protocol, "inspect: answer has no State.Pid");
    if (running == state->end() || !running->is_boolean())
        return err(Error::Kind::Protocol, "inspect: answer has no State.Running");
    if (!started) return err(Error::Kind::Protocol, "inspect: answer has no State.StartedAt");
    auto p = pid->get<std::int64_t>();
    if (p < 0 || p > std::numeric_limits<int>::max()) return err(Error::Kind::Protocol, "inspect: State.Pid out of range");
    c.id = *id;
    c.name = str(j, "Name").value_or("");
    if (!c.name.empty() && c.name.front() == '/') c.name.erase(0, 1);
    c.pid = static_cast<int>(p);
    c.running = running->get<bool>();
    if (auto r = state->find("Restarting"); r != state->end() && r->is_boolean()) c.restarting = r->get<bool>();
    c.status = str(*state, "Status").value_or("");
    c.started_at = *started;
    return c;
}

std::optional<Event> Client::parse_event(std::string_view line) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    Event e;
    auto get_str = [](const json& o, const char* key) {
        auto it = o.find(key);
        return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    e.type = get_str(j, "Type");
    e.action = get_str(j, "Action");
    if (e.action.empty()) e.action = get_str(j, "status");  // API < 1.22
    if (auto a = j.find("Actor"); a != j.end() && a->is_object()) {
        e.id = get_str(*a, "ID");
        if (auto attrs = a->find("Attributes"); attrs != a->end() && attrs->is_object()) {
            e.name = get_str(*attrs, "name");
            e.container = get_str(*attrs, "container");
        }
    }
    if (e.id.empty()) e.id = get_str(j, "id");
    if (auto t = j.find("time"); t != j.end() && t->is_number_integer()) e.time = t->get<std::int64_t>();
    if (auto t = j.find("timeNano"); t != j.end() && t->is_number_integer()) e.time_nano = t->get<std::int64_t>();
    if (e.action.empty()) return std::nullopt;
    return e;
}

std::variant<ContainerState, Error> Client::inspect(std::string_view name) const {
    if (!valid_container_ref(name))
        return err(Error::Kind::Protocol, "\"" + std::string(name) + "\" is not a valid container name");
    auto deadline = Clock::now() + timeout_;
    Connection conn(socket_path_, {});
    if (auto e = conn.connect(deadline)) return *e;
    if (auto e = conn.send("/containers/" + url_encode(name) + "/json", false, deadline)) return *e;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{16} << 20);
    if (auto e = conn.read(parser, deadline)) return *e;
    const auto& res = parser.get();
    auto status = res.result_int();
    if (status == 404) return err(Error::Kind::NotFound, daemon_message(res.body()), status);
    if (status != 200)
        return err(Error::Kind::Http, "docker " + socket_path_ + ": HTTP " + std::to_string(status) + ": " +
                                          daemon_message(res.body()),
                   status);
    auto parsed = parse_inspect(res.body());
    if (auto* e = std::get_if<Error>(&parsed)) e->message = "docker " + socket_path_ + ": " + e->message;
    return parsed;
}

std::variant<Client::Response, Error> Client::request(std::string_view method, const std::string& target,
                                                      const std::optional<std::string>& body) const {
    const auto verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
    if (verb == http::verb::unknown) return err(Error::Kind::Protocol, "unknown method " + std::string(method));
    auto deadline = Clock::now() + timeout_;
    Connection conn(socket_path_, {});
    if (auto e = conn.connect(deadline)) return *e;
    if (auto e = conn.send(target, false, deadline, verb, body ? &*body : nullptr)) return *e;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{16} << 20);
    if (auto e = conn.read(parser, deadline)) return *e;
    const auto& res = parser.get();
    return Response{static_cast<unsigned>(res.result_int()), res.body()};
}

std::string Client::message_of(std::string_view body) { return daemon_message(body); }

std::optional<Error> Client::events(const EventFilter& filter, const std::function<bool(const Event&)>& on_event,
                                    std::stop_token stop, const std::function<void()>& on_open) const {
    auto deadline = Clock::now() + timeout_;
    Connection conn(socket_path_, stop);
    if (auto e = conn.connect(deadline)) return e;
    if (auto e = conn.send(events_target(filter), true, deadline)) return e;

    http::response_parser<http::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (auto e = conn.read_header(parser, deadline)) return e;
    auto status = parser.get().result_int();
    if (status == 200 && on_open) on_open();

    std::array<char, 8192> chunk{};
    std::string pending;  // bytes after the last complete line
    while (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        // A non-200 answer is short: read it under the deadline. The stream
        // itself may be quiet for hours.
        std::optional<Clock::time_point> until;
        if (status != 200) until = deadline;
        if (auto e = conn.read_some(parser, until)) return e;
        pending.append(chunk.data(), chunk.size() - parser.get().body().size);
        if (status != 200) continue;
        std::size_t start = 0;
        for (auto nl = pending.find('\n', start); nl != std::string::npos; nl = pending.find('\n', start)) {
            std::string_view line(pending.data() + start, nl - start);
            start = nl + 1;
            if (line.empty() || line == "\r") continue;
            auto ev = parse_event(line);
            if (!ev) return err(Error::Kind::Protocol, "docker " + socket_path_ + ": events: not an event: " +
                                                           std::string(line.substr(0, 120)));
            if (!on_event(*ev)) return std::nullopt;
        }
        pending.erase(0, start);
    }
    if (status != 200)
        return err(Error::Kind::Http, "docker " + socket_path_ + ": events: HTTP " + std::to_string(status) + ": " +
                                          daemon_message(pending),
                   status);
    return std::nullopt;
}

// ---- EventWatch ----------------------------------------------------------

EventWatch::EventWatch(Client client, EventFilter filter, Callbacks callbacks, Backoff backoff)
    : client_(std::move(client)),
      filter_(std::move(filter)),
      callbacks_(std::move(callbacks)),
      backoff_(backoff),
      thread_([this](std::stop_token stop) { run(std::move(stop)); }) {}

EventWatch::~EventWatch() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
}

namespace {
// Docker's `since` as "SECONDS.NANOS" of the wall clock.
std::string since_now() {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    Event e;
    e.time_nano = ns;
    return since_from(e);
}
}  // namespace

void EventWatch::run(std::stop_token stop) {
    std::optional<Event> last;
    std::optional<std::string> resume;  // since= for the next connection
    auto delay = backoff_.first;
    std::mutex mu;
    std::condition_variable_any cv;
    while (!stop.stop_requested()) {
        EventFilter f = filter_;
        if (resume) f.since = resume;
        auto err = client_.events(
            f,
            [&](const Event& e) {
                // since= is inclusive: the event we resumed from comes again.
                if (last && e.time_nano == last->time_nano && e.id == last->id && e.action == last->action)
                    return true;
                last = e;
                resume = since_from(e);
                if (callbacks_.on_event) callbacks_.on_event(e);
                return true;
            },
            stop,
            [&] {
                delay = backoff_.first;
                if (!resume) resume = since_now();
                if (callbacks_.on_connected) callbacks_.on_connected();
            });
        if (stop.stop_requested()) break;
        Error e = err ? *err : Error{Error::Kind::Protocol, 0, "docker " + client_.socket_path() + ": events stream ended"};
        if (callbacks_.on_error) callbacks_.on_error(e, delay);
        std::unique_lock lock(mu);
        cv.wait_for(lock, stop, delay, [] { return false; });
        delay = std::min(delay * 2, backoff_.max);
    }
}

}  // namespace netlab::reconcile::docker
