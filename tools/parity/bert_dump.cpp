// attune_bert_dump MODEL INPUTS OUT: the parity scripts' window into attune. Loads MODEL
// ("hf:DIR" or an attune directory, see tasks/classification/hf_bundle.h), runs one float32
// forward pass in eval mode (no dropout) on the tensors of INPUTS (safetensors:
// input_ids, token_type_ids, attention_mask, and labels for heads, hidden_weight and
// optionally pooler_weight for a bare BertModel), backpropagates the loss transformers
// would compute, and writes OUT (safetensors): last_hidden_state, pooler_output, logits,
// loss, and "grad.<name>" for every parameter under transformers' parameter names for the
// model's architecture (a bare base model's without its prefix, as its named_parameters()).
#include "core/error.h"
#include "data/formats/safetensors.h"
#include "tasks/classification/hf_bundle.h"
#include "tasks/classification/hf_families.h"

#include <iostream>

namespace {

using namespace attune;

torch::Tensor input(const formats::SafetensorsFile& file, const std::string& name, const std::string& path,
                    bool required) {
  const auto it = file.tensors.find(name);
  if (it != file.tensors.end()) return it->second;
  if (required) fail(path, "no tensor '" + name + "'");
  return {};
}

torch::Tensor loss_of(const hf::BertBundle& b, const hf::BertForwardOutput& out, const formats::SafetensorsFile& in,
                      const std::string& path) {
  namespace F = torch::nn::functional;
  switch (b.architecture) {
    case models::HfBertArchitecture::kSequenceClassification:
      return F::cross_entropy(out.logits, input(in, "labels", path, true).to(torch::kLong));
    case models::HfBertArchitecture::kMaskedLM:
      // As BertForMaskedLM: mean over the positions whose label is not -100.
      return F::cross_entropy(out.logits.reshape({-1, out.logits.size(-1)}),
                              input(in, "labels", path, true).to(torch::kLong).reshape({-1}),
                              F::CrossEntropyFuncOptions().ignore_index(-100));
    case models::HfBertArchitecture::kBertModel: {
      torch::Tensor loss = (out.last_hidden_state * input(in, "hidden_weight", path, true)).sum();
      const torch::Tensor pooler_weight = input(in, "pooler_weight", path, false);
      if (pooler_weight.defined() && out.pooler_output.defined()) loss = loss + (out.pooler_output * pooler_weight).sum();
      return loss;
    }
  }
  TORCH_CHECK(false, "invalid architecture");
}

// transformers' name of a parameter for the bundle's architecture (attune_bert_dump on a
// RoBERTa gives "grad.roberta.*"). ModernBERT's and DeBERTa's encoders and masked LMs carry
// transformers' names already; their classifiers ("modernbert.*", "deberta.pooler.*") are
// renamed as their PEFT files are.
std::string hf_name(const hf::BertBundle& b, const std::string& name) {
  if (b.family == "bert") return models::hf_saved_name(b.options.model_type(), b.architecture, name);
  if (b.architecture != models::HfBertArchitecture::kSequenceClassification) return name;
  const hf::EncoderFamily* family = hf::family_named(b.family);
  TORCH_CHECK(family != nullptr, "attune_bert_dump: no encoder family '", b.family, "'");
  return family->to_hf_name(name);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: attune_bert_dump MODEL INPUTS.safetensors OUT.safetensors  (MODEL: hf:DIR or an attune dir)\n";
    return 2;
  }
  try {
    hf::BertBundle bundle = hf::load_bert_bundle(argv[1], std::cerr);
    bundle.module->to(torch::kFloat);
    bundle.module->eval();
    const formats::SafetensorsFile in = formats::load_safetensors(argv[2]);
    const torch::Tensor ids = input(in, "input_ids", argv[2], true).to(torch::kLong);
    const torch::Tensor types = input(in, "token_type_ids", argv[2], true).to(torch::kLong);
    const torch::Tensor mask = input(in, "attention_mask", argv[2], true).to(torch::kLong);
    const hf::BertForwardOutput out = hf::bert_bundle_forward(bundle, ids, types, mask);
    const torch::Tensor loss = loss_of(bundle, out, in, argv[2]);
    loss.backward();

    formats::NamedTensors dump = {{"last_hidden_state", out.last_hidden_state.detach()},
                                  {"loss", loss.detach().reshape({1})}};
    if (out.pooler_output.defined()) dump.emplace_back("pooler_output", out.pooler_output.detach());
    if (out.logits.defined()) dump.emplace_back("logits", out.logits.detach());
    for (const auto& p : bundle.module->named_parameters()) {
      if (!p.value().grad().defined()) continue;
      const std::string name = hf_name(bundle, p.key());
      dump.emplace_back("grad." + name, p.value().grad());
    }
    formats::save_safetensors(argv[3], dump);
    return 0;
  } catch (const UserError& e) {
    std::cerr << "attune_bert_dump: error: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "attune_bert_dump: error: " << e.what() << std::endl;
    return 1;
  }
}
