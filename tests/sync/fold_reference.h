// The merge rules as a JSON tree, for checking FoldCase's canonical bytes (tests only).
#ifndef DAIBAN_TESTS_SYNC_FOLD_REFERENCE_H_
#define DAIBAN_TESTS_SYNC_FOLD_REFERENCE_H_

#include <vector>

#include "common/json.h"
#include "sync/event.h"

namespace daiban::sync::testing {

// The case state FoldCase(events) must write: its CanonicalJson is FoldCase's `canonical`.
// REQUIRES: as FoldCase.
common::Json ReferenceFoldState(std::vector<Event> events);

}  // namespace daiban::sync::testing

#endif  // DAIBAN_TESTS_SYNC_FOLD_REFERENCE_H_
