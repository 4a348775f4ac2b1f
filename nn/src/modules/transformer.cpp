#include "bg/nn/modules/transformer.h"

#include <limits>

#include "bg/nn/functional.h"
#include "bg/nn/init.h"

namespace bg::nn {

namespace {

// A layer norm over the last dim, d_model features.
LayerNorm layer_norm(int64_t d_model, double eps) {
  return LayerNorm(LayerNormOptions({d_model}).eps(eps));
}

MultiheadAttention attention(const TransformerEncoderLayerOptions& options) {
  return MultiheadAttention(MultiheadAttentionOptions(options.d_model(), options.nhead())
                                .dropout(options.dropout())
                                .batch_first(options.batch_first()));
}

void check_layer_options(const char* name, const TransformerEncoderLayerOptions& options) {
  BG_CHECK(options.d_model() > 0 && options.nhead() > 0 && options.dim_feedforward() > 0, name,
           "d_model, nhead and dim_feedforward must be positive, got ", options.d_model(), ", ",
           options.nhead(), " and ", options.dim_feedforward());
  BG_CHECK(options.d_model() % options.nhead() == 0, name, "d_model ", options.d_model(),
           " must be divisible by nhead ", options.nhead());
}

// `x` is a sequence [seq, N, d_model] (any layout) or [seq, d_model]; `what` names it.
void check_sequence(const char* name, const char* what, const Tensor& x, int64_t d_model) {
  BG_CHECK(x.defined() && (x.dim() == 2 || x.dim() == 3) && x.size(-1) == d_model, name,
           "expected ", what, " [seq, batch, ", d_model, "] ([batch, seq, ", d_model,
           "] with batch_first, [seq, ", d_model, "] unbatched), got ", describe(x));
}

// A new layer with the options, dtype, device, mode and parameter values of `layer`: PyTorch's
// deepcopy of the layer a stack is given.
template <typename Layer>
std::shared_ptr<Layer> copy_of(const Layer& layer) {
  auto copy = std::make_shared<Layer>(layer.options);
  const Tensor reference = layer.norm1->weight;
  copy->to(reference.dtype());
  copy->to(reference.device());
  copy->load_state_dict(layer.state_dict());
  copy->train(layer.is_training());
  return copy;
}

}  // namespace

// ---- Activation ---------------------------------------------------------------------------------

TransformerActivation::TransformerActivation(const char* name)
    : TransformerActivation(std::string(name)) {}

TransformerActivation::TransformerActivation(const std::string& name) : name_(name) {
  BG_CHECK(name == "relu" || name == "gelu", "Transformer",
           "the activation should be \"relu\" or \"gelu\" (or a function), not \"", name, "\"");
  if (name == "relu") {
    function_ = [](const Tensor& x) { return functional::relu(x); };
  } else {
    function_ = [](const Tensor& x) { return functional::gelu(x); };
  }
}

// ---- Encoder layer ------------------------------------------------------------------------------

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(
    const TransformerEncoderLayerOptions& options_)
    : Module("TransformerEncoderLayer"), options(options_) {
  check_layer_options("TransformerEncoderLayer", options);
  const int64_t E = options.d_model();
  self_attn = register_module("self_attn", attention(options));
  linear1 = register_module("linear1", Linear(E, options.dim_feedforward()));
  dropout = register_module("dropout", Dropout(options.dropout()));
  linear2 = register_module("linear2", Linear(options.dim_feedforward(), E));
  norm1 = register_module("norm1", layer_norm(E, options.layer_norm_eps()));
  norm2 = register_module("norm2", layer_norm(E, options.layer_norm_eps()));
  dropout1 = register_module("dropout1", Dropout(options.dropout()));
  dropout2 = register_module("dropout2", Dropout(options.dropout()));
}

void TransformerEncoderLayerImpl::reset_parameters() {
  self_attn->reset_parameters();
  linear1->reset_parameters();
  linear2->reset_parameters();
  norm1->reset_parameters();
  norm2->reset_parameters();
}

Tensor TransformerEncoderLayerImpl::feed_forward(const Tensor& x) {
  return dropout2(linear2(dropout(options.activation()(linear1(x)))));
}

Tensor TransformerEncoderLayerImpl::forward(const Tensor& src, const Tensor& src_mask,
                                            const Tensor& src_key_padding_mask) {
  check_sequence("TransformerEncoderLayer", "src", src, options.d_model());
  const auto self_attention = [&](const Tensor& x) {
    return dropout1(std::get<0>(self_attn(x, x, x, src_key_padding_mask, false, src_mask)));
  };
  Tensor x = src;
  if (options.norm_first()) {
    x = x + self_attention(norm1(x));
    return x + feed_forward(norm2(x));
  }
  x = norm1(x + self_attention(x));
  return norm2(x + feed_forward(x));
}

// ---- Decoder layer ------------------------------------------------------------------------------

TransformerDecoderLayerImpl::TransformerDecoderLayerImpl(
    const TransformerDecoderLayerOptions& options_)
    : Module("TransformerDecoderLayer"), options(options_) {
  check_layer_options("TransformerDecoderLayer", options);
  const int64_t E = options.d_model();
  self_attn = register_module("self_attn", attention(options));
  multihead_attn = register_module("multihead_attn", attention(options));
  linear1 = register_module("linear1", Linear(E, options.dim_feedforward()));
  dropout = register_module("dropout", Dropout(options.dropout()));
  linear2 = register_module("linear2", Linear(options.dim_feedforward(), E));
  norm1 = register_module("norm1", layer_norm(E, options.layer_norm_eps()));
  norm2 = register_module("norm2", layer_norm(E, options.layer_norm_eps()));
  norm3 = register_module("norm3", layer_norm(E, options.layer_norm_eps()));
  dropout1 = register_module("dropout1", Dropout(options.dropout()));
  dropout2 = register_module("dropout2", Dropout(options.dropout()));
  dropout3 = register_module("dropout3", Dropout(options.dropout()));
}

void TransformerDecoderLayerImpl::reset_parameters() {
  self_attn->reset_parameters();
  multihead_attn->reset_parameters();
  linear1->reset_parameters();
  linear2->reset_parameters();
  norm1->reset_parameters();
  norm2->reset_parameters();
  norm3->reset_parameters();
}

Tensor TransformerDecoderLayerImpl::feed_forward(const Tensor& x) {
  return dropout3(linear2(dropout(options.activation()(linear1(x)))));
}

Tensor TransformerDecoderLayerImpl::forward(const Tensor& tgt, const Tensor& memory,
                                            const Tensor& tgt_mask, const Tensor& memory_mask,
                                            const Tensor& tgt_key_padding_mask,
                                            const Tensor& memory_key_padding_mask) {
  check_sequence("TransformerDecoderLayer", "tgt", tgt, options.d_model());
  check_sequence("TransformerDecoderLayer", "memory", memory, options.d_model());
  const auto self_attention = [&](const Tensor& x) {
    return dropout1(std::get<0>(self_attn(x, x, x, tgt_key_padding_mask, false, tgt_mask)));
  };
  const auto memory_attention = [&](const Tensor& x) {
    return dropout2(std::get<0>(
        multihead_attn(x, memory, memory, memory_key_padding_mask, false, memory_mask)));
  };
  Tensor x = tgt;
  if (options.norm_first()) {
    x = x + self_attention(norm1(x));
    x = x + memory_attention(norm2(x));
    return x + feed_forward(norm3(x));
  }
  x = norm1(x + self_attention(x));
  x = norm2(x + memory_attention(x));
  return norm3(x + feed_forward(x));
}

// ---- Stacks -------------------------------------------------------------------------------------

TransformerEncoderImpl::TransformerEncoderImpl(const TransformerEncoderOptions& options_)
    : Module("TransformerEncoder"), options(options_) {
  BG_CHECK(!options.encoder_layer().is_empty(), "TransformerEncoder",
           "the encoder layer is empty (nullptr)");
  BG_CHECK(options.num_layers() > 0, "TransformerEncoder", "num_layers must be positive, got ",
           options.num_layers());
  layers = register_module("layers", ModuleList());
  for (int64_t i = 0; i < options.num_layers(); ++i) {
    layers->push_back(copy_of(*options.encoder_layer()));
  }
  norm = options.norm();
  if (!norm.is_empty()) register_module("norm", norm.ptr());
}

Tensor TransformerEncoderImpl::forward(const Tensor& src, const Tensor& mask,
                                       const Tensor& src_key_padding_mask) {
  Tensor output = src;
  for (size_t i = 0; i < layers->size(); ++i) {
    output = layers->at<TransformerEncoderLayerImpl>(i).forward(output, mask, src_key_padding_mask);
  }
  return norm.is_empty() ? output : norm.forward(output);
}

TransformerDecoderImpl::TransformerDecoderImpl(const TransformerDecoderOptions& options_)
    : Module("TransformerDecoder"), options(options_) {
  BG_CHECK(!options.decoder_layer().is_empty(), "TransformerDecoder",
           "the decoder layer is empty (nullptr)");
  BG_CHECK(options.num_layers() > 0, "TransformerDecoder", "num_layers must be positive, got ",
           options.num_layers());
  layers = register_module("layers", ModuleList());
  for (int64_t i = 0; i < options.num_layers(); ++i) {
    layers->push_back(copy_of(*options.decoder_layer()));
  }
  norm = options.norm();
  if (!norm.is_empty()) register_module("norm", norm.ptr());
}

Tensor TransformerDecoderImpl::forward(const Tensor& tgt, const Tensor& memory,
                                       const Tensor& tgt_mask, const Tensor& memory_mask,
                                       const Tensor& tgt_key_padding_mask,
                                       const Tensor& memory_key_padding_mask) {
  Tensor output = tgt;
  for (size_t i = 0; i < layers->size(); ++i) {
    output = layers->at<TransformerDecoderLayerImpl>(i).forward(
        output, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
  }
  return norm.is_empty() ? output : norm.forward(output);
}

// ---- Transformer --------------------------------------------------------------------------------

TransformerImpl::TransformerImpl(const TransformerOptions& options_)
    : Module("Transformer"), options(options_) {
  const auto layer_options = TransformerEncoderLayerOptions(options.d_model(), options.nhead())
                                 .dim_feedforward(options.dim_feedforward())
                                 .dropout(options.dropout())
                                 .activation(options.activation())
                                 .layer_norm_eps(options.layer_norm_eps())
                                 .batch_first(options.batch_first())
                                 .norm_first(options.norm_first());
  const auto final_norm = [&] {
    return AnyModule(layer_norm(options.d_model(), options.layer_norm_eps()));
  };
  encoder = !options.custom_encoder().is_empty()
                ? options.custom_encoder()
                : AnyModule(TransformerEncoder(
                      TransformerEncoderOptions(layer_options, options.num_encoder_layers())
                          .norm(final_norm())));
  decoder = !options.custom_decoder().is_empty()
                ? options.custom_decoder()
                : AnyModule(TransformerDecoder(
                      TransformerDecoderOptions(layer_options, options.num_decoder_layers())
                          .norm(final_norm())));
  register_module("encoder", encoder.ptr());
  register_module("decoder", decoder.ptr());
  reset_parameters();
}

void TransformerImpl::reset_parameters() {
  for (Tensor& parameter : parameters()) {
    if (parameter.dim() > 1) init::xavier_uniform_(parameter);
  }
}

Tensor TransformerImpl::forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask,
                                const Tensor& tgt_mask, const Tensor& memory_mask,
                                const Tensor& src_key_padding_mask,
                                const Tensor& tgt_key_padding_mask,
                                const Tensor& memory_key_padding_mask) {
  check_sequence("Transformer", "src", src, options.d_model());
  check_sequence("Transformer", "tgt", tgt, options.d_model());
  BG_CHECK(src.dim() == tgt.dim(), "Transformer",
           "src and tgt must both be batched (3-d) or both unbatched (2-d), got ", describe(src),
           " and ", describe(tgt));
  const int64_t batch_dim = options.batch_first() ? 0 : 1;
  BG_CHECK(src.dim() == 2 || src.size(batch_dim) == tgt.size(batch_dim), "Transformer",
           "the batch sizes of src ", describe(src), " and tgt ", describe(tgt), " differ");
  const Tensor memory = encoder.forward(src, src_mask, src_key_padding_mask);
  return decoder.forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                         memory_key_padding_mask);
}

Tensor TransformerImpl::generate_square_subsequent_mask(int64_t size, TensorOptions options) {
  BG_CHECK(size >= 0, "generate_square_subsequent_mask", "the size must not be negative, got ",
           size);
  return full({size, size}, -std::numeric_limits<double>::infinity(), options).triu(1);
}

}  // namespace bg::nn
