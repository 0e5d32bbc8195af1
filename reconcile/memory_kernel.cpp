// A test double: MemoryKernel runs steps on the pure kernel model.
#include "reconcile/memory_kernel.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace netlab::reconcile {

model::NetnsState MemoryKernel::observe(const NsId& ns) { return state[ns]; }

void MemoryKernel::execute(const Step& step) {
    const std::uint64_t index = writes_++;
    if (fail_at && *fail_at == index) throw KernelRefusal(EPERM, "injected failure at step " + std::to_string(index));
    apply_step(state, step);
}

void MemoryKernel::attach_namespace(const NsId& ns, int netns_fd) {
    if (netns_fd >= 0) ::close(netns_fd);
    state[ns];
}

}  // namespace netlab::reconcile
