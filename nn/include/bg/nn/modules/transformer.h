#pragma once
// The Transformer (Vaswani et al., 2017) as PyTorch 1.13 builds it: TransformerEncoderLayer,
// TransformerDecoderLayer, their stacks TransformerEncoder and TransformerDecoder, and Transformer,
// with PyTorch's options, shapes, masks and parameter names, and LibTorch's spellings.
//
//   nn::TransformerEncoderLayer layer(nn::TransformerEncoderLayerOptions(128, 4)
//                                         .dim_feedforward(512).dropout(0.1));
//   nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(layer, 2));
//   Tensor out = encoder(src);                          // src [S, N, 128]
//   Tensor causal = nn::TransformerImpl::generate_square_subsequent_mask(S);
//   encoder(src, causal, padding);                      // masks as MultiheadAttention takes them
//   nn::Transformer model(nn::TransformerOptions(64, 4).num_encoder_layers(2).batch_first(true));
//   model(src, tgt, Tensor(), causal_tgt);              // [N, T, 64]
//
// Shapes (S = source length, T = target length, N = batch, E = d_model): src [S, N, E], tgt
// [T, N, E] ([N, S, E], [N, T, E] with batch_first; [S, E], [T, E] unbatched); output like tgt.
// src_mask [S, S] or [N * nhead, S, S], tgt_mask [T, T] or [N * nhead, T, T], memory_mask [T, S];
// *_key_padding_mask [N, S] or [N, T] ([S], [T] unbatched). Masks are bool (true: blocked) or
// float (added to the scores), as MultiheadAttention (attention.h) takes them.
//
// Parameter names are PyTorch's, so safetensors files move between the two unchanged:
// self_attn.in_proj_weight, self_attn.out_proj.weight, multihead_attn.* (decoder), linear1.weight,
// linear2.bias, norm1.weight, ... in a layer; layers.0.* and norm.* in a stack; encoder.layers.0.*,
// encoder.norm.weight, decoder.* in a Transformer. As in PyTorch, the layers of a stack start as
// copies of the layer it was given, and Transformer draws every matrix again from xavier_uniform.

#include <functional>
#include <string>
#include <type_traits>

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/modules/attention.h"
#include "bg/nn/modules/container.h"
#include "bg/nn/modules/dropout.h"
#include "bg/nn/modules/linear.h"
#include "bg/nn/modules/normalization.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

/// The activation of a Transformer layer's feed-forward block, as PyTorch's `activation`
/// argument: "relu" (the default), "gelu", or any function of a tensor.
class TransformerActivation {
 public:
  TransformerActivation(const char* name);         // NOLINT: `.activation("gelu")` reads well
  TransformerActivation(const std::string& name);  // NOLINT
  /// A function of a tensor: `.activation([](const Tensor& x) { return x.tanh(); })`.
  template <typename Function>
  requires(std::is_invocable_r_v<Tensor, const Function&, const Tensor&> &&
           !std::is_convertible_v<Function, std::string>)
      TransformerActivation(Function function)  // NOLINT
      : name_("custom"), function_(std::move(function)) {}
  Tensor operator()(const Tensor& x) const { return function_(x); }
  /// "relu", "gelu", or "custom" for a function.
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::function<Tensor(const Tensor&)> function_;
};

struct TransformerEncoderLayerOptions {
  TransformerEncoderLayerOptions(int64_t d_model, int64_t nhead)
      : d_model_(d_model), nhead_(nhead) {}
  /// E, the features of each position.
  BG_ARG(int64_t, d_model);
  /// The heads of the attention.
  BG_ARG(int64_t, nhead);
  /// The hidden features of the feed-forward block.
  BG_ARG(int64_t, dim_feedforward) = 2048;
  /// The dropout of the attention weights, of each block's output and inside the feed-forward
  /// block (training only).
  BG_ARG(double, dropout) = 0.1;
  /// The feed-forward block's activation.
  BG_ARG(TransformerActivation, activation) = "relu";
  /// The eps of the layer norms.
  BG_ARG(double, layer_norm_eps) = 1e-5;
  /// Inputs and output are [batch, seq, feature] instead of [seq, batch, feature].
  BG_ARG(bool, batch_first) = false;
  /// Normalize before each block (pre-norm: x + block(norm(x))) instead of after (post-norm:
  /// norm(x + block(x))).
  BG_ARG(bool, norm_first) = false;
};
/// The decoder layer has the encoder layer's options.
using TransformerDecoderLayerOptions = TransformerEncoderLayerOptions;

/// Self-attention and a feed-forward block, each with a residual connection and a layer norm:
///   x = norm1(x + dropout1(self_attn(x, x, x)))
///   x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))
/// (with norm_first: x = x + dropout1(self_attn(norm1(x), ...)), x = x + ff(norm2(x))).
class TransformerEncoderLayerImpl : public Module {
 public:
  TransformerEncoderLayerImpl(int64_t d_model, int64_t nhead)
      : TransformerEncoderLayerImpl(TransformerEncoderLayerOptions(d_model, nhead)) {}
  explicit TransformerEncoderLayerImpl(const TransformerEncoderLayerOptions& options);

  /// Draws every parameter again from its layer's initial distribution.
  void reset_parameters();
  /// The layer applied to src; src_mask and src_key_padding_mask are the self-attention's
  /// attn_mask and key_padding_mask.
  Tensor forward(const Tensor& src, const Tensor& src_mask = {},
                 const Tensor& src_key_padding_mask = {});
  BG_FORWARD_DEFAULT_ARGS(Tensor(), Tensor())

  TransformerEncoderLayerOptions options;
  MultiheadAttention self_attn = nullptr;
  Linear linear1 = nullptr;
  Dropout dropout = nullptr;
  Linear linear2 = nullptr;
  LayerNorm norm1 = nullptr, norm2 = nullptr;
  Dropout dropout1 = nullptr, dropout2 = nullptr;

 private:
  Tensor feed_forward(const Tensor& x);
};
BG_MODULE(TransformerEncoderLayer);

/// Self-attention, attention over the encoder's output (memory) and a feed-forward block, each
/// with a residual connection and a layer norm (norm1, norm2, norm3; before the block with
/// norm_first).
class TransformerDecoderLayerImpl : public Module {
 public:
  TransformerDecoderLayerImpl(int64_t d_model, int64_t nhead)
      : TransformerDecoderLayerImpl(TransformerDecoderLayerOptions(d_model, nhead)) {}
  explicit TransformerDecoderLayerImpl(const TransformerDecoderLayerOptions& options);

  /// Draws every parameter again from its layer's initial distribution.
  void reset_parameters();
  /// The layer applied to tgt, attending over memory. tgt_mask and tgt_key_padding_mask go to
  /// the self-attention, memory_mask and memory_key_padding_mask to the attention over memory.
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {},
                 const Tensor& memory_mask = {}, const Tensor& tgt_key_padding_mask = {},
                 const Tensor& memory_key_padding_mask = {});
  BG_FORWARD_DEFAULT_ARGS(Tensor(), Tensor(), Tensor(), Tensor())

  TransformerDecoderLayerOptions options;
  MultiheadAttention self_attn = nullptr, multihead_attn = nullptr;
  Linear linear1 = nullptr;
  Dropout dropout = nullptr;
  Linear linear2 = nullptr;
  LayerNorm norm1 = nullptr, norm2 = nullptr, norm3 = nullptr;
  Dropout dropout1 = nullptr, dropout2 = nullptr, dropout3 = nullptr;

 private:
  Tensor feed_forward(const Tensor& x);
};
BG_MODULE(TransformerDecoderLayer);

struct TransformerEncoderOptions {
  /// num_layers copies of encoder_layer (its options and current parameters).
  TransformerEncoderOptions(TransformerEncoderLayer encoder_layer, int64_t num_layers)
      : encoder_layer_(std::move(encoder_layer)), num_layers_(num_layers) {}
  /// num_layers copies of one layer made from encoder_layer_options.
  TransformerEncoderOptions(const TransformerEncoderLayerOptions& encoder_layer_options,
                            int64_t num_layers)
      : TransformerEncoderOptions(TransformerEncoderLayer(encoder_layer_options), num_layers) {}
  BG_ARG(TransformerEncoderLayer, encoder_layer) = nullptr;
  BG_ARG(int64_t, num_layers);
  /// Applied to the last layer's output when given (a LayerNorm, in Transformer).
  BG_ARG(AnyModule, norm);
};

/// A stack of encoder layers (children layers.0, layers.1, ...) and an optional final norm.
class TransformerEncoderImpl : public Module {
 public:
  explicit TransformerEncoderImpl(const TransformerEncoderOptions& options);
  /// The layers applied in turn, each with the same masks, then the norm.
  Tensor forward(const Tensor& src, const Tensor& mask = {},
                 const Tensor& src_key_padding_mask = {});
  BG_FORWARD_DEFAULT_ARGS(Tensor(), Tensor())

  TransformerEncoderOptions options;
  ModuleList layers = nullptr;
  AnyModule norm;  ///< empty without a norm
};
BG_MODULE(TransformerEncoder);

struct TransformerDecoderOptions {
  /// num_layers copies of decoder_layer (its options and current parameters).
  TransformerDecoderOptions(TransformerDecoderLayer decoder_layer, int64_t num_layers)
      : decoder_layer_(std::move(decoder_layer)), num_layers_(num_layers) {}
  /// num_layers copies of one layer made from decoder_layer_options.
  TransformerDecoderOptions(const TransformerDecoderLayerOptions& decoder_layer_options,
                            int64_t num_layers)
      : TransformerDecoderOptions(TransformerDecoderLayer(decoder_layer_options), num_layers) {}
  BG_ARG(TransformerDecoderLayer, decoder_layer) = nullptr;
  BG_ARG(int64_t, num_layers);
  /// Applied to the last layer's output when given (a LayerNorm, in Transformer).
  BG_ARG(AnyModule, norm);
};

/// A stack of decoder layers (children layers.0, layers.1, ...) and an optional final norm.
class TransformerDecoderImpl : public Module {
 public:
  explicit TransformerDecoderImpl(const TransformerDecoderOptions& options);
  /// The layers applied in turn to tgt, each attending over memory with the same masks, then the
  /// norm.
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {},
                 const Tensor& memory_mask = {}, const Tensor& tgt_key_padding_mask = {},
                 const Tensor& memory_key_padding_mask = {});
  BG_FORWARD_DEFAULT_ARGS(Tensor(), Tensor(), Tensor(), Tensor())

  TransformerDecoderOptions options;
  ModuleList layers = nullptr;
  AnyModule norm;  ///< empty without a norm
};
BG_MODULE(TransformerDecoder);

struct TransformerOptions {
  TransformerOptions(int64_t d_model = 512, int64_t nhead = 8)  // NOLINT
      : d_model_(d_model), nhead_(nhead) {}
  TransformerOptions(int64_t d_model, int64_t nhead, int64_t num_encoder_layers,
                     int64_t num_decoder_layers)
      : d_model_(d_model),
        nhead_(nhead),
        num_encoder_layers_(num_encoder_layers),
        num_decoder_layers_(num_decoder_layers) {}
  BG_ARG(int64_t, d_model);
  BG_ARG(int64_t, nhead);
  BG_ARG(int64_t, num_encoder_layers) = 6;
  BG_ARG(int64_t, num_decoder_layers) = 6;
  BG_ARG(int64_t, dim_feedforward) = 2048;
  BG_ARG(double, dropout) = 0.1;
  BG_ARG(TransformerActivation, activation) = "relu";
  /// Used instead of the stack of encoder layers when given: called as encoder(src, src_mask,
  /// src_key_padding_mask).
  BG_ARG(AnyModule, custom_encoder);
  /// Used instead of the stack of decoder layers when given: called as decoder(tgt, memory,
  /// tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask).
  BG_ARG(AnyModule, custom_decoder);
  BG_ARG(double, layer_norm_eps) = 1e-5;
  BG_ARG(bool, batch_first) = false;
  BG_ARG(bool, norm_first) = false;
};

/// An encoder (num_encoder_layers layers and a LayerNorm) and a decoder (num_decoder_layers
/// layers and a LayerNorm): the output is decoder(tgt, encoder(src)).
class TransformerImpl : public Module {
 public:
  explicit TransformerImpl(const TransformerOptions& options = {});

  /// Draws every parameter of more than one dim from xavier_uniform (PyTorch's
  /// Transformer._reset_parameters); the others keep their values.
  void reset_parameters();
  /// decoder(tgt, encoder(src, src_mask, src_key_padding_mask), tgt_mask, memory_mask,
  /// tgt_key_padding_mask, memory_key_padding_mask).
  Tensor forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask = {},
                 const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& src_key_padding_mask = {}, const Tensor& tgt_key_padding_mask = {},
                 const Tensor& memory_key_padding_mask = {});
  BG_FORWARD_DEFAULT_ARGS(Tensor(), Tensor(), Tensor(), Tensor(), Tensor(), Tensor())

  /// The causal mask [size, size] of a sequence: 0 where j <= i, -inf above the diagonal, so
  /// position i attends only to positions up to itself.
  static Tensor generate_square_subsequent_mask(int64_t size, TensorOptions options = {});

  TransformerOptions options;
  AnyModule encoder;  ///< a TransformerEncoder, or the custom encoder
  AnyModule decoder;  ///< a TransformerDecoder, or the custom decoder
};
BG_MODULE(Transformer);

}  // namespace bg::nn

BG_API_END
