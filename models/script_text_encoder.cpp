#include "models/script_text_encoder.h"

#include "core/error.h"
#include "models/bert/script_export.h"
#include "models/deberta/script_export.h"
#include "models/modernbert/script_export.h"

namespace attune::models {

torch::jit::Module script_text_encoder(TextEncoderImpl& encoder, script::ClassNames& names) {
  if (auto* bert = dynamic_cast<BertModelImpl*>(&encoder)) return script_bert(*bert, names);
  if (auto* modernbert = dynamic_cast<ModernBertModelImpl*>(&encoder)) return script_modernbert(*modernbert, names);
  if (auto* deberta = dynamic_cast<DebertaV2ModelImpl*>(&encoder)) return script_deberta(*deberta, names);
  fail("model.name", "this encoder family cannot be exported to a bundle (known: bert, modernbert, deberta)");
}

}  // namespace attune::models
