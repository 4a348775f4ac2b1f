#pragma once
// The small valid inputs the fuzz targets start from (make_seeds writes them as the corpora), and
// the model the optimizer and BNN targets load checkpoints into. Everything is deterministic.

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bg/bayes.h"
#include "bg/nn.h"
#include "bg/nn/serialize.h"
#include "reader_fuzz.h"

namespace bg::fuzz {

/// The model of the optimizer and BNN checkpoints: a Linear(3, 2) with fixed weights.
inline nn::Linear seed_model() {
  nn::Linear net(3, 2);
  NoGradGuard no_grad;
  net->weight.copy_(arange(6, kFloat32).reshape({2, 3}) / 10);
  net->bias.copy_(tensor({0.5f, -0.5f}));
  return net;
}

/// One training step of `optimizer` on `net` (a seed_model()).
template <typename Optimizer>
void train_step(nn::Linear& net, Optimizer& optimizer) {
  optimizer.zero_grad();
  (net(arange(12, kFloat32).reshape({4, 3}) / 10) - 1).pow(2).mean().backward();
  optimizer.step();
}

/// The bytes of the file that `save(path)` writes.
template <typename Save>
std::string saved_bytes(Save save) {
  const BytesFile file("", ".safetensors");
  save(file.path());
  std::ifstream in(file.path(), std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Checkpoints of Adam (amsgrad on and off) and SGD with momentum after a few steps.
inline std::vector<std::string> optimizer_seeds() {
  std::vector<std::string> seeds;
  for (const bool amsgrad : {false, true}) {
    nn::Linear net = seed_model();
    optim::Adam adam(net->parameters(), optim::AdamOptions(0.1).amsgrad(amsgrad));
    train_step(net, adam);
    train_step(net, adam);
    seeds.push_back(saved_bytes([&](const auto& path) { save(adam, path); }));
  }
  nn::Linear net = seed_model();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  train_step(net, sgd);
  seeds.push_back(saved_bytes([&](const auto& path) { save(sgd, path); }));
  return seeds;
}

/// The file bayes::save writes for a BNN of seed_model() with a scale-mixture prior on the weight
/// and the bias kept deterministic.
inline TensorFile seed_bnn_checkpoint() {
  manual_seed(0);
  bayes::BayesianModule bnn(
      seed_model(),
      bayes::BayesianOptions()
          .rule("weight", bayes::Rule().prior(
                              {"scale_mixture", {{"pi", 0.5}, {"sigma1", 1.0}, {"sigma2", 0.01}}}))
          .deterministic("bias"));
  const BytesFile file("", ".safetensors");
  bayes::save(bnn, file.path());
  return load_tensors(file.path());
}

/// The description of seed_bnn_checkpoint(), the input of the BNN target.
inline std::vector<std::string> bnn_seeds() {
  return {seed_bnn_checkpoint().metadata.at(bayes::kCheckpointKey)};
}

/// An IDX file: magic, dims, big-endian elements.
inline std::string idx_bytes(unsigned char type, const std::vector<uint32_t>& dims,
                             const std::string& elements) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (const uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xFF);
  }
  return out + elements;
}

/// `bytes` as a gzip stream.
inline std::string gzip_bytes(const std::string& bytes) {
  z_stream stream{};
  deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, bytes.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

/// IDX files of every type code, plain and gzipped.
inline std::vector<std::string> idx_seeds() {
  const std::vector<std::string> plain = {
      idx_bytes(0x08, {2, 3}, "\x01\x02\x03\x04\x05\xff"),
      idx_bytes(0x09, {3}, "\x80\x00\x7f"),
      idx_bytes(0x0B, {2}, std::string("\x80\x00\x01\x02", 4)),
      idx_bytes(0x0C, {1, 1}, std::string("\x00\x01\x00\x00", 4)),
      idx_bytes(0x0D, {1}, std::string("\x3f\xc0\x00\x00", 4)),
      idx_bytes(0x0E, {}, std::string("\x3f\xf8\x00\x00\x00\x00\x00\x00", 8)),
  };
  std::vector<std::string> seeds = plain;
  for (const std::string& bytes : plain) seeds.push_back(gzip_bytes(bytes));
  return seeds;
}

/// CSV files: the first byte picks the options (csv_fuzz.cpp), the rest is the file.
inline std::vector<std::string> csv_seeds() {
  return {
      std::string("\x00", 1) + "x, \"y, in \"\"m\"\"\" ,z\r\n1, 2.5 ,-3e2\r\n+4,\"0.1\",nan\n",
      "\x01a;b\r1;2\r3;4\r",
      "\x02"
      "506,13,,\nCRIM,ZN,MEDV\n0.00632,18,24\n",
      "\x08"
      "\xEF\xBB\xBF"
      "a,b\n1e-400,-inf\n\n",
  };
}

}  // namespace bg::fuzz
