#include "reconcile/plan.hpp"

namespace netlab::reconcile {

const char* to_string(Step::Op op) {
    switch (op) {
        case Step::Op::CreateLink: return "create-link";
        case Step::Op::DeleteLink: return "delete-link";
        case Step::Op::SetLink: return "set-link";
        case Step::Op::AddAddress: return "add-address";
        case Step::Op::DelAddress: return "del-address";
        case Step::Op::AddRoute: return "add-route";
        case Step::Op::ReplaceRoute: return "replace-route";
        case Step::Op::DelRoute: return "del-route";
    }
    return "?";
}

}  // namespace netlab::reconcile
