// Finite-difference checks of autograd's derivatives.
//
// For every input element x_j that requires grad, the numeric column of the Jacobian is
// (f(x + eps e_j) - f(x - eps e_j)) / 2 eps; the analytic row for output element i is what
// autograd::grad returns for the one-hot output gradient e_i. Both are compared entry by entry.

#include <cmath>
#include <sstream>

#include "bg/core/autograd/autograd.h"
#include "bg/core/factory.h"
#include "bg/core/grad_mode.h"
#include "bg/core/ops.h"
#include "bg/core/tensor_impl.h"

namespace bg::autograd {

namespace {

using Function = std::function<Tensor(const std::vector<Tensor>&)>;

// The output of fn as a flat float64 host vector.
std::vector<double> evaluate(const Function& fn, const std::vector<Tensor>& inputs) {
  NoGradGuard no_grad;
  const Tensor out = fn(inputs).to(kFloat64).cpu().contiguous();
  const double* p = out.data_ptr<double>();
  return {p, p + out.numel()};
}

// Address of the j-th element (row-major order) of a strided float64 CPU tensor.
double* element(const Tensor& t, int64_t j) {
  int64_t offset = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    offset += (j % t.size(d)) * t.stride(d);
    j /= t.size(d);
  }
  return t.data_ptr<double>() + offset;
}

std::string position(const Shape& sizes, int64_t flat) {
  Shape index(sizes.size());
  for (size_t d = sizes.size(); d-- > 0;) {
    index[d] = flat % sizes[d];
    flat /= sizes[d];
  }
  return shape_str(index);
}

}  // namespace

bool gradcheck(const Function& fn, const std::vector<Tensor>& inputs, GradcheckOptions options) {
  std::vector<Tensor> differentiable;
  std::vector<size_t> which;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    BG_CHECK(x.dtype() == kFloat64 && x.device().is_cpu(), "gradcheck", "input ", i, " is ",
             describe(x), "; finite differences need float64 cpu inputs");
    for (int64_t d = 0; d < x.dim(); ++d) {
      BG_CHECK(x.size(d) <= 1 || x.stride(d) != 0, "gradcheck", "input ", i,
               " is an expanded view; perturbing one element would move several");
    }
    differentiable.push_back(x);
    which.push_back(i);
  }
  BG_CHECK(!differentiable.empty(), "gradcheck", "no input requires grad");

  const Tensor output = fn(inputs);
  BG_CHECK(output.defined() && output.is_floating_point(), "gradcheck",
           "the function must return a floating-point tensor, got ", describe(output));
  const int64_t n_out = output.numel();

  for (size_t k = 0; k < differentiable.size(); ++k) {
    const Tensor& x = differentiable[k];
    // Analytic Jacobian, row by row: analytic[i][j] = d out_i / d x_j.
    std::vector<std::vector<double>> analytic(static_cast<size_t>(n_out));
    for (int64_t i = 0; i < n_out; ++i) {
      std::vector<double>& row = analytic[static_cast<size_t>(i)];
      row.assign(static_cast<size_t>(x.numel()), 0.0);
      if (!output.requires_grad()) continue;  // constant in every input
      Tensor one_hot = zeros(output.sizes(), output.options());
      {
        NoGradGuard no_grad;
        one_hot.reshape({-1}).narrow(0, i, 1).fill_(1.0);
      }
      const Tensor g =
          grad({output}, {x}, {one_hot}, GradOptions().retain_graph(true).allow_unused(true))[0];
      if (!g.defined()) continue;
      const Tensor host = g.to(kFloat64).contiguous();
      const double* p = host.data_ptr<double>();
      row.assign(p, p + host.numel());
    }
    // Numeric Jacobian, column by column, compared as it goes.
    for (int64_t j = 0; j < x.numel(); ++j) {
      double* value = element(x, j);
      const double saved = *value;
      *value = saved + options.eps;
      const std::vector<double> plus = evaluate(fn, inputs);
      *value = saved - options.eps;
      const std::vector<double> minus = evaluate(fn, inputs);
      *value = saved;
      for (int64_t i = 0; i < n_out; ++i) {
        const double numeric = (plus[i] - minus[i]) / (2 * options.eps);
        const double exact = analytic[static_cast<size_t>(i)][static_cast<size_t>(j)];
        const bool close =
            std::fabs(exact - numeric) <= options.atol + options.rtol * std::fabs(numeric);
        BG_CHECK(close, "gradcheck", "d output", position(output.sizes(), i), " / d input ",
                 which[k], position(x.sizes(), j), ": autograd gives ", exact,
                 ", finite differences give ", numeric);
      }
    }
  }
  return true;
}

bool gradgradcheck(const Function& fn, const std::vector<Tensor>& inputs,
                   GradcheckOptions options) {
  std::vector<Tensor> differentiable;
  for (const Tensor& x : inputs) {
    if (x.defined() && x.requires_grad()) differentiable.push_back(x);
  }
  BG_CHECK(!differentiable.empty(), "gradgradcheck", "no input requires grad");
  // A fixed direction v for the output, so that x -> v . d fn(x)/dx is a function to check.
  Tensor direction;
  {
    NoGradGuard no_grad;
    const Tensor sample = fn(inputs);
    Generator generator(1234);
    direction = randn(sample.sizes(), sample.options(), &generator);
  }
  auto first_derivative = [&](const std::vector<Tensor>& xs) {
    AutoGradMode enabled(true);  // gradcheck evaluates under no-grad; this function needs a graph
    std::vector<Tensor> wrt;
    for (const Tensor& x : xs) {
      if (x.defined() && x.requires_grad()) wrt.push_back(x);
    }
    const Tensor out = fn(xs);
    std::vector<Tensor> flat;
    if (out.requires_grad()) {
      const std::vector<Tensor> grads =
          grad({out}, wrt, {direction}, GradOptions().create_graph(true).allow_unused(true));
      for (size_t i = 0; i < grads.size(); ++i) {
        flat.push_back(grads[i].defined() ? grads[i].reshape({-1})
                                          : zeros({wrt[i].numel()}, wrt[i].options()));
      }
    } else {
      for (const Tensor& w : wrt) flat.push_back(zeros({w.numel()}, w.options()));
    }
    return cat(flat);
  };
  return gradcheck(first_derivative, inputs, options);
}

}  // namespace bg::autograd
