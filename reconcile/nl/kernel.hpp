// NlKernel: reconcile::Kernel over netlink (libnl-3), one socket per network
// namespace. The header stays free of libnl; everything libnl lives in
// reconcile/nl/*.cpp.
#pragma once

#include <cstdint>
#include <memory>

#include "reconcile/kernel.hpp"

namespace netlab::reconcile::nl {

class NlKernel final : public Kernel {
public:
    // Opens the socket of the namespace the process runs in (NsId "").
    NlKernel();
    ~NlKernel() override;
    NlKernel(const NlKernel&) = delete;
    NlKernel& operator=(const NlKernel&) = delete;

    model::NetnsState observe(const NsId& ns) override;
    void execute(const Step& step) override;
    // Pipelined: each namespace's requests wait in a queue and go out in one
    // sendmsg() when something needs them (Impl::enqueue).
    std::optional<RunFailure> execute_steps(const std::vector<Step>& steps,
                                            const std::function<void(std::size_t)>& before) override;
    // Takes ownership of netns_fd; the namespace's socket is opened from a
    // short-lived thread that setns()'s into it (the caller's thread never moves).
    void attach_namespace(const NsId& ns, int netns_fd) override;
    std::map<NsId, std::string> attach_namespaces(const std::vector<std::pair<NsId, int>>& fds) override;
    void detach_namespace(const NsId& ns) override;
    std::uint64_t namespace_cookie(const NsId& ns) const override;
    std::uint64_t writes() const override;
    // Gratuitous ARP / unsolicited NA from inside each namespace
    // (reconcile/nl/announce.cpp).
    std::vector<std::string> announce(const std::vector<Announcement>& what) override;
    std::map<NsId, int> peer_nsids() const override;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace netlab::reconcile::nl
