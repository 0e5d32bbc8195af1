// NlKernel internals shared by socket.cpp, observe.cpp and execute.cpp.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/state.hpp"
#include "reconcile/nl/deferred_close.hpp"
#include "reconcile/nl/kernel.hpp"
#include "reconcile/nl/libnl.hpp"

namespace netlab::reconcile::nl {

// One network namespace: its fd (for IFLA_NET_NS_FD) and its request socket.
struct Netns {
    NsId id;
    int fd = -1;  // owned; for "" opened on first use
    SockPtr sock;
    // Filled by the socket's error callback: the kernel's own errno and
    // extended-ack text of the last NLMSG_ERROR (libnl would fold the errno).
    int last_errno = 0;
    std::string last_extack;
    // name -> ifindex from the last link dump (and lookups since), so a
    // request that names a device by index does not ask for it first.
    // Forgotten when a link is deleted; a request that fails with an index
    // from here is retried once with a fresh one.
    std::unordered_map<std::string, int> index;
    ~Netns();
};

// A link as RTM_NEWLINK describes it, before names are resolved.
struct RawLink {
    model::LinkState state;
    int master_index = 0;
    int link_index = 0;       // IFLA_LINK: macvlan parent / veth peer
    bool link_elsewhere = false;  // IFLA_LINK_NETNSID present: IFLA_LINK is in another netns
};

// An RTM_NEWLINK/RTM_DELLINK message as a RawLink (dumps and events alike);
// one too short to hold an ifinfomsg gives a RawLink with no name.
RawLink parse_link(nlmsghdr* nlh);

// Attribute readers that check the attribute's length first. libnl parses
// without a policy here, so nothing else does: a short or unterminated
// attribute (a kernel bug, or the fuzzer's) must not be read past its end.
inline std::optional<std::uint32_t> attr_u32(const nlattr* a) {
    if (!a || nla_len(a) < 4) return std::nullopt;
    std::uint32_t v = 0;
    std::memcpy(&v, nla_data(a), 4);
    return v;
}
inline std::string attr_str(const nlattr* a) {
    if (!a || nla_len(a) <= 0) return {};
    const auto* s = static_cast<const char*>(nla_data(a));
    return std::string(s, ::strnlen(s, static_cast<std::size_t>(nla_len(a))));
}

// Each netlink message in `bytes` (a datagram, or a dump's answers) with its
// own length inside it, read from a copy aligned for nlmsghdr.
template <class F>
void for_each_message(std::string_view bytes, F&& f) {
    std::vector<char> buf(bytes.begin(), bytes.end());  // operator new's alignment suffices
    int len = static_cast<int>(buf.size());
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); nlmsg_ok(nlh, len); nlh = nlmsg_next(nlh, &len)) f(nlh);
}

// observe()'s parsers (observe.cpp), one message each, given the link
// names (ifindex -> name) of the namespace's link dump.
using LinkNames = std::unordered_map<int, std::string>;
// The dump's links, masters and parents named, into `out`; fills `names`.
void add_links(std::vector<RawLink>& raw, LinkNames& names, model::NetnsState& out);
void add_address(nlmsghdr* nlh, const LinkNames& names, model::NetnsState& out);
void add_route(nlmsghdr* nlh, const LinkNames& names, model::NetnsState& out);

// The first hop of an RTA_MULTIPATH attribute, read only within it; `parsed`
// when the hop carries attributes that parsed (then `via` is its RTA_GATEWAY).
struct FirstHop {
    int ifindex = 0;
    bool parsed = false;
    std::optional<model::IpAddress> via;
};
std::optional<FirstHop> first_hop(const nlattr* multipath, int family);

// The kernel's answer to one request of a batch.
struct Answer {
    int error = EIO;          // the kernel's errno, 0 = done
    std::string extack;       // its extended ack text
    std::vector<char> echo;   // the RTM_NEWLINK it echoed (NLM_F_ECHO), if any
    bool sent = true;         // false: held back after a refusal (send_batch's `refused`)
};

// The extended ack text of an NLMSG_ERROR, if the kernel gave one.
std::string extack_of(nlmsgerr* e);

// execute_steps() state: per namespace, the requests not sent yet.
struct Pipeline {
    // A request waiting for its namespace's next send.
    struct Request {
        MsgPtr msg;
        std::size_t step;
        std::vector<int> ok;   // errnos that count as done
        std::string object, action;
        bool cached = false;   // built with an ifindex from a cache (see write_built)
        // A created link, whose echo teaches its ifindex (and a veth's, its peer's).
        NsId own_ns, peer_ns;
        std::string own_name, peer_name;
        bool learn_own = false, learn_peer = false;
    };
    std::map<NsId, std::set<NsId>> touched_by;  // namespace -> queues that change it
    struct Queue {
        std::vector<Request> requests;
        std::set<NsId> touches;  // namespaces the queued requests change
        std::set<NsId> after;    // queues to send before this one
    };
    const std::vector<Step>* steps = nullptr;
    std::size_t step = 0;  // the step being queued
    std::map<NsId, Queue> queues;
    std::optional<std::size_t> failed;  // lowest failing step so far
    std::exception_ptr error;
    void fail(std::size_t at, std::exception_ptr e) {
        if (failed && *failed <= at) return;
        failed = at;
        error = std::move(e);
    }
};

struct NlKernel::Impl {
    std::map<NsId, std::unique_ptr<Netns>> spaces;
    std::uint64_t writes = 0;
    Pipeline* pipeline = nullptr;  // set while execute_steps() queues requests

    Impl();
    Netns& get(const NsId& ns);
    int ns_fd(const NsId& ns);  // an fd usable as IFLA_NET_NS_FD
    void attach(const NsId& ns, int fd);
    std::map<NsId, std::string> attach_many(const std::vector<std::pair<NsId, int>>& fds);

    // One write request: sends, waits for the ack, counts it. Returns the
    // kernel's errno (0 on success); never throws for a kernel refusal.
    int write(Netns& ns, nl_msg* msg);
    // write() that throws NlError(object, action) unless the answer is 0 or in `ok`.
    void write_or_throw(Netns& ns, nl_msg* msg, const std::string& object, const std::string& action,
                        std::initializer_list<int> ok = {});
    // Several write requests in one sendmsg() per 64 KiB, then their acks:
    // the kernel's errno of each (0 = done), in order. Each counts as a write.
    std::vector<int> write_batch(Netns& ns, const std::vector<MsgPtr>& msgs);
    // write_batch's engine: the answer to each message, extended ack and echo
    // included. With `refused`, a send in which it holds for an answer is the
    // last: the messages after it are not sent (`Answer::sent` false).
    std::vector<Answer> send_batch(Netns& ns, const std::vector<nl_msg*>& msgs,
                                   const std::function<bool(std::size_t, const Answer&)>& refused = {});
    // write_or_throw of the message `build` makes; when it fails with ENODEV
    // or EINVAL and `build` used an ifindex from the cache, the cache is
    // forgotten and the request built and sent once more. `build` returns
    // nullptr when there is nothing to send (a device already gone).
    // While execute_steps() runs, the request is queued instead (see enqueue).
    // `reaches`: another namespace the request changes (a veth peer's).
    void write_built(Netns& ns, const std::function<MsgPtr()>& build, const std::string& object,
                     const std::string& action, std::initializer_list<int> ok = {},
                     const NsId* reaches = nullptr);

    // Sends a dump request and calls `each` with every answer of `type`.
    void dump(Netns& ns, nl_msg* request, int type, const std::string& what,
              const std::function<void(nlmsghdr*)>& each);
    std::vector<RawLink> dump_links(Netns& ns);
    std::optional<RawLink> get_link(Netns& ns, const std::string& name);
    int ifindex(Netns& ns, const std::string& name, const std::string& object,
                const std::string& action);  // throws ENODEV when missing
    std::optional<int> find_index(Netns& ns, const std::string& name);  // cache, else ask
    void forget_indexes();  // every namespace's cache
    std::uint32_t batch_seq = 0;  // write_batch's sequence numbers
    // The nsid each attached namespace has in the host's namespace (given
    // one at attach when it had none), kept after detach: an nsid lives as
    // long as its namespace and does not keep it alive.
    std::map<NsId, int> nsids;
    // RTM_GETNSID for the namespace of `netns_fd`, then RTM_NEWNSID (auto,
    // what `ip netns set NAME auto` asks) when it has none: its nsid in the
    // host's namespace, or -1 when the kernel said no. Not counted as a write.
    int peer_nsid(int netns_fd);
    // nsid request/answer on the host socket: the answer's NETNSA_NSID for a
    // get (-1: none), 0 for an acked new, or -errno.
    int nsid_request(int type, int netns_fd);
    int cache_hits = 0;     // find_index answers served from a cache (see write_built)
    // announce()'s packet sockets, closed off the engine's path.
    DeferredClose closer;

    model::NetnsState observe(const NsId& ns);
    void execute(const Step& step);
    std::optional<Kernel::RunFailure> execute_steps(const std::vector<Step>& steps,
                                                    const std::function<void(std::size_t)>& before);
    // Pipelining (execute_steps): a request joins its namespace's queue, after
    // every other queue that changes a namespace it changes; a queue is sent
    // (flush) when something needs what it does: a read in a namespace it
    // changes (settle), a request that must come after it, the end of the run.
    Pipeline::Request& enqueue(Netns& ns, MsgPtr msg, const std::string& object, const std::string& action,
                               std::initializer_list<int> ok, bool cached, const NsId* reaches);
    void flush(const NsId& queue);
    void flush_all();
    // Before reading ns: send the queues that change it (its own too unless
    // own_queue is false).
    void settle(const NsId& ns, bool own_queue = true);
    void delete_group(const Step& step);
};

[[noreturn]] void throw_libnl(int nlerr, const std::string& object, const std::string& action);

}  // namespace netlab::reconcile::nl
