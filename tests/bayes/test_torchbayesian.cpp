// Importing a torchbayesian state_dict: the file below was written by /usr/bin/python3 with PyTorch
// 1.13, naming the keys exactly as torchbayesian names them (torchbayesian itself is not packaged
// for Debian), by this script, which also printed the values quoted in the tests:
//
// # The state_dict of a torchbayesian BayesianModule over Sequential(Linear(2, 3),
// # BatchNorm1d(3), ReLU(), Linear(3, 1)), named as torchbayesian names it (its BayesianModule
// # keeps the model as `module`; parameter <owner>.<name> becomes the posterior state
// # <owner>.reparametrizations.<name>.variational_posterior.{mu,rho}, sigma = softplus(rho)),
// # written as safetensors.torch.save_file writes it.
// import json, struct, torch
// torch.manual_seed(0)
// nn = torch.nn
// net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 1))
// state, posterior = {}, "module.{}.reparametrizations.{}.variational_posterior"
// for name, p in net.named_parameters():
//     prefix = posterior.format(*name.rsplit(".", 1))
//     state[prefix + ".mu"] = (torch.randn_like(p) * 0.5).round(decimals=3)
//     state[prefix + ".rho"] = (torch.rand_like(p) * -3 - 1).round(decimals=3)
// net[1].running_mean.copy_(torch.tensor([0.1, -0.2, 0.3]))
// net[1].running_var.copy_(torch.tensor([1.5, 0.5, 2.0]))
// net[1].num_batches_tracked.fill_(7)
// for name, b in net.named_buffers():
//     state["module." + name] = b.clone()
// header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
// for key, t in state.items():
//     data = t.contiguous().numpy().tobytes()
//     dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
//     end = offset + len(data)
//     header[key] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, end]}
//     blobs.append(data)
//     offset = end
// text = json.dumps(header, separators=(",", ":")).encode()
// text += b" " * (-len(text) % 8)
// blob = struct.pack("<Q", len(text)) + text + b"".join(blobs)
// open("tb.safetensors", "wb").write(blob)
// with torch.no_grad():  # the mean network, in eval mode
//     for name, p in net.named_parameters():
//         p.copy_(state[posterior.format(*name.rsplit(".", 1)) + ".mu"])
//     net.eval()
//     print(net(torch.tensor([[1.0, -2.0], [0.5, 0.25]])).flatten().tolist())
//     rho = state[posterior.format("3", "bias") + ".rho"]
//     print(nn.functional.softplus(rho).tolist())

#include <bg/bayes.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
using namespace bg;
using bayes::BayesianModule;

namespace {

// tb.safetensors, as hex.
constexpr const char* kTorchbayesianFile =
    "68060000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c226d6f64756c65"
    "2e"
    "302e7265706172616d657472697a6174696f6e732e7765696768742e766172696174696f6e616c5f706f7374657269"
    "6f"
    "722e6d75223a7b226474797065223a22463332222c227368617065223a5b332c325d2c22646174615f6f6666736574"
    "73"
    "223a5b302c32345d7d2c226d6f64756c652e302e7265706172616d657472697a6174696f6e732e7765696768742e76"
    "61"
    "72696174696f6e616c5f706f73746572696f722e72686f223a7b226474797065223a22463332222c22736861706522"
    "3a"
    "5b332c325d2c22646174615f6f666673657473223a5b32342c34385d7d2c226d6f64756c652e302e7265706172616d"
    "65"
    "7472697a6174696f6e732e626961732e766172696174696f6e616c5f706f73746572696f722e6d75223a7b22647479"
    "70"
    "65223a22463332222c227368617065223a5b335d2c22646174615f6f666673657473223a5b34382c36305d7d2c226d"
    "6f"
    "64756c652e302e7265706172616d657472697a6174696f6e732e626961732e766172696174696f6e616c5f706f7374"
    "65"
    "72696f722e72686f223a7b226474797065223a22463332222c227368617065223a5b335d2c22646174615f6f666673"
    "65"
    "7473223a5b36302c37325d7d2c226d6f64756c652e312e7265706172616d657472697a6174696f6e732e7765696768"
    "74"
    "2e766172696174696f6e616c5f706f73746572696f722e6d75223a7b226474797065223a22463332222c2273686170"
    "65"
    "223a5b335d2c22646174615f6f666673657473223a5b37322c38345d7d2c226d6f64756c652e312e7265706172616d"
    "65"
    "7472697a6174696f6e732e7765696768742e766172696174696f6e616c5f706f73746572696f722e72686f223a7b22"
    "64"
    "74797065223a22463332222c227368617065223a5b335d2c22646174615f6f666673657473223a5b38342c39365d7d"
    "2c"
    "226d6f64756c652e312e7265706172616d657472697a6174696f6e732e626961732e766172696174696f6e616c5f70"
    "6f"
    "73746572696f722e6d75223a7b226474797065223a22463332222c227368617065223a5b335d2c22646174615f6f66"
    "66"
    "73657473223a5b39362c3130385d7d2c226d6f64756c652e312e7265706172616d657472697a6174696f6e732e6269"
    "61"
    "732e766172696174696f6e616c5f706f73746572696f722e72686f223a7b226474797065223a22463332222c227368"
    "61"
    "7065223a5b335d2c22646174615f6f666673657473223a5b3130382c3132305d7d2c226d6f64756c652e332e726570"
    "61"
    "72616d657472697a6174696f6e732e7765696768742e766172696174696f6e616c5f706f73746572696f722e6d7522"
    "3a"
    "7b226474797065223a22463332222c227368617065223a5b312c335d2c22646174615f6f666673657473223a5b3132"
    "30"
    "2c3133325d7d2c226d6f64756c652e332e7265706172616d657472697a6174696f6e732e7765696768742e76617269"
    "61"
    "74696f6e616c5f706f73746572696f722e72686f223a7b226474797065223a22463332222c227368617065223a5b31"
    "2c"
    "335d2c22646174615f6f666673657473223a5b3133322c3134345d7d2c226d6f64756c652e332e7265706172616d65"
    "74"
    "72697a6174696f6e732e626961732e766172696174696f6e616c5f706f73746572696f722e6d75223a7b2264747970"
    "65"
    "223a22463332222c227368617065223a5b315d2c22646174615f6f666673657473223a5b3134342c3134385d7d2c22"
    "6d"
    "6f64756c652e332e7265706172616d657472697a6174696f6e732e626961732e766172696174696f6e616c5f706f73"
    "74"
    "6572696f722e72686f223a7b226474797065223a22463332222c227368617065223a5b315d2c22646174615f6f6666"
    "73"
    "657473223a5b3134382c3135325d7d2c226d6f64756c652e312e72756e6e696e675f6d65616e223a7b226474797065"
    "22"
    "3a22463332222c227368617065223a5b335d2c22646174615f6f666673657473223a5b3135322c3136345d7d2c226d"
    "6f"
    "64756c652e312e72756e6e696e675f766172223a7b226474797065223a22463332222c227368617065223a5b335d2c"
    "22"
    "646174615f6f666673657473223a5b3136342c3137365d7d2c226d6f64756c652e312e6e756d5f626174636865735f"
    "74"
    "7261636b6564223a7b226474797065223a22493634222c227368617065223a5b5d2c22646174615f6f666673657473"
    "22"
    "3a5b3137362c3138345d7d7d2020202031082cbed578693e8941a0beb072683e3bdf2fbfa245b63f0e2d2ac079e976"
    "c0"
    "f2d28dbf022bc7bf14ae07c0b81ef5bf60e590be0ad7a33df4fd54bc2b874ec0560e25c06891ddbfd578093fd122db"
    "bd"
    "1b2f5dbe448b5cc0894158c048e1eabf6210583fac1c8abf0e2d32bfd122abbf48e1babfcdccdcbf105839bea69b84"
    "3e"
    "9eef27bf08ac54c06de713c0e3a523c06de75b3f9a99f9bfcdcccc3dcdcc4cbe9a99993e0000c03f0000003f000000"
    "40"
    "0700000000000000";

// A file in the temporary directory holding `bytes`, removed when the test ends.
struct TempFile {
  explicit TempFile(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             ("bg_test_torchbayesian_" + std::to_string(getpid()) + "_" + name + ".safetensors")) {}
  ~TempFile() { std::filesystem::remove(path); }
  std::filesystem::path path;
};

void write_hex(const std::filesystem::path& path, const std::string& hex) {
  std::ofstream out(path, std::ios::binary);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.put(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
}

nn::Sequential net() {
  return nn::Sequential(nn::Linear(2, 3), nn::BatchNorm1d(3), nn::ReLU(), nn::Linear(3, 1));
}

}  // namespace

TEST_CASE("a torchbayesian state_dict loads into the equivalent BayesianModule") {
  TempFile file("model");
  write_hex(file.path, kTorchbayesianFile);
  nn::Sequential model = net();
  BayesianModule bnn = bayes::load_torchbayesian(model, file.path);
  CHECK(bnn->posteriors().keys() ==
        std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"});
  auto& first = bayes::test::gaussian_of(*bnn, "0.weight");
  test::check_close(first.mu, {-0.168, 0.228, -0.313, 0.227, -0.687, 1.424}, 1e-7);
  test::check_close(first.rho, {-2.659, -3.858, -1.108, -1.556, -2.12, -1.915}, 1e-7);
  // sigma = softplus(rho), as torchbayesian computes it.
  test::check_close(bayes::test::gaussian_of(*bnn, "3.bias").sigma(), {0.13302107155323029}, 1e-7);
  auto norm = model->ptr<nn::BatchNorm1dImpl>(1);
  test::check_close(norm->running_mean, {0.1, -0.2, 0.3}, 1e-7);
  test::check_close(norm->running_var, {1.5, 0.5, 2.0}, 1e-7);
  CHECK(norm->num_batches_tracked.item<int64_t>() == 7);
  // The mean network in eval mode computes what PyTorch computed with the same means.
  bnn->eval();
  bnn->set_mode(bayes::SampleMode::Mean);
  test::check_close(bnn(tensor({{1.0f, -2.0f}, {0.5f, 0.25f}})),
                    {0.7861523032188416, 0.7387739419937134}, 1e-6);
  // The prior comes from the options (torchbayesian does not save one).
  CHECK(bnn->posteriors()["0.weight"]->prior()->args().str() == "mu=0, sigma=1");
  nn::Sequential other = net();
  BayesianModule laplace = bayes::load_torchbayesian(
      other, file.path, bayes::BayesianOptions().prior({"laplace", {{"b", 0.5}}}));
  CHECK(laplace->posteriors()["3.bias"]->prior()->registry_name() == "laplace");
}

TEST_CASE("a torchbayesian file of the wrapped model (no 'module.' prefix) loads too") {
  TempFile file("model"), inner("inner");
  write_hex(file.path, kTorchbayesianFile);
  TensorFile saved = load_tensors(file.path);
  nn::OrderedDict<Tensor> stripped;
  for (const auto& item : saved.tensors) stripped.insert(item.key().substr(7), item.value());
  save_tensors(inner.path, stripped, saved.metadata);
  nn::Sequential a = net(), b = net();
  BayesianModule from_bnn = bayes::load_torchbayesian(a, file.path);
  BayesianModule from_inner = bayes::load_torchbayesian(b, inner.path);
  bayes::test::check_same_state(*from_inner, *from_bnn);
}

TEST_CASE("importing names what does not match and leaves the module as it was") {
  TempFile file("model");
  write_hex(file.path, kTorchbayesianFile);
  SUBCASE("another architecture") {
    nn::Sequential wider(nn::Linear(2, 4), nn::BatchNorm1d(4), nn::ReLU(), nn::Linear(4, 1));
    test::check_error({"load_torchbayesian", "does not match the Sequential",
                       "0.weight.mu (the module needs [4, 2], the file has [3, 2])"},
                      [&] { bayes::load_torchbayesian(wider, file.path); });
    CHECK_FALSE(nn::utils::is_parametrized(*wider[0]));
    nn::Sequential shorter(nn::Linear(2, 3), nn::BatchNorm1d(3));
    test::check_error({"unexpected [3.bias (a posterior), 3.weight (a posterior)]"},
                      [&] { bayes::load_torchbayesian(shorter, file.path); });
  }
  SUBCASE("a variational parameter other than mu and rho, a NaN rho") {
    TensorFile saved = load_tensors(file.path);
    nn::OrderedDict<Tensor> edited;
    for (const auto& item : saved.tensors) {
      std::string key = item.key();
      if (key == "module.3.reparametrizations.bias.variational_posterior.rho") {
        edited.insert(key, full({1}, std::nan("")));
        continue;
      }
      edited.insert(key, item.value());
    }
    save_tensors(file.path, edited, saved.metadata);
    nn::Sequential model = net();
    test::check_error({"load_torchbayesian", "the parameter '3.bias'", "NaN or not positive"},
                      [&] { bayes::load_torchbayesian(model, file.path); });
    CHECK_FALSE(nn::utils::is_parametrized(*model[3]));
    edited.insert("module.3.reparametrizations.bias.variational_posterior.sigma", ones({1}));
    save_tensors(file.path, edited, saved.metadata);
    test::check_error({"load_torchbayesian", "holds 'sigma'", "only Gaussian posteriors"},
                      [&] { bayes::load_torchbayesian(model, file.path); });
  }
}
