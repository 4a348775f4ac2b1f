// Writes the seed files of bg::fuzz::safetensors_seeds() into the directory given as argument,
// as the starting corpus of the libFuzzer target.

#include <filesystem>
#include <fstream>
#include <iostream>

#include "safetensors_fuzz.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " CORPUS_DIR\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  int index = 0;
  for (const std::string& bytes : bg::fuzz::safetensors_seeds()) {
    std::ofstream(dir / ("seed" + std::to_string(index++) + ".safetensors"), std::ios::binary)
        << bytes;
  }
  return 0;
}
