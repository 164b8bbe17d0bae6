#include "core/compat.h"
#include "models/attention/attention.h"
#include "models/common/fusion.h"
#include "models/transformer/activation.h"
#include "models/transformer/encoder_layer.h"
#include "tests/catch.h"
#include "tests/models/reference.h"

using namespace attune::models;
using namespace attune::testing;

using attune::testing::close;
using attune::testing::kDouble;

namespace {

// The layer's equations written out with its own weights, looked up by HF names.
torch::Tensor reference_layer(TransformerEncoderLayerImpl& layer, const torch::Tensor& x, const torch::Tensor& mask,
                              bool pre_ln, const std::function<torch::Tensor(const torch::Tensor&)>& act) {
  auto p = layer.named_parameters();
  const double eps = layer.options().layer_norm_eps();
  auto linear = [&](const std::string& name, const torch::Tensor& in) {
    return torch::matmul(in, p[name + ".weight"].t()) + p[name + ".bias"];
  };
  auto norm = [&](const std::string& name, const torch::Tensor& in) {
    return layer_norm_ref(in, p[name + ".weight"], p[name + ".bias"], eps);
  };
  auto self_attention = [&](const torch::Tensor& in) {
    return naive_multi_head(in, in, p["attention.self.query.weight"], p["attention.self.query.bias"],
                            p["attention.self.key.weight"], p["attention.self.key.bias"],
                            p["attention.self.value.weight"], p["attention.self.value.bias"],
                            layer.options().num_heads(), mask);
  };
  auto ffn = [&](const torch::Tensor& in) { return linear("output.dense", act(linear("intermediate.dense", in))); };
  if (pre_ln) {
    const torch::Tensor h = x + linear("attention.output.dense", self_attention(norm("attention.output.LayerNorm", x)));
    return h + ffn(norm("output.LayerNorm", h));
  }
  const torch::Tensor h = norm("attention.output.LayerNorm", x + linear("attention.output.dense", self_attention(x)));
  return norm("output.LayerNorm", h + ffn(h));
}

// Random LayerNorm affine parameters, so a swapped or skipped norm shows up.
TransformerEncoderLayer make_layer(bool pre_ln, const std::string& activation) {
  TransformerEncoderLayer layer(TransformerEncoderLayerOptions(8, 2, 16).pre_layer_norm(pre_ln).activation(activation));
  layer->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  for (auto& p : layer->named_parameters()) {
    if (p.key().find("LayerNorm") != std::string::npos) p.value().copy_(torch::randn_like(p.value()) * 0.5 + 0.5);
  }
  layer->eval();
  return layer;
}

}  // namespace

TEST_CASE("encoder layer parameters carry Hugging Face BertLayer names", "[encoder_layer]") {
  TransformerEncoderLayer layer(TransformerEncoderLayerOptions(8, 2, 16));
  std::vector<std::string> names;
  for (const auto& p : layer->named_parameters()) names.push_back(p.key());
  CHECK(names == std::vector<std::string>{
                     "attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight",
                     "attention.self.key.bias", "attention.self.value.weight", "attention.self.value.bias",
                     "attention.output.dense.weight", "attention.output.dense.bias",
                     "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
                     "intermediate.dense.weight", "intermediate.dense.bias", "output.dense.weight",
                     "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias"});
  CHECK(layer->named_parameters()["intermediate.dense.weight"].sizes() == torch::IntArrayRef({16, 8}));
  CHECK(layer->named_parameters()["output.dense.weight"].sizes() == torch::IntArrayRef({8, 16}));
}

TEST_CASE("encoder layer matches the written-out post-LN and pre-LN equations", "[encoder_layer]") {
  torch::manual_seed(11);
  const torch::Tensor x = torch::randn({2, 5, 8}, kDouble);
  const torch::Tensor mask = padding_mask(torch::tensor({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, torch::kLong).view({2, 5}));
  for (const bool pre_ln : {false, true}) {
    INFO("pre_layer_norm = " << pre_ln);
    TransformerEncoderLayer layer = make_layer(pre_ln, "gelu");
    CHECK(close(layer->forward(x, mask), reference_layer(*layer, x, mask, pre_ln, gelu_erf_ref)));
    CHECK(close(layer->forward(x), reference_layer(*layer, x, {}, pre_ln, gelu_erf_ref)));
  }
  TransformerEncoderLayer tanh_layer = make_layer(false, "gelu_new");
  CHECK(close(tanh_layer->forward(x, mask), reference_layer(*tanh_layer, x, mask, false, gelu_tanh_ref)));
  TransformerEncoderLayer relu_layer = make_layer(true, "relu");
  CHECK(close(relu_layer->forward(x, mask),
              reference_layer(*relu_layer, x, mask, true, [](const torch::Tensor& t) { return t.clamp_min(0); })));
}

TEST_CASE("encoder layer returns attention weights and applies dropout only in training", "[encoder_layer]") {
  torch::manual_seed(12);
  TransformerEncoderLayer layer(TransformerEncoderLayerOptions(8, 2, 16).hidden_dropout(0.3).attention_dropout(0.3));
  const torch::Tensor x = torch::randn({2, 4, 8});
  layer->eval();
  const torch::Tensor a = layer->forward(x);
  CHECK(layer->forward(x).equal(a));
  // Requesting weights takes the math path, which may differ from the fused one by rounding.
  torch::Tensor weights;
  CHECK(torch::allclose(layer->forward(x, {}, &weights), a, 1e-5, 1e-5));
  CHECK(weights.sizes() == torch::IntArrayRef({2, 2, 4, 4}));
  layer->train();
  CHECK_FALSE(torch::allclose(layer->forward(x), a, 1e-4, 1e-4));
}

TEST_CASE("activations follow Hugging Face's names", "[encoder_layer]") {
  const torch::Tensor x = torch::linspace(-4, 4, 33, kDouble);
  CHECK(close(apply_activation(parse_activation("gelu", "a"), x), gelu_erf_ref(x)));
  CHECK(close(apply_activation(parse_activation("gelu_new", "a"), x), gelu_tanh_ref(x)));
  CHECK(close(apply_activation(parse_activation("gelu_pytorch_tanh", "a"), x), gelu_tanh_ref(x)));
  CHECK(close(apply_activation(parse_activation("relu", "a"), x), x.clamp_min(0)));
  CHECK_FALSE(close(gelu_erf_ref(x), gelu_tanh_ref(x), 1e-6));  // the two GELUs do differ
  CHECK(user_error_message([] { parse_activation("mish", "model.activation"); }) ==
        "model.activation: unknown activation 'mish' (known: gelu, gelu_new, gelu_pytorch_tanh, relu, swish, silu, tanh)");
  CHECK(user_error_message([] { TransformerEncoderLayer(TransformerEncoderLayerOptions(8, 2, 16).activation("elu")); })
            .find("unknown activation 'elu'") != std::string::npos);
}

TEST_CASE("under CUDA bf16 autocast the residual stream stays bf16 and follows the float32 layer", "[encoder_layer][cuda]") {
  if (!torch::cuda::is_available()) {
    SUCCEED("no CUDA device");
    return;
  }
  torch::manual_seed(12);
  for (bool pre_ln : {false, true}) {
    INFO("pre_ln " << pre_ln);
    TransformerEncoderLayer layer(TransformerEncoderLayerOptions(64, 4, 128).pre_layer_norm(pre_ln));
    layer->to(torch::kCUDA);
    layer->eval();
    const torch::Tensor x = torch::randn({2, 16, 64}, torch::kCUDA);
    const torch::Tensor probe = torch::randn({2, 16, 64}, torch::kCUDA);
    auto grads = [&](const torch::Tensor& out) {
      layer->zero_grad();
      (out.to(torch::kFloat) * probe).sum().backward();
      std::vector<torch::Tensor> g;
      for (const auto& p : layer->named_parameters()) {
        // The key bias shifts every score of a query row by the same amount, which softmax
        // ignores: its true gradient is zero, and both sides hold rounding noise only.
        if (p.key().find("self.key.bias") == std::string::npos) g.push_back(p.value().grad().clone());
      }
      return g;
    };
    const torch::Tensor reference = layer->forward(x, {});
    const auto reference_grads = grads(reference);
    const bool previous = fusions().bf16_stream;
    for (bool stream : {true, false}) {
      INFO("bf16_stream " << stream);
      fusions().bf16_stream = stream;
      torch::Tensor out;
      {
        attune::compat::AutocastGuard autocast(torch::kCUDA, true);
        out = layer->forward(stream ? x.to(torch::kBFloat16) : x, {});
      }
      fusions().bf16_stream = previous;
      // Post-LN ends in a LayerNorm: bf16 with the stream, float32 (autocast's) without.
      if (!pre_ln) CHECK(out.scalar_type() == (stream ? torch::kBFloat16 : torch::kFloat));
      if (stream) CHECK(out.scalar_type() == torch::kBFloat16);
      CHECK(torch::allclose(out.to(torch::kFloat), reference, 5e-2, 5e-2));
      const auto g = grads(out);
      for (size_t i = 0; i < g.size(); ++i) {
        const double scale = reference_grads[i].abs().max().item<double>() + 1e-6;
        CHECK((g[i] - reference_grads[i]).abs().max().item<double>() / scale < 5e-2);
      }
    }
  }
}
