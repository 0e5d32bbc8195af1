// A test double: a Kernel whose namespaces live in memory and whose steps run
// on the pure kernel model (kernel_model.hpp), so unit and engine tests run
// whole transactions, rollbacks included, without root.
#pragma once

#include <cstdint>
#include <optional>

#include "reconcile/kernel.hpp"
#include "reconcile/plan/kernel_model.hpp"

namespace netlab::reconcile {

class MemoryKernel : public Kernel {
public:
    explicit MemoryKernel(Observed initial = {}) : state(std::move(initial)) {}
    model::NetnsState observe(const NsId& ns) override;
    void execute(const Step& step) override;
    void attach_namespace(const NsId& ns, int netns_fd) override;
    std::uint64_t writes() const override { return writes_; }

    Observed state;
    // Refuse the step with this 0-based index (counted over all execute()
    // calls) with EPERM, as NETLAB_FAIL_AT_STEP does on the real kernel.
    std::optional<std::uint64_t> fail_at;

private:
    std::uint64_t writes_ = 0;
};

}  // namespace netlab::reconcile
