// Writes the seed corpora of the fuzz targets into the directory given as argument, one folder
// per target (safetensors, idx, csv, optimizer, bnn_checkpoint).

#include <filesystem>
#include <fstream>
#include <iostream>

#include "safetensors_fuzz.h"
#include "seeds.h"

namespace {

void write_corpus(const std::filesystem::path& dir, const std::vector<std::string>& seeds) {
  std::filesystem::create_directories(dir);
  int index = 0;
  for (const std::string& bytes : seeds) {
    std::ofstream(dir / ("seed" + std::to_string(index++)), std::ios::binary) << bytes;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " CORPORA_DIR\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  write_corpus(dir / "safetensors", bg::fuzz::safetensors_seeds());
  write_corpus(dir / "idx", bg::fuzz::idx_seeds());
  write_corpus(dir / "csv", bg::fuzz::csv_seeds());
  write_corpus(dir / "optimizer", bg::fuzz::optimizer_seeds());
  write_corpus(dir / "bnn_checkpoint", bg::fuzz::bnn_seeds());
  return 0;
}
