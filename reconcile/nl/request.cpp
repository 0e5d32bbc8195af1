// Write requests and their acks with the kernel's real errno and extended
// ack: one at a time, or packed into one send() per 64 KiB with their acks
// matched back by sequence number.
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include <netlink/attr.h>

#include "reconcile/nl/error.hpp"
#include "reconcile/nl/impl.hpp"

namespace netlab::reconcile::nl {

// The extended ack text of an NLMSG_ERROR, if the kernel gave one.
std::string extack_of(nlmsgerr* e) {
    auto* nlh = reinterpret_cast<nlmsghdr*>(reinterpret_cast<char*>(e) - NLMSG_HDRLEN);
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
    std::size_t payload = nlh->nlmsg_len - NLMSG_HDRLEN;
    std::size_t off = sizeof(nlmsgerr);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - NLMSG_HDRLEN;
    off = NLMSG_ALIGN(off);
    if (off >= payload) return {};
    nlattr* tb[NLMSGERR_ATTR_MAX + 1] = {};
    auto* head = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(e) + off);
    if (nla_parse(tb, NLMSGERR_ATTR_MAX, head, static_cast<int>(payload - off), nullptr) == 0 &&
        tb[NLMSGERR_ATTR_MSG])
        return attr_str(tb[NLMSGERR_ATTR_MSG]);
    return {};
}

int NlKernel::Impl::write(Netns& ns, nl_msg* msg) {
    ++writes;
    ns.last_errno = 0;
    ns.last_extack.clear();
    int err = nl_send_auto(ns.sock.get(), msg);
    if (err < 0) return EIO;
    err = nl_wait_for_ack(ns.sock.get());
    if (err < 0) return ns.last_errno ? ns.last_errno : EIO;
    return 0;
}

void NlKernel::Impl::write_or_throw(Netns& ns, nl_msg* msg, const std::string& object,
                                    const std::string& action, std::initializer_list<int> ok) {
    if (pipeline) {
        enqueue(ns, MsgPtr(nlmsg_convert(nlmsg_hdr(msg))), object, action, ok, false, nullptr);
        return;
    }
    int e = write(ns, msg);
    if (e == 0) return;
    for (int o : ok)
        if (e == o) return;
    throw NlError(e, object, action, {}, ns.last_extack);
}

void NlKernel::Impl::write_built(Netns& ns, const std::function<MsgPtr()>& build, const std::string& object,
                                 const std::string& action, std::initializer_list<int> ok, const NsId* reaches) {
    cache_hits = 0;
    MsgPtr msg = build();
    if (!msg) return;
    if (pipeline) {
        enqueue(ns, std::move(msg), object, action, ok, cache_hits > 0, reaches);
        return;
    }
    int e = write(ns, msg.get());
    if (e != 0 && cache_hits > 0 && (e == ENODEV || e == EINVAL)) {
        // An index from the last dump may be stale (the link was made
        // again meanwhile): ask the kernel for it and try once more.
        forget_indexes();
        msg = build();
        if (!msg) return;
        e = write(ns, msg.get());
    }
    if (e == 0) return;
    for (int o : ok)
        if (e == o) return;
    throw NlError(e, object, action, {}, ns.last_extack);
}

std::vector<int> NlKernel::Impl::write_batch(Netns& ns, const std::vector<MsgPtr>& msgs) {
    std::vector<nl_msg*> raw;
    raw.reserve(msgs.size());
    for (const auto& m : msgs) raw.push_back(m.get());
    std::vector<int> result;
    result.reserve(msgs.size());
    ns.last_extack.clear();
    for (const Answer& a : send_batch(ns, raw)) {
        result.push_back(a.error);
        if (a.error != 0 && ns.last_extack.empty()) ns.last_extack = a.extack;
    }
    return result;
}

std::vector<Answer> NlKernel::Impl::send_batch(Netns& ns, const std::vector<nl_msg*>& msgs,
                                               const std::function<bool(std::size_t, const Answer&)>& refused) {
    std::vector<Answer> result(msgs.size());
    std::vector<bool> answered(msgs.size(), false);
    const int fd = nl_socket_get_fd(ns.sock.get());
    constexpr std::size_t kChunk = 64 * 1024;
    // An echoed link takes a few KiB of the receive buffer until it is read:
    // few enough per send that they (and the acks) all fit.
    constexpr std::size_t kEchoesPerChunk = 64;
    std::vector<char> in(256 * 1024);
    std::size_t first = 0;
    while (first < msgs.size()) {
        // One chunk: messages packed back to back, sequence numbers noted.
        std::vector<char> out;
        std::unordered_map<std::uint32_t, std::size_t> by_seq;
        std::size_t end = first, echoes = 0;
        while (end < msgs.size()) {
            // Sequence numbers of our own (high bit set), not libnl's: its
            // receive path expects the acks of its own sequence in order.
            nlmsghdr* h = nlmsg_hdr(msgs[end]);
            if (!out.empty() && out.size() + NLMSG_ALIGN(h->nlmsg_len) > kChunk) break;
            if (h->nlmsg_flags & NLM_F_ECHO) {
                if (echoes == kEchoesPerChunk) break;
                ++echoes;
            }
            h->nlmsg_pid = nl_socket_get_local_port(ns.sock.get());
            h->nlmsg_seq = 0x80000000u | batch_seq++;
            h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
            const std::size_t at = out.size();
            out.resize(at + NLMSG_ALIGN(h->nlmsg_len));
            std::memcpy(out.data() + at, h, h->nlmsg_len);
            by_seq[h->nlmsg_seq] = end;
            ++end;
        }
        writes += end - first;
        if (::send(fd, out.data(), out.size(), 0) < 0) {
            for (std::size_t i = first; i < msgs.size(); ++i) result[i].error = errno;
            return result;
        }
        std::size_t pending = end - first;
        while (pending > 0) {
            const ssize_t n = ::recv(fd, in.data(), in.size(), 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                const int e = errno;
                for (std::size_t i = first; i < msgs.size(); ++i)
                    if (!answered[i]) result[i].error = e;
                return result;
            }
            int len = static_cast<int>(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(in.data()); nlmsg_ok(h, len); h = nlmsg_next(h, &len)) {
                auto it = by_seq.find(h->nlmsg_seq);
                if (it == by_seq.end() || answered[it->second]) continue;
                Answer& a = result[it->second];
                if (h->nlmsg_type == RTM_NEWLINK) {  // an echo: it comes before the ack
                    const auto* bytes = reinterpret_cast<const char*>(h);
                    a.echo.assign(bytes, bytes + h->nlmsg_len);
                    continue;
                }
                if (h->nlmsg_type != NLMSG_ERROR) continue;
                auto* err = static_cast<nlmsgerr*>(nlmsg_data(h));
                answered[it->second] = true;
                a.error = -err->error;
                if (err->error != 0) a.extack = extack_of(err);
                --pending;
            }
        }
        // The kernel carries out every message of a send, so a refusal is
        // seen only with its whole send done; what has not been sent yet
        // stays unsent. A create refused after the kernel registered the
        // link (a full bridge's EXFULL) costs an unregister, ~20 ms: sending
        // the rest of a long queue after it would make one refusal cost
        // seconds, and the rollback would have more to undo.
        if (refused)
            for (std::size_t i = first; i < end; ++i)
                if (refused(i, result[i])) {
                    for (std::size_t j = end; j < msgs.size(); ++j) result[j].sent = false;
                    return result;
                }
        first = end;
    }
    return result;
}

}  // namespace netlab::reconcile::nl
