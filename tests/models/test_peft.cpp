#include "models/bert/bert.h"
#include "models/peft/adalora/allocator.h"
#include "models/peft/config.h"
#include "models/peft/default_targets.h"
#include "models/peft/lora/layer.h"
#include "models/peft/peft_model.h"
#include "tests/catch.h"
#include "tests/common/synthetic.h"
#include "tests/models/reference.h"

#include <filesystem>

namespace attune::peft_test {

using attune::testing::close;
using attune::testing::user_error_message;
using models::BertModel;
using models::BertOptions;
using nlohmann::json;

BertModel base_model(uint64_t seed = 7) {
  torch::manual_seed(seed);
  BertModel m(BertOptions()
                  .vocab_size(60)
                  .hidden_size(16)
                  .num_hidden_layers(2)
                  .num_attention_heads(4)
                  .intermediate_size(32)
                  .max_position_embeddings(32)
                  .hidden_dropout_prob(0.0)
                  .attention_probs_dropout_prob(0.0));
  // BERT starts with zero biases; a trained base does not, and merging must scale them.
  torch::NoGradGuard no_grad;
  for (auto& p : m->named_parameters()) {
    if (p.key().find("bias") != std::string::npos) p.value().normal_(0.0, 0.1);
  }
  m->eval();
  return m;
}

struct Batch {
  torch::Tensor ids, mask;
};

Batch batch() {
  torch::manual_seed(3);
  Batch b{torch::randint(5, 60, {3, 9}), torch::ones({3, 9}, torch::kLong)};
  b.mask.index_put_({1, torch::indexing::Slice(6)}, 0);
  b.mask.index_put_({2, torch::indexing::Slice(3)}, 0);
  return b;
}

// Hidden states and pooled output, so both the encoder and modules_to_save count.
torch::Tensor run(BertModel& m, const Batch& b) {
  torch::NoGradGuard no_grad;
  const auto out = m->forward(b.ids, {}, b.mask);
  return torch::cat({out.last_hidden_state.flatten(), out.pooler_output.flatten()});
}

json section(const std::string& method, json extra = json::object()) {
  extra["method"] = method;
  return peft::resolve(extra);
}

// Moves every adapter tensor away from its initial value, as training would.
void perturb(BertModel& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters()) {
    if (p.requires_grad()) p.add_(torch::randn_like(p) * 0.1);
  }
}

bool has_base_name_only(const BertModel& m, const BertModel& reference) {
  std::vector<std::string> a, b;
  for (const auto& p : m->named_parameters()) a.push_back(p.key());
  for (const auto& p : reference->named_parameters()) b.push_back(p.key());
  return a == b;
}

const std::vector<std::string> kMethods = {"lora", "adalora", "ia3", "bottleneck", "bitfit", "prefix_tuning"};

}  // namespace attune::peft_test

using namespace attune::peft_test;
using attune::peft::PeftModel;

TEST_CASE("at initialisation LoRA, AdaLoRA, IA3, bottleneck adapters and BitFit leave the base outputs", "[peft]") {
  const Batch b = batch();
  BertModel reference = base_model();
  const torch::Tensor expected = run(reference, b);
  for (const std::string method : {"lora", "adalora", "ia3", "bottleneck", "bitfit"}) {
    CAPTURE(method);
    BertModel m = base_model();
    PeftModel peft(m.ptr());
    peft.add_adapter("default", section(method));
    CHECK(close(run(m, b), expected, 1e-6));
  }
  BertModel m = base_model();
  PeftModel peft(m.ptr());
  peft.add_adapter("default", section("prefix_tuning", {{"init_weights", "zero"}, {"num_virtual_tokens", 3}}));
  // A zero prefix is a visible key with zero value: it changes attention (as in PEFT), but
  // not the output shape.
  CHECK(run(m, b).sizes() == expected.sizes());
}

TEST_CASE("only adapter tensors and modules_to_save train; the base gets no gradient", "[peft]") {
  const Batch b = batch();
  for (const auto& method : kMethods) {
    CAPTURE(method);
    BertModel m = base_model();
    PeftModel peft(m.ptr());
    peft.add_adapter("default", section(method, {{"modules_to_save", {"pooler"}}}));
    m->train();
    const auto out = m->forward(b.ids, {}, b.mask);
    (out.last_hidden_state.pow(2).mean() + out.pooler_output.sum()).backward();
    int64_t trained = 0;
    for (const auto& p : m->named_parameters()) {
      const std::string& n = p.key();
      const bool adapter = n.find(".default.") != std::string::npos || n.rfind("prompt_encoder.", 0) == 0;
      const bool kept = n.rfind("pooler.", 0) == 0;
      const bool bias = method == "bitfit" && n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0;
      CAPTURE(n);
      CHECK(p.value().requires_grad() == (adapter || kept || bias));
      if (!p.value().requires_grad()) CHECK_FALSE(p.value().grad().defined());
      if (p.value().grad().defined()) ++trained;
    }
    CHECK(trained > 0);
    const auto count = peft.count();
    CHECK(count.trainable > 0);
    CHECK(count.trainable < count.total / 2);
  }
}

TEST_CASE("LoRA trainable parameters and rsLoRA scaling follow PEFT", "[peft]") {
  BertModel m = base_model();
  PeftModel peft(m.ptr());
  peft.add_adapter("default", section("lora", {{"r", 4}, {"target_modules", {"query", "value"}}}));
  // 2 layers x 2 targets x (A: 4x16 + B: 16x4)
  CHECK(peft.count().trainable == 2 * 2 * (4 * 16 + 16 * 4));
  CHECK(peft.count().describe().find("trainable params: 512 || all params: ") == 0);
  attune::peft::LoraAdapter plain(16, 16, attune::peft::LoraOptions(4, 8));
  attune::peft::LoraAdapter rs(16, 16, attune::peft::LoraOptions(4, 8).use_rslora(true));
  CHECK(plain->scaling() == Approx(2.0));
  CHECK(rs->scaling() == Approx(4.0));
}

TEST_CASE("merging equals the unmerged adapter, and unloading leaves a plain model", "[peft]") {
  const Batch b = batch();
  for (const std::string method : {"lora", "adalora", "ia3"}) {
    CAPTURE(method);
    BertModel m = base_model();
    PeftModel peft(m.ptr());
    peft.add_adapter("default", section(method, {{"modules_to_save", {"pooler"}}}));
    perturb(m);
    const torch::Tensor adapted = run(m, b);
    CHECK_FALSE(close(adapted, run(*std::make_unique<BertModel>(base_model()), b), 1e-4));
    peft.merge_and_unload();
    CHECK(close(run(m, b), adapted, 1e-5));
    CHECK(has_base_name_only(m, base_model()));
  }
  for (const std::string method : {"bottleneck", "prefix_tuning"}) {
    BertModel m = base_model();
    PeftModel peft(m.ptr());
    peft.add_adapter("default", section(method));
    CHECK(user_error_message([&] { peft.merge_and_unload(); }).find("cannot be merged") != std::string::npos);
  }
  // Unloaded, the model trains as it did before the adapter: what it kept frozen stays frozen.
  BertModel m = base_model();
  m->embeddings->word_embeddings->weight.set_requires_grad(false);
  PeftModel peft(m.ptr());
  peft.add_adapter("default", section("lora"));
  peft.merge_and_unload();
  for (const auto& p : m->named_parameters()) {
    CAPTURE(p.key());
    CHECK(p.value().requires_grad() == (p.key() != "embeddings.word_embeddings.weight"));
  }
}

TEST_CASE("adapter files round-trip exactly and use PEFT's key names", "[peft]") {
  const Batch b = batch();
  const std::string dir = attune::testing::temp_dir("peft-roundtrip");
  for (const auto& method : kMethods) {
    CAPTURE(method);
    BertModel m = base_model();
    PeftModel peft(m.ptr());
    json extra = {{"modules_to_save", {"pooler"}}};
    if (method == "prefix_tuning") extra["prefix_projection"] = true;
    peft.add_adapter("default", section(method, extra));
    perturb(m);
    if (method == "adalora") {
      // Prune to a pattern first, so the file holds only the kept ranks.
      for (auto& p : m->parameters()) {
        if (p.requires_grad()) p.mutable_grad() = torch::randn_like(p);
      }
      peft.after_optimizer_step(1, 1);
    }
    const torch::Tensor expected = run(m, b);
    peft.save_adapter(dir, "default", "FEATURE_EXTRACTION");
    const auto file = attune::formats::load_safetensors(dir + "/adapter_model.safetensors");
    // PEFT's prompt-learning methods keep modules_to_save one level up (no tuner wrapper).
    const std::string prefix = method == "prefix_tuning" ? "base_model." : "base_model.model.";
    for (const auto& name : file.names) {
      CAPTURE(name);
      CHECK((name.rfind(prefix, 0) == 0 || name == "prompt_embeddings"));
    }
    if (method == "prefix_tuning") CHECK(file.tensors.count("base_model.pooler.dense.weight"));
    if (method == "lora") {
      CHECK(file.tensors.count("base_model.model.encoder.layer.1.attention.self.value.lora_B.weight"));
      CHECK(file.tensors.count("base_model.model.pooler.dense.weight"));
    }
    if (method == "ia3") CHECK(file.tensors.at("base_model.model.encoder.layer.0.output.dense.ia3_l").sizes() == torch::IntArrayRef({1, 32}));
    if (method == "adalora") {
      const auto& e = file.tensors.at("base_model.model.encoder.layer.0.attention.self.query.lora_E");
      CHECK(e.size(0) <= 12);
      CHECK(e.size(1) == 1);
    }
    if (method == "prefix_tuning") CHECK(file.tensors.at("prompt_embeddings").sizes() == torch::IntArrayRef({20, 2 * 2 * 16}));

    BertModel fresh = base_model();
    PeftModel loaded(fresh.ptr());
    loaded.load_adapter(dir, "default");
    CHECK(close(run(fresh, b), expected, 1e-6));
  }
}

TEST_CASE("set_file_names renames module paths in adapter files, both ways", "[peft]") {
  const Batch b = batch();
  const std::string dir = attune::testing::temp_dir("peft-file-names");
  const auto renamed = [](const std::string& path) { return "renamed." + path; };
  BertModel m = base_model();
  PeftModel peft(m.ptr());
  peft.add_adapter("default", section("lora", {{"modules_to_save", {"pooler"}}, {"bias", "lora_only"}}));
  peft.set_file_names(renamed);  // after the adapter: it applies to those already there
  perturb(m);
  const torch::Tensor expected = run(m, b);
  peft.save_adapter(dir, "default", "FEATURE_EXTRACTION");
  const auto file = attune::formats::load_safetensors(dir + "/adapter_model.safetensors");
  for (const auto& name : file.names) {
    CAPTURE(name);
    CHECK(name.rfind("base_model.model.renamed.", 0) == 0);
  }
  CHECK(file.tensors.count("base_model.model.renamed.encoder.layer.1.attention.self.value.lora_B.weight"));
  CHECK(file.tensors.count("base_model.model.renamed.encoder.layer.0.attention.self.query.base_layer.bias"));
  CHECK(file.tensors.count("base_model.model.renamed.pooler.dense.weight"));

  BertModel fresh = base_model();
  PeftModel loaded(fresh.ptr());
  loaded.set_file_names(renamed);
  loaded.load_adapter(dir, "default");
  CHECK(close(run(fresh, b), expected, 1e-6));
  BertModel other = base_model();
  PeftModel unnamed(other.ptr());
  CHECK(user_error_message([&] { unnamed.load_adapter(dir, "default"); }).find("' missing from the file") !=
        std::string::npos);
}

TEST_CASE("several adapters on one base switch by name", "[peft]") {
  const Batch b = batch();
  BertModel m = base_model();
  const torch::Tensor base = run(m, b);
  PeftModel peft(m.ptr());
  peft.add_adapter("one", section("lora", {{"modules_to_save", {"pooler"}}}));
  perturb(m);
  const torch::Tensor one = run(m, b);
  peft.add_adapter("two", section("ia3", {{"modules_to_save", {"pooler"}}}));
  CHECK(close(run(m, b), base, 1e-6));  // a new IA3 adapter starts at the base, pooler included
  perturb(m);
  const torch::Tensor two = run(m, b);
  peft.set_active("one");
  CHECK(close(run(m, b), one, 1e-6));
  peft.set_active("");
  CHECK(close(run(m, b), base, 1e-6));
  peft.set_active("two");
  CHECK(close(run(m, b), two, 1e-6));
  CHECK(peft.adapter_names() == std::vector<std::string>{"one", "two"});
}

TEST_CASE("prefix tuning gives padded batches the per-example results", "[peft]") {
  BertModel m = base_model();
  PeftModel peft(m.ptr());
  peft.add_adapter("default", section("prefix_tuning", {{"num_virtual_tokens", 4}}));
  const Batch b = batch();
  const auto padded = [&] {
    torch::NoGradGuard no_grad;
    return m->forward(b.ids, {}, b.mask).last_hidden_state;
  }();
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t len = b.mask[i].sum().item<int64_t>();
    torch::NoGradGuard no_grad;
    const auto alone = m->forward(b.ids[i].slice(0, 0, len).unsqueeze(0)).last_hidden_state;
    CHECK(close(padded[i].slice(0, 0, len), alone[0], 1e-5));
  }
}

TEST_CASE("a prefix counts as past tokens: the real tokens' positions start after it, as in transformers",
          "[peft]") {
  BertModel m = base_model();
  const Batch b = batch();
  const torch::Tensor types = torch::zeros_like(b.ids);
  const torch::Tensor plain = m->embeddings->forward(b.ids, types);
  PeftModel peft(m.ptr());
  peft.add_adapter("default", section("prefix_tuning", {{"num_virtual_tokens", 5}}));
  CHECK(m->embeddings->past_length() == 5);
  {
    // Shifting the position table by 5 rows gives the same embeddings as the shifted positions.
    torch::NoGradGuard no_grad;
    const torch::Tensor table = m->embeddings->position_embeddings->weight.clone();
    m->embeddings->position_embeddings->weight.slice(0, 0, 27).copy_(table.slice(0, 5, 32));
    m->embeddings->set_past_length(0);
    const torch::Tensor moved = m->embeddings->forward(b.ids, types);
    m->embeddings->position_embeddings->weight.copy_(table);
    m->embeddings->set_past_length(5);
    CHECK(close(m->embeddings->forward(b.ids, types), moved, 1e-6));
    CHECK_FALSE(close(plain, moved, 1e-3));
  }
  // 5 + 28 positions do not fit 32 position embeddings.
  const std::string error = [&] {
    try {
      m->forward(torch::randint(5, 60, {1, 28}));
    } catch (const c10::Error& e) {
      return std::string(e.what_without_backtrace());
    }
    return std::string();
  }();
  CHECK(error.find("sequence length 28 after a prefix of 5 exceeds max_position_embeddings 32") != std::string::npos);
  peft.set_active("");
  CHECK(m->embeddings->past_length() == 0);
  CHECK(close(m->embeddings->forward(b.ids, types), plain, 1e-6));
  peft.set_active("default");
  CHECK(m->embeddings->past_length() == 5);
  CHECK(user_error_message([&] { peft.merge_and_unload(); }).find("cannot be merged") != std::string::npos);
  CHECK(m->embeddings->past_length() == 5);
}

TEST_CASE("AdaLoRA prunes to its rank budget on the paper's cubic schedule", "[peft]") {
  BertModel m = base_model();
  PeftModel peft(m.ptr());
  peft.add_adapter("default", section("adalora", {{"init_r", 6}, {"target_r", 2}, {"tinit", 2}, {"tfinal", 3}}));
  const auto* allocator = peft.allocator("default");
  const int64_t total = 20, modules = 4;  // query and value of 2 layers
  CHECK(allocator->initial_budget() == 6 * modules);
  CHECK(allocator->budget(2, total) == 6 * modules);
  CHECK(allocator->budget(17, total) == 2 * modules);
  CHECK(allocator->budget(9, total) < 6 * modules);
  CHECK(allocator->budget(9, total) > 2 * modules);
  const Batch b = batch();
  torch::optim::SGD sgd(m->parameters(), torch::optim::SGDOptions(0.01));
  m->train();
  torch::manual_seed(1);
  int64_t previous = allocator->total_rank();
  for (int64_t step = 1; step <= total; ++step) {
    sgd.zero_grad();
    torch::Tensor loss = m->forward(b.ids, {}, b.mask).last_hidden_state.pow(2).mean() + peft.regularizer();
    loss.backward();
    sgd.step();
    peft.after_optimizer_step(step, total);
    if (step == 1) previous = allocator->total_rank();
    CHECK(allocator->total_rank() <= std::max(previous, allocator->budget(step, total)));
  }
  CHECK(allocator->total_rank() == 2 * modules);
  CHECK(peft.config("default")["total_step"] == total);
  CHECK(allocator->rank_pattern().size() == static_cast<size_t>(modules));
}

TEST_CASE("PEFT configs fail with one clear line naming the key", "[peft][errors]") {
  CHECK(user_error_message([] { section("lorax"); }).find("peft.method: unknown PEFT method 'lorax'") == 0);
  CHECK(user_error_message([] { section("ia3", {{"r", 4}}); }) == "peft.r: does not apply to method 'ia3'");
  CHECK(user_error_message([] { section("lora", {{"rank", 4}}); }).find("peft.rank: unknown key") == 0);
  CHECK(user_error_message([] { section("lora", {{"r", 0}}); }).find("peft.r: must be") == 0);
  CHECK(user_error_message([] { section("lora", {{"bias", "some"}}); }).find("peft.bias:") == 0);
  CHECK(user_error_message([] { section("adalora", {{"init_r", 4}, {"target_r", 8}}); }).find("peft.target_r:") == 0);
  BertModel m = base_model();
  PeftModel peft(m.ptr());
  const std::string none = user_error_message([&] { peft.add_adapter("default", section("lora", {{"target_modules", {"q_proj"}}})); });
  CHECK(none.find("peft.target_modules: [\"q_proj\"] matches no linear layer") == 0);
  CHECK(none.find("encoder.layer.0.attention.self.query") != std::string::npos);
  CHECK(user_error_message([&] { peft.add_adapter("default", section("lora", {{"target_modules", "(("}})); })
            .find("peft.target_modules: invalid regular expression") == 0);
  // A regex matches whole paths, as in PEFT.
  peft.add_adapter("default", section("lora", {{"target_modules", R"(encoder\.layer\.1\..*\.(query|key))"}}));
  CHECK(peft.count().trainable == 2 * (8 * 16 + 16 * 8));
}

TEST_CASE("PEFT adapter_config.json keys map both ways", "[peft]") {
  const json resolved = attune::peft::with_default_targets(
      section("lora", {{"r", 4}, {"lora_alpha", 16}, {"modules_to_save", {"classifier"}}}), "bert");
  const json ac = attune::peft::to_adapter_config(resolved, "SEQ_CLS");
  CHECK(ac["peft_type"] == "LORA");
  CHECK(ac["task_type"] == "SEQ_CLS");
  CHECK(ac["r"] == 4);
  CHECK(ac["lora_alpha"] == 16);
  CHECK(ac["target_modules"] == json({"query", "value"}));
  CHECK(attune::peft::from_adapter_config(ac, "a.json") == resolved);
  json dora = ac;
  dora["use_dora"] = true;
  CHECK(user_error_message([&] { attune::peft::from_adapter_config(dora, "a.json"); }) == "a.json: use_dora: true is not supported");
  json unknown = ac;
  unknown["peft_type"] = "LOHA";
  CHECK(user_error_message([&] { attune::peft::from_adapter_config(unknown, "a.json"); }).find("a.json: peft_type: 'LOHA' is not supported") == 0);
}

TEST_CASE("unset target_modules default to the architecture's, as PEFT's tables", "[peft]") {
  namespace peft = attune::peft;
  const auto targets = [](const std::string& method, const std::string& model_type, json extra = json::object()) {
    return peft::with_default_targets(section(method, std::move(extra)), model_type);
  };
  // PEFT's own rows.
  CHECK(targets("lora", "bert")["target_modules"] == json({"query", "value"}));
  CHECK(targets("lora", "deberta-v2")["target_modules"] == json({"query_proj", "value_proj"}));
  CHECK(targets("adalora", "roberta")["target_modules"] == json({"query", "key", "value", "dense"}));
  CHECK(targets("adalora", "bert")["target_modules"] == json({"query", "value"}));
  const json ia3 = targets("ia3", "deberta-v2");
  CHECK(ia3["target_modules"] == json({"key_proj", "value_proj", "output.dense"}));
  CHECK(ia3["feedforward_modules"] == json({"output.dense"}));
  // Architectures PEFT has no row for get transformers' names for their attention.
  CHECK(targets("lora", "distilbert")["target_modules"] == json({"q_lin", "v_lin"}));
  CHECK(targets("lora", "modernbert")["target_modules"] == json({"Wqkv"}));
  CHECK(targets("lora", "marian")["target_modules"] == json({"q_proj", "v_proj"}));
  CHECK(targets("ia3", "distilbert")["feedforward_modules"] == json({"ffn.lin2"}));
  // attune's own encoders (any other model_type) use BERT's names.
  CHECK(targets("lora", "sasrec")["target_modules"] == json({"query", "value"}));
  // A user's own targets stay; IA3's feed-forward defaults keep only the names among them.
  CHECK(targets("lora", "distilbert", {{"target_modules", {"out_lin"}}})["target_modules"] == json({"out_lin"}));
  CHECK(targets("ia3", "bert", {{"target_modules", {"value", "output.dense"}}})["feedforward_modules"] ==
        json({"output.dense"}));
  CHECK(targets("ia3", "bert", {{"target_modules", {"value"}}})["feedforward_modules"].is_null());
  CHECK(targets("ia3", "bert", {{"target_modules", {"value", "dense"}}, {"feedforward_modules", {"dense"}}})
            ["feedforward_modules"] == json({"dense"}));
  // Methods without target modules are left alone.
  CHECK(targets("prefix_tuning", "distilbert") == section("prefix_tuning"));

  // PeftModel applies them for its model_type (BERT's unless set).
  BertModel m = base_model();
  peft::PeftModel bert(m.ptr());
  bert.add_adapter("default", section("lora"));
  CHECK(bert.config("default")["target_modules"] == json({"query", "value"}));
  peft::PeftModel other(base_model().ptr());
  other.set_model_type("marian");
  CHECK(user_error_message([&] { other.add_adapter("default", section("lora")); })
            .find("peft.target_modules: [\"q_proj\",\"v_proj\"] matches no linear layer") == 0);
}
