// Wire-format constants of the Daiban sync protocol. docs/PROTOCOL.md is the written
// spec; every number here appears there with its meaning.
#ifndef DAIBAN_SYNC_PROTOCOL_H_
#define DAIBAN_SYNC_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace daiban::sync {

// Protocol versions this build speaks. Every request names one in "v"; a receiver
// that does not speak it answers `unimplemented` with the range it does speak.
inline constexpr int kProtocolVersionMin = 1;
inline constexpr int kProtocolVersionMax = 1;
// The software release, reported to the parent in every request (status.software) so the
// hub can list what each node runs.
inline constexpr std::string_view kSoftwareVersion = "0.1.0";

// A framed message: 4-byte magic, then the zlib (RFC 1950) stream of the message's
// canonical JSON. zlib's Adler-32 trailer makes a truncated frame a clear error.
inline constexpr std::string_view kFrameMagic = "DBZ1";

// Event ids are "<origin>.<incarnation>.<counter>"; the incarnation is this many random
// lower-case hex digits (48 bits), new every time a store is opened.
inline constexpr size_t kIncarnationHexDigits = 12;

// Limits. A request over kMaxFrameBytes (compressed) or kMaxMessageBytes (inflated) is
// refused whole with `resource_exhausted`; nothing in it is applied.
inline constexpr size_t kMaxFrameBytes = 16u << 20;    // 16 MiB on the wire
inline constexpr size_t kMaxMessageBytes = 64u << 20;  // 64 MiB inflated
inline constexpr size_t kMaxBatchEvents = 5000;        // events in one push or pull
inline constexpr size_t kMaxEventBytes = 64u << 10;    // one event's canonical JSON

// Defaults a sender uses (a receiver accepts anything up to the limits above).
inline constexpr size_t kDefaultBatchEvents = 1000;
inline constexpr size_t kDefaultBatchBytes = 1u << 20;

// Message types ("type").
inline constexpr std::string_view kMsgSync = "sync";          // child -> parent: push + pull in one round
inline constexpr std::string_view kMsgSyncReply = "sync_reply";
inline constexpr std::string_view kMsgError = "error";        // any -> any: the request was refused whole

// Event kinds. Case events carry a case id; master-data events ("master.") do not.
inline constexpr std::string_view kKindCreate = "case.create";      // file a case (draft)
inline constexpr std::string_view kKindStep = "case.step";          // a lifecycle step (submit, accept, ...)
inline constexpr std::string_view kKindEdit = "case.edit";          // set fields; also settles a conflict
inline constexpr std::string_view kKindMaterials = "case.materials";  // materials received (set union)
inline constexpr std::string_view kKindComment = "case.comment";    // a note (set union)
inline constexpr std::string_view kKindMasterPrefix = "master.";    // master data from the hub
// Master data kinds published by the hub: body {"version": n, "text": CSV, "by": user}.
inline constexpr std::string_view kKindMasterCatalog = "master.catalog";    // items.csv
inline constexpr std::string_view kKindMasterCalendar = "master.calendar";  // the holiday calendar CSV
inline constexpr std::string_view kKindMasterRevoked = "master.revoked";    // retired node ids, one a line
inline constexpr size_t kMaxMasterTextBytes = 48 * 1024;                    // fits one event (64 KiB)

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_PROTOCOL_H_
