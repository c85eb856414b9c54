// A small RFC 4180 CSV reader for the master-data files (regions, catalog, calendar).
//
// Fields may be quoted with "..." (a doubled "" is a literal quote, and a quoted field
// may hold commas). A UTF-8 byte-order mark at the start is skipped. Line numbers are
// 1-based and count the header line, so an error can say "items.csv line 7".
#ifndef DAIBAN_COMMON_CSV_H_
#define DAIBAN_COMMON_CSV_H_

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace daiban::common {

struct CsvRow {
  int line = 0;                      // 1-based line number in the file
  std::vector<std::string> fields;
};

struct CsvTable {
  std::vector<std::string> header;   // the first line
  std::vector<CsvRow> rows;          // every following non-empty line

  // Index of a header column, or -1.
  int Column(std::string_view name) const;
  // REQUIRES nothing. Error (kInvalidArgument) naming the first missing column.
  Status RequireColumns(std::initializer_list<std::string_view> names,
                        std::string_view file_label) const;
};

// Parses CSV text. `file_label` names the source in error messages.
// Errors: an unterminated quote, or a row whose field count differs from the header
// ("<label> line N: expected 4 fields, found 3").
Result<CsvTable> ParseCsv(std::string_view text, std::string_view file_label);

// Reads and parses a file. kNotFound if it cannot be opened.
Result<CsvTable> ReadCsvFile(const std::string& path);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_CSV_H_
