#include "bg/nn/data/csv.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "io/regular_file.h"

namespace bg::data {
namespace {

constexpr const char* kOp = "read_csv";

// Where the parser is, for error messages.
struct Location {
  const std::string& path;
  int64_t line;
};

// Throws "read_csv: <path>, line <line>, column <column>: <parts>".
template <typename Column, typename... Parts>
[[noreturn]] void fail(const Location& at, const Column& column, const Parts&... parts) {
  throw Error(
      detail::concat(kOp, ": ", at.path, ", line ", at.line, ", column ", column, ": ", parts...));
}

// Space and tab surround fields, unless they are the delimiter.
bool is_padding(char c, char delimiter) { return (c == ' ' || c == '\t') && c != delimiter; }

bool is_blank(std::string_view line, char delimiter) {
  for (char c : line) {
    if (!is_padding(c, delimiter)) return false;
  }
  return true;
}

// The fields of one line, without padding and quotes.
std::vector<std::string> split_fields(std::string_view line, char delimiter, const Location& at) {
  std::vector<std::string> fields;
  size_t i = 0;
  const auto skip_padding = [&] {
    while (i < line.size() && is_padding(line[i], delimiter)) ++i;
  };
  while (true) {
    const auto column = static_cast<int64_t>(fields.size()) + 1;
    skip_padding();
    std::string field;
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i == line.size()) fail(at, column, "the quoted field has no closing quote");
        if (line[i] != '"') {
          field += line[i];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';  // "" stands for one quote
          ++i;
        } else {
          break;
        }
      }
      ++i;  // the closing quote
      skip_padding();
      if (i < line.size() && line[i] != delimiter) {
        fail(at, column, "unexpected '", line[i], "' after the closing quote");
      }
    } else {
      const size_t end = std::min(line.find(delimiter, i), line.size());
      size_t last = end;
      while (last > i && is_padding(line[last - 1], delimiter)) --last;
      field = line.substr(i, last - i);
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) return fields;
    ++i;  // the delimiter
  }
}

double parse_number(const std::string& text, Dtype dtype, const Location& at, int64_t column,
                    const std::string& name) {
  const auto fail_here = [&](const auto&... parts) {
    fail(at, detail::concat(column, " (\"", name, "\")"), parts...);
  };
  if (text.empty()) fail_here("empty field (missing values are not supported)");
  // from_chars takes no leading '+'; skip one that starts a number.
  const bool plus = text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+';
  const char* first = text.data() + (plus ? 1 : 0);
  const char* last = text.data() + text.size();
  double value = 0;
  const auto [end, status] = std::from_chars(first, last, value);
  if (status == std::errc::invalid_argument || end != last) {
    fail_here("\"", text, "\" is not a number");
  }
  // from_chars leaves `value` alone when the number is beyond double's range; strtod rounds it to
  // infinity (an error: write "inf" to mean it) or to zero (accepted, as float32 rounds numbers
  // too small for it to zero).
  const bool out_of_range = status == std::errc::result_out_of_range;
  if (out_of_range) value = std::strtod(text.c_str(), nullptr);
  const double largest =
      dtype == kFloat32 ? std::numeric_limits<float>::max() : std::numeric_limits<double>::max();
  if ((out_of_range && std::isinf(value)) || (std::isfinite(value) && std::abs(value) > largest)) {
    fail_here("\"", text, "\" is out of the range of ", dtype);
  }
  return value;
}

std::string read_file(const std::string& path) {
  const detail::RegularFile file(path, detail::concat(kOp, ": ", path));
  std::string content(file.size(), '\0');
  file.read(0, content.data(), content.size());
  return content;
}

}  // namespace

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  const char delimiter = options.delimiter();
  BG_CHECK(delimiter != '"' && delimiter != '\n' && delimiter != '\r', kOp,
           "the delimiter cannot be a quote or a line break");
  BG_CHECK(is_floating(options.dtype()), kOp, "dtype must be float32 or float64, got ",
           options.dtype());
  BG_CHECK(options.skip_rows() >= 0, kOp, "skip_rows must be non-negative, got ",
           options.skip_rows());
  const std::string content = read_file(path);
  std::string_view rest = content;
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);  // the UTF-8 byte order mark

  CsvTable table;
  bool have_header = false;
  std::vector<int64_t> read;  // the positions of the columns read, in the order wanted
  std::vector<double> values;
  int64_t rows = 0;
  for (Location at{path, 1}; !rest.empty(); ++at.line) {
    // A line ends at "\n", "\r\n" or a lone "\r" (the files of old Macs).
    const size_t line_break = std::min(rest.find_first_of("\r\n"), rest.size());
    std::string_view line = rest.substr(0, line_break);
    const bool crlf = rest.substr(line_break).starts_with("\r\n");
    rest.remove_prefix(std::min(line_break + (crlf ? 2 : 1), rest.size()));
    if (at.line <= options.skip_rows()) continue;
    if (is_blank(line, delimiter)) continue;

    std::vector<std::string> fields = split_fields(line, delimiter, at);
    if (!have_header) {
      table.columns = std::move(fields);
      have_header = true;
      for (size_t c = 0; c < table.columns.size(); ++c) read.push_back(static_cast<int64_t>(c));
      if (!options.columns().empty()) {
        read.clear();
        for (const std::string& name : options.columns()) read.push_back(table.column_index(name));
      }
      continue;
    }
    const int64_t columns = static_cast<int64_t>(table.columns.size());
    const int64_t count = static_cast<int64_t>(fields.size());
    if (count < columns) {
      fail(at, count + 1, "the row ends after ", count, " fields, but the header has ", columns,
           " columns");
    }
    if (count > columns) {
      fail(at, columns + 1, "the row has ", count, " fields, but the header has only ", columns,
           " columns");
    }
    for (int64_t c : read) {
      values.push_back(parse_number(fields[c], options.dtype(), at, c + 1, table.columns[c]));
    }
    ++rows;
  }
  BG_CHECK(have_header, kOp, path, ": no header row (the file has no non-empty line)");
  if (!options.columns().empty()) table.columns = options.columns();
  const Shape sizes{rows, static_cast<int64_t>(table.columns.size())};
  table.values = from_data(values.data(), kFloat64, static_cast<int64_t>(values.size()), sizes,
                           options.dtype());
  return table;
}

int64_t CsvTable::column_index(const std::string& name) const {
  std::vector<int64_t> matches;
  std::string all;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c] == name) matches.push_back(static_cast<int64_t>(c));
    all += (c == 0 ? "\"" : ", \"") + columns[c] + "\"";
  }
  BG_CHECK(!matches.empty(), "CsvTable", "no column is named \"", name, "\" (the columns are ", all,
           ")");
  BG_CHECK(matches.size() == 1, "CsvTable", "the column name \"", name,
           "\" is ambiguous: the columns at positions ", matches[0], " and ", matches[1],
           " have it");
  return matches[0];
}

Tensor CsvTable::column(const std::string& name) const {
  return values.select(1, column_index(name)).contiguous();
}

Example CsvTable::split_target(const std::string& name) const {
  const int64_t target = column_index(name);
  std::vector<int64_t> others;
  for (int64_t c = 0; c < static_cast<int64_t>(columns.size()); ++c) {
    if (c != target) others.push_back(c);
  }
  const Tensor feature_columns = tensor(others, {static_cast<int64_t>(others.size())});
  return {values.index_select(1, feature_columns), column(name)};
}

}  // namespace bg::data
