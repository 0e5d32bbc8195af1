// A small Docker Engine API client: HTTP/1.1 over the daemon's local stream
// socket, synchronous, every call bounded by a timeout. Only what netlab needs:
// where a container's process is (inspect), when containers start or die and
// what happens to networks (events). Errors are values: a missing container is an expected outcome.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <string_view>
#include <variant>
#include <vector>

namespace netlab::reconcile::docker {

struct Error {
    enum class Kind {
        NotFound,     // 404: no such container
        Unreachable,  // cannot connect to the socket (daemon not running, no permission)
        Timeout,      // no complete answer within the timeout
        Protocol,     // not HTTP, or a body that is not the JSON expected
        Http,         // another HTTP status (500 ...): `status` and the daemon's message
        Cancelled,    // the caller's stop token was triggered
    };
    Kind kind = Kind::Protocol;
    unsigned status = 0;  // HTTP status when there was one
    std::string message;  // one line, for the admin
};

// The part of GET /containers/NAME/json netlab uses.
struct ContainerState {
    std::string id;          // full 64-hex id
    std::string name;        // without Docker's leading '/'
    int pid = 0;             // State.Pid; 0 when not running
    bool running = false;    // State.Running
    bool restarting = false; // State.Restarting
    std::string status;      // State.Status: "running", "exited", "created", ...
    std::string started_at;  // State.StartedAt (RFC 3339, nanoseconds): changes on every start
    bool operator==(const ContainerState&) const = default;
};

// One line of GET /events (type "container" or "network").
struct Event {
    std::string type;     // "container", "network"
    std::string action;   // "start", "die", ...; "create", "destroy", "connect", "disconnect"
    std::string id;       // Actor.ID (the network's for a network event)
    std::string name;     // Actor.Attributes.name
    std::string container;  // Actor.Attributes.container: a network connect/disconnect's container ID
    std::int64_t time = 0;       // seconds since the epoch
    std::int64_t time_nano = 0;  // nanoseconds since the epoch: use for `since` on reconnect
};

struct EventFilter {
    std::vector<std::string> types = {"container"};
    std::vector<std::string> actions = {"start", "die"};
    std::vector<std::string> containers;  // names or ids; empty = all containers
    // Replay from here after a reconnect: "SECONDS" or "SECONDS.NANOS" as
    // Docker accepts it (since_from() builds it from an Event).
    std::optional<std::string> since;
    std::optional<std::string> until;  // the daemon ends the stream at this time
};

// "SECONDS.NANOS" of an event, for EventFilter::since.
std::string since_from(const Event& e);

// The request target of an events call: /events?since=..&filters=<url-encoded JSON>
// with filters {"type":[...],"event":[...],"container":[...]}.
std::string events_target(const EventFilter& f);

// Percent-encode everything but RFC 3986 unreserved characters.
std::string url_encode(std::string_view s);

// Docker's own rule for container names ([a-zA-Z0-9][a-zA-Z0-9_.-]*) or an id;
// anything else is refused before a request is made (it would be a path).
bool valid_container_ref(std::string_view name);

class Client {
public:
    explicit Client(std::string socket_path,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

    // GET /containers/NAME/json. NotFound for 404.
    std::variant<ContainerState, Error> inspect(std::string_view name) const;

    // GET /events: blocks, calling on_event for every event, until the callback
    // returns false (-> nullopt), the daemon ends the stream (`until`; ->
    // nullopt), the stop token is triggered (-> Cancelled) or the connection
    // fails (-> the error; reconnect with since_from(last event)). The timeout
    // bounds connecting and the response header only: a quiet stream is fine.
    // on_open, when given, is called once the daemon accepted the request
    // (HTTP 200): from then on no event is missed.
    std::optional<Error> events(const EventFilter& filter,
                                const std::function<bool(const Event&)>& on_event,
                                std::stop_token stop = {},
                                const std::function<void()>& on_open = {}) const;

    // One request with an optional JSON body; any HTTP status is an answer
    // (the caller judges it), only a failed exchange is an Error.
    struct Response {
        unsigned status = 0;
        std::string body;
    };
    std::variant<Response, Error> request(std::string_view method, const std::string& target,
                                          const std::optional<std::string>& body = std::nullopt) const;
    // The daemon's own message in an error answer ({"message": ...}).
    static std::string message_of(std::string_view body);

    // Parse the JSON of one inspect answer (exposed for tests).
    static std::variant<ContainerState, Error> parse_inspect(std::string_view body);
    // Parse one events line; nullopt when it is not an event object.
    static std::optional<Event> parse_event(std::string_view line);

    const std::string& socket_path() const { return socket_path_; }

private:
    std::string socket_path_;
    std::chrono::milliseconds timeout_;
};

const char* to_string(Error::Kind k);

// Follows GET /events for as long as it lives, on a thread of its own: when
// the connection fails it reconnects with backoff and replays from the last
// event it delivered (`since`, the repeated event itself is dropped), so a
// container that restarted while the daemon was away is still reported.
// Callbacks run on the watch's thread: post them to your own loop.
class EventWatch {
public:
    struct Callbacks {
        std::function<void(const Event&)> on_event;
        // Each (re)connection: reconcile everything then, events before it may be lost
        // on the first connection (there is nothing to replay from).
        std::function<void()> on_connected;
        // A failed connection; the next attempt follows after `delay`.
        std::function<void(const Error&, std::chrono::milliseconds delay)> on_error;
    };
    struct Backoff {
        std::chrono::milliseconds first{100};
        std::chrono::milliseconds max{5000};
    };
    EventWatch(Client client, EventFilter filter, Callbacks callbacks, Backoff backoff);
    EventWatch(Client client, EventFilter filter, Callbacks callbacks)
        : EventWatch(std::move(client), std::move(filter), std::move(callbacks), Backoff{}) {}
    ~EventWatch();  // stops and joins
    EventWatch(const EventWatch&) = delete;
    EventWatch& operator=(const EventWatch&) = delete;

private:
    void run(std::stop_token stop);

    Client client_;
    EventFilter filter_;
    Callbacks callbacks_;
    Backoff backoff_;
    std::jthread thread_;  // last: started after everything it uses
};

}  // namespace netlab::reconcile::docker
