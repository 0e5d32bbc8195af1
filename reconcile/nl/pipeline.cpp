// execute_steps(): the steps' requests pipelined per namespace.
//
// Each request waits in its namespace's queue; a queue goes out as one
// sendmsg() (per 64 KiB) and its acks are then matched by sequence number.
// The order the kernel sees stays the plan's wherever it matters: a request
// joins its queue after every other queue that changes a namespace it changes
// (a container's requests after the host's queued veth create whose peer
// lands in that container), and a read (an ifindex the cache lacks, a MAC to
// copy, a dump) first sends every queue that changes the namespace read.
// Requests that change disjoint namespaces commute, so they may go out in
// any order. Deletions are barriers: every queue is sent first and the
// deletion runs on its own (it reads and may reach any namespace).
//
// A created link is sent with NLM_F_ECHO: the echoed RTM_NEWLINK gives its
// ifindex, and a veth's host end gives its peer's (IFLA_LINK), so the
// container's requests that name the peer by index need no RTM_GETLINK.
//
// Failure: the kernel answers every request of a send, so requests after a
// refused one in the same send have been carried out (the engine's rollback
// restores the snapshot whatever they did); nothing is sent after that send,
// in any namespace, so one refusal early in a long plan costs one send's
// worth of requests, not the rest of the plan. The failure reported is the
// lowest-numbered failing step, with the kernel's errno and extended ack. A request built with
// a cached ifindex that fails with ENODEV/EINVAL has its step executed once
// more on its own, the way execute() retries (fresh indexes).
#include <linux/netlink.h>

#include <algorithm>

#include "reconcile/nl/error.hpp"
#include "reconcile/nl/impl.hpp"

namespace netlab::reconcile::nl {

namespace {

// Is `target` a queue `from` has to wait for (directly or through others)?
bool waits_for(const Pipeline& p, const NsId& from, const NsId& target, std::set<NsId>& seen) {
    auto it = p.queues.find(from);
    if (it == p.queues.end()) return false;
    for (const auto& a : it->second.after) {
        if (a == target) return true;
        if (seen.insert(a).second && waits_for(p, a, target, seen)) return true;
    }
    return false;
}

}  // namespace

Pipeline::Request& NlKernel::Impl::enqueue(Netns& ns, MsgPtr msg, const std::string& object,
                                           const std::string& action, std::initializer_list<int> ok, bool cached,
                                           const NsId* reaches) {
    Pipeline& p = *pipeline;
    std::set<NsId> changes{ns.id};
    if (reaches) changes.insert(*reaches);
    // Queues whose requests change what this one changes must go first.
    std::set<NsId> before;
    for (const auto& c : changes)
        if (auto it = p.touched_by.find(c); it != p.touched_by.end())
            before.insert(it->second.begin(), it->second.end());
    before.erase(ns.id);
    for (const auto& q : before) {
        auto it = p.queues.find(q);
        if (it == p.queues.end() || it->second.requests.empty()) continue;
        std::set<NsId> seen;
        if (waits_for(p, q, ns.id, seen))
            flush(q);  // q waits for this queue: both go out now (this one first), in order
        else
            p.queues[ns.id].after.insert(q);
    }
    Pipeline::Queue& queue = p.queues[ns.id];
    for (const auto& c : changes) {
        queue.touches.insert(c);
        p.touched_by[c].insert(ns.id);
    }
    Pipeline::Request r;
    r.msg = std::move(msg);
    r.step = p.step;
    r.ok.assign(ok.begin(), ok.end());
    r.object = object;
    r.action = action;
    r.cached = cached;
    queue.requests.push_back(std::move(r));
    return queue.requests.back();
}

void NlKernel::Impl::flush(const NsId& id) {
    Pipeline& p = *pipeline;
    auto it = p.queues.find(id);
    if (it == p.queues.end() || it->second.requests.empty()) return;
    Pipeline::Queue& queue = it->second;
    const std::set<NsId> after = std::move(queue.after);
    queue.after.clear();
    for (const auto& a : after) flush(a);
    std::vector<Pipeline::Request> requests = std::move(queue.requests);
    queue.requests.clear();
    for (const auto& c : queue.touches) p.touched_by[c].erase(id);
    queue.touches.clear();

    // After a refusal nothing more is sent: the transaction rolls back
    // from whatever state the kernel is in, and every request sent after
    // the refusal would only be more to undo.
    if (p.failed) return;
    Netns& ns = get(id);
    std::vector<nl_msg*> msgs;
    msgs.reserve(requests.size());
    for (const auto& r : requests) msgs.push_back(r.msg.get());
    auto done = [](const Pipeline::Request& r, int error) {
        return error == 0 || std::find(r.ok.begin(), r.ok.end(), error) != r.ok.end();
    };
    auto retried = [](const Pipeline::Request& r, int error) {
        return r.cached && (error == ENODEV || error == EINVAL);
    };
    const std::vector<Answer> answers = send_batch(ns, msgs, [&](std::size_t i, const Answer& a) {
        return !done(requests[i], a.error) && !retried(requests[i], a.error);
    });
    std::vector<std::size_t> again;  // steps to execute once more on their own
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const Pipeline::Request& r = requests[i];
        const Answer& a = answers[i];
        if (!a.sent) break;  // held back after a refusal in an earlier send
        if (!a.echo.empty()) {
            auto* nlh = reinterpret_cast<nlmsghdr*>(const_cast<char*>(a.echo.data()));
            const RawLink link = parse_link(nlh);
            if (r.learn_own && link.state.name == r.own_name && link.state.ifindex > 0)
                get(r.own_ns).index[r.own_name] = link.state.ifindex;
            if (r.learn_peer && link.state.kind == "veth" && link.link_index > 0)
                get(r.peer_ns).index[r.peer_name] = link.link_index;
        }
        if (done(r, a.error)) continue;
        if (retried(r, a.error)) {
            if (std::find(again.begin(), again.end(), r.step) == again.end()) again.push_back(r.step);
            continue;
        }
        p.fail(r.step, std::make_exception_ptr(NlError(a.error, r.object, r.action, {}, a.extack)));
    }
    if (again.empty()) return;
    // An index from the cache may be stale (the link was made again
    // meanwhile): as execute() would, forget the indexes and try once more,
    // this step alone.
    forget_indexes();
    pipeline = nullptr;
    for (std::size_t step : again) {
        if (p.failed && step > *p.failed) continue;  // past the refusal: not sent, as above
        try {
            execute((*p.steps)[step]);
        } catch (...) {
            p.fail(step, std::current_exception());
        }
    }
    pipeline = &p;
}

void NlKernel::Impl::flush_all() {
    std::vector<NsId> ids;
    for (const auto& [id, q] : pipeline->queues)
        if (!q.requests.empty()) ids.push_back(id);
    for (const auto& id : ids) flush(id);
}

void NlKernel::Impl::settle(const NsId& ns, bool own_queue) {
    auto it = pipeline->touched_by.find(ns);
    if (it == pipeline->touched_by.end()) return;
    const std::set<NsId> queues = it->second;
    for (const auto& q : queues)
        if (own_queue || q != ns) flush(q);
}

std::optional<Kernel::RunFailure> NlKernel::Impl::execute_steps(const std::vector<Step>& steps,
                                                                const std::function<void(std::size_t)>& before) {
    Pipeline p;
    p.steps = &steps;
    pipeline = &p;
    struct Off {
        Impl& k;
        ~Off() { k.pipeline = nullptr; }
    } off{*this};
    for (std::size_t i = 0; i < steps.size() && !p.failed; ++i) {
        before(i);
        p.step = i;
        const Step& step = steps[i];
        const bool barrier = step.op == Step::Op::DeleteLink || step.op == Step::Op::DeleteGroup;
        try {
            if (barrier) {
                flush_all();
                if (p.failed) break;
                pipeline = nullptr;
                execute(step);
                pipeline = &p;
            } else {
                execute(step);
            }
        } catch (...) {
            pipeline = &p;
            p.fail(i, std::current_exception());
        }
    }
    flush_all();
    if (!p.failed) return std::nullopt;
    return Kernel::RunFailure{*p.failed, p.error};
}

}  // namespace netlab::reconcile::nl
