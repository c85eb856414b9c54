// Folding a case's events into its state, with the merge rules.
//
// FoldCase is a pure function of the *set* of events: any arrival order, and any
// repetition, gives byte-identical canonical state and the same digest.
//
// The rules (docs/PROTOCOL.md §6 has examples; sync/SPEC.md maps each to its test):
//  1. Order. Events are sorted by (hlc, origin, id). HLC makes this a linear extension
//     of causality: an author stamps an event after observing all its parents.
//  2. Fields (applicant_name, applicant_id, applicant_phone, note). The writes of a field
//     that no later write of the same field has seen are its heads. One head: its value.
//     Several (concurrent edits): the greatest by rule 1 wins, and the field is listed
//     under "conflicts" with every candidate, until someone writes the field with an
//     event whose parents cover all heads (a settling edit) — then there is one head again.
//  3. Status. Lifecycle steps are applied in a topological order of their causal
//     relation; among steps that are concurrent (neither saw the other), the one with
//     greater authority goes first: decide > complete > reject, deliver > accept, forward,
//     request_supplement, evaluate > submit, supplement > withdraw; then the higher tier;
//     then rule 1. A step that is not valid from the status reached so far (or not allowed
//     for its actor's role and tier) is kept and listed under "superseded" with the reason.
//     So a decision is never undone by a concurrent withdrawal, and a concurrent accept
//     and withdraw both take effect (accepted, then withdrawn).
//  4. Sets. Materials received and comments are unions.
//  5. Duplicates. A second case.create for the same case is superseded.
#ifndef DAIBAN_SYNC_MERGE_H_
#define DAIBAN_SYNC_MERGE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "sync/event.h"

namespace daiban::sync {

// Fields a case.edit may set.
const std::vector<std::string>& EditableFields();

struct CaseFold {
  Json state;             // the case state (docs/PROTOCOL.md §6 has its fields); see FoldOutput
  std::string canonical;  // the state's canonical JSON (common/json.h): what is stored and hashed
  std::string digest;     // hex SHA-256 of `canonical`
  std::string region;     // the state's "region" and "status", for the cases table
  std::string status;
  HlcTimestamp max_hlc = 0;  // the greatest hlc among the events folded (0 for none)
};

enum class FoldOutput {
  kWithState,  // fill `state` too (parsed from `canonical`)
  kTextOnly,   // leave `state` null: canonical, digest, region and status only
};

// REQUIRES: every event has the same case_id (not master data). Duplicates are ignored.
CaseFold FoldCase(std::vector<Event> events, FoldOutput output = FoldOutput::kWithState);

// The fold of a case's events E and `added`, worked out from `prior` (the canonical state
// FoldCase wrote for E; `prior_max_hlc` its max_hlc) without E, when the added events
// extend the case: taken in rule-1 order, each has every head of the case so far among
// its parents and an hlc above every event so far, so it is last in rule 1's order and in
// rule 3's, and a descendant of every event. Then its effect is only its own: one head,
// its fields written over (their conflicts settled), its step applied last, its comment
// and materials added. The result is byte-identical to FoldCase(E ∪ added)
// (tests/sync/fold_test.cc checks it on random histories and real stories).
// nullopt, and the caller folds all the events, for anything else: an added event that
// does not extend the case, a case.create, a state still waiting for its create, a `prior`
// that is not such a state, and any mutant build.
// REQUIRES: `added` are events of prior's case, none of them in E.
std::optional<CaseFold> ExtendFold(std::string_view prior, HlcTimestamp prior_max_hlc, std::vector<Event> added,
                                   FoldOutput output = FoldOutput::kWithState);

#ifdef DAIBAN_MUTANT
// Only in the mutant build of sync/ (tests/CMakeLists.txt), used to show that the
// simulator catches a broken merge rule:
//   1  fold in arrival order instead of the total order (rule 1)
//   2  never list field conflicts (rule 2)
//   3  apply concurrent steps in arrival order, ignoring authority (rule 3)
extern int g_mutation;
#endif

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_MERGE_H_
