// libFuzzer target for read_csv: see reader_fuzz.h. The first byte picks the options.

#include <cstddef>
#include <cstdint>

#include "bg/nn/data/csv.h"
#include "reader_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bg::data::CsvOptions options = bg::data::CsvOptions()
                                           .delimiter((data[0] & 1) != 0 ? ';' : ',')
                                           .skip_rows((data[0] >> 1) & 3)
                                           .dtype((data[0] & 8) != 0 ? bg::kFloat64 : bg::kFloat32);
  const bg::fuzz::BytesFile file({reinterpret_cast<const char*>(data) + 1, size - 1}, ".csv");
  bg::fuzz::loads([&] { bg::data::read_csv(file.path(), options); });
  return 0;
}
