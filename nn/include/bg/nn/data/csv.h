#pragma once
// CSV files of numbers under a header row:
//
//   x1,x2,"price (EUR)"
//   0.5,1,10.25
//   ...
//
//   data::CsvTable table = data::read_csv("houses.csv");
//   auto [features, price] = table.split_target("price (EUR)");
//   auto dataset = std::make_shared<data::TensorDataset>(features, price);
//
//   // Only some columns; the others may hold text (dates, labels):
//   data::read_csv("weather.csv", data::CsvOptions().columns({"temp_max", "temp_min"}));

#include <string>
#include <vector>

#include "bg/core/api.h"
#include "bg/nn/data/dataset.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::data {

struct CsvOptions {
  /// The field separator.
  BG_ARG(char, delimiter) = ',';
  /// float32 or float64.
  BG_ARG(Dtype, dtype) = kFloat32;
  /// The columns to read, by header name, in the order wanted; empty (the default) reads every
  /// column. The other columns are skipped and may hold anything.
  BG_ARG(std::vector<std::string>, columns);
  /// Lines skipped before the header, blank or not: scikit-learn's CSV files start with a line
  /// of counts ("506,13,,...") before the header.
  BG_ARG(int64_t, skip_rows) = 0;
};

/// The columns of a CSV file: their names (from the header) and their values.
struct CsvTable {
  std::vector<std::string> columns;
  /// [rows, columns.size()].
  Tensor values;

  /// The position of the column `name`; throws if no column, or more than one, has that name.
  int64_t column_index(const std::string& name) const;
  /// A contiguous copy of the column `name`: [rows].
  Tensor column(const std::string& name) const;
  /// {data: every other column [rows, columns - 1], target: column `name` [rows]}.
  Example split_target(const std::string& name) const;
};

/// Reads a CSV file whose first non-empty line (after `skip_rows` lines) names the columns and
/// whose other non-empty lines hold one number per column (per column read, with
/// CsvOptions::columns). Lines end with "\n", "\r\n" or "\r". Fields may be quoted ("..." with ""
/// for a quote, on one line) and surrounded by spaces; a UTF-8 byte order mark is skipped. Numbers
/// are decimal, optionally in scientific notation, or nan/inf. Errors (ragged rows, empty or
/// non-numeric fields, numbers out of the dtype's range) throw bg::Error naming the file, the line
/// and the column (counted from 1).
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace bg::data

BG_API_END
