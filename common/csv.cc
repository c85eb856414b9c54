#include "common/csv.h"

#include <fstream>
#include <sstream>

namespace daiban::common {

int CsvTable::Column(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

Status CsvTable::RequireColumns(std::initializer_list<std::string_view> names,
                                std::string_view file_label) const {
  for (auto n : names) {
    if (Column(n) < 0) {
      return InvalidArgument(std::string(file_label) + ": missing column '" + std::string(n) + "'");
    }
  }
  return Status::Ok();
}

Result<CsvTable> ParseCsv(std::string_view text, std::string_view file_label) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  CsvTable table;
  std::vector<std::string> fields;
  std::string field;
  bool in_quotes = false;
  bool row_has_content = false;
  int line = 1;
  int row_line = 1;

  auto end_row = [&]() -> Status {
    fields.push_back(std::move(field));
    field.clear();
    bool empty = !row_has_content && fields.size() == 1 && fields[0].empty();
    if (!empty) {
      if (table.header.empty()) {
        table.header = std::move(fields);
      } else if (fields.size() != table.header.size()) {
        return InvalidArgument(std::string(file_label) + " line " + std::to_string(row_line) +
                               ": expected " + std::to_string(table.header.size()) +
                               " fields, found " + std::to_string(fields.size()));
      } else {
        table.rows.push_back(CsvRow{row_line, std::move(fields)});
      }
    }
    fields.clear();
    row_has_content = false;
    return Status::Ok();
  };

  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_quotes = true;
        row_has_content = true;
        break;
      case ',':
        fields.push_back(std::move(field));
        field.clear();
        row_has_content = true;
        break;
      case '\r':
        break;
      case '\n':
        DAIBAN_RETURN_IF_ERROR(end_row());
        ++line;
        row_line = line;
        break;
      default:
        field += c;
        row_has_content = true;
    }
  }
  if (in_quotes) {
    return InvalidArgument(std::string(file_label) + " line " + std::to_string(row_line) +
                           ": unterminated quoted field");
  }
  if (!field.empty() || !fields.empty() || row_has_content) DAIBAN_RETURN_IF_ERROR(end_row());
  if (table.header.empty()) return InvalidArgument(std::string(file_label) + ": empty file, no header line");
  return table;
}

Result<CsvTable> ReadCsvFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string label = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  return ParseCsv(buf.str(), label);
}

}  // namespace daiban::common
