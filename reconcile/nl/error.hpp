// NlError: a refusal by the kernel (or by libnl), with the kernel's own errno
// and the object it was about. Free of libnl headers so the engine, the CLI
// and the unit tests' fake kernel can throw and catch it.
#pragma once

#include <stdexcept>
#include <string>

namespace netlab::reconcile::nl {

class NlError : public std::runtime_error {
public:
    // errnum: the positive errno the kernel answered (EBUSY, EEXIST, ...).
    // object: what it was about ("br0"); action: what was asked ("enslave ens33").
    // reason: overrides strerror(errnum) when non-empty (libnl-only failures,
    // injected faults); detail: the kernel's extended ack message, if any.
    NlError(int errnum, std::string object, std::string action, std::string reason = {},
            std::string detail = {});

    int code() const { return code_; }
    const std::string& object() const { return object_; }
    const std::string& action() const { return action_; }
    const std::string& detail() const { return detail_; }

private:
    int code_;
    std::string object_;
    std::string action_;
    std::string detail_;
};

}  // namespace netlab::reconcile::nl
