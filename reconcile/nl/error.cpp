// NlError's message: the object, the action and the kernel's errno text
// (error.hpp).
#include "reconcile/nl/error.hpp"

#include <cstring>

namespace netlab::reconcile::nl {

namespace {
std::string compose(int errnum, const std::string& object, const std::string& action,
                    const std::string& reason, const std::string& detail) {
    std::string s = object;
    if (!action.empty()) s += (s.empty() ? "" : ": ") + action;
    s += (s.empty() ? "" : ": ") + (reason.empty() ? std::string(std::strerror(errnum)) : reason);
    if (!detail.empty()) s += " (" + detail + ")";
    return s;
}
}  // namespace

NlError::NlError(int errnum, std::string object, std::string action, std::string reason,
                 std::string detail)
    : std::runtime_error(compose(errnum, object, action, reason, detail)),
      code_(errnum),
      object_(std::move(object)),
      action_(std::move(action)),
      detail_(std::move(detail)) {}

}  // namespace netlab::reconcile::nl
