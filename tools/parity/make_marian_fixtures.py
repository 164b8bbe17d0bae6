"""Tiny OPUS-MT style folders (MarianMTModel + MarianTokenizer, save_pretrained) and the
outputs transformers computes on them, for attune's CPU tests (tests/fixtures/marian/).

Runs on a machine with transformers, sentencepiece, torch and safetensors (CPU, float32,
no network), in the repository root:
    python3 tools/parity/make_marian_fixtures.py [TRAIN.tsv [OUT_DIR]]
TRAIN.tsv (default .data/en-de/train.tsv, from tools/data/fetch_en_de.sh): its first 400
English<TAB>German lines train two SentencePiece unigram models of 120 pieces (identity
normalisation, so the .spm files stay a few KB). vocab.json is laid out as OPUS-MT's:
</s> 0, <unk> 1, the pieces, <pad> last (also the decoder start).
Cases (OUT_DIR/NAME/, default OUT_DIR /tmp/f):
  opus-joint      one vocab.json for both sides, shared embeddings, swish, 2+2 layers, d 32
  opus-separate   separate_vocabs (vocab.json + target_vocab.json), unshared embeddings, an
                  untied lm_head, gelu, 1 encoder + 2 decoder layers, d 16
final_logits_bias is moved off zero so that a skipped buffer shows. Each case also holds
expected.safetensors (src: a padded batch of two source sentences; tgt_in: <pad> then
their targets shifted right; encoder: the encoder's last hidden state; logits: the
teacher-forced logits) and expected.json (greedy: generate(num_beams=1,
max_new_tokens=12, no forced EOS, <pad> banned) without the start token, cut at </s>;
probes: five sentences with tokenizer(text).input_ids, tokenizer(text_target=text).input_ids
and the decode of the latter with skip_special_tokens; the transformers version).

The GPU machine's `run` command line is limited to 2,000 characters and this file was not
on it, so the fixtures in tests/fixtures/marian were made by a compressed copy of exactly
this code, then the tree under OUT_DIR was packed with tar and extracted there.
"""
import json
import shutil
import sys
import tempfile

import sentencepiece as spm
import torch
import transformers
from safetensors.torch import save_file

train = sys.argv[1] if len(sys.argv) > 1 else ".data/en-de/train.tsv"
out = sys.argv[2] if len(sys.argv) > 2 else "/tmp/f"
pairs = [line.rstrip("\n").split("\t") for line in open(train).readlines()[:400]]
# Sentences whose ids the tests compare: real lines, a language code, unknown characters.
PROBES = [pairs[0][0][:80], pairs[1][0][:80], pairs[2][1][:80], ">>de<< Hello world", "Price 5€ ✓ 漢字 ok"]


def train_spm(lines, prefix):
    open(prefix, "w").write("\n".join(lines))
    spm.SentencePieceTrainer.train(input=prefix, model_prefix=prefix, vocab_size=120,
                                   normalization_rule_name="identity")
    shutil.copy(prefix + ".model", prefix + ".spm")
    return spm.SentencePieceProcessor(model_file=prefix + ".model")


def marian_vocab(*models):
    """OPUS-MT's layout: </s> 0, <unk> 1, every other piece once (not <s>), <pad> last."""
    vocab = {"</s>": 0, "<unk>": 1}
    for m in models:
        for i in range(m.get_piece_size()):
            vocab.setdefault(m.id_to_piece(i), len(vocab))
    vocab.pop("<s>")
    vocab["<pad>"] = len(vocab) + 1
    return {token: i for i, token in enumerate(vocab)}


def case(name, d, encoder_layers, decoder_layers, heads, ffn, activation, separate, tie):
    path = out + "/" + name
    work = tempfile.mkdtemp()
    source = train_spm([p[0] for p in pairs], work + "/source")
    target = train_spm([p[1] for p in pairs], work + "/target")
    files = dict(source_spm=work + "/source.spm", target_spm=work + "/target.spm", vocab=work + "/v.json")
    vocab = marian_vocab(source) if separate else marian_vocab(source, target)
    if separate:  # both 120 pieces: the two vocabularies have one size, as attune needs
        files["target_vocab_file"] = work + "/t.json"
        json.dump(marian_vocab(target), open(files["target_vocab_file"], "w"))
    json.dump(vocab, open(files["vocab"], "w"))
    tok = transformers.MarianTokenizer(**files, separate_vocabs=separate)
    size = len(vocab)
    pad = size - 1
    torch.manual_seed(len(name))
    config = transformers.MarianConfig(
        vocab_size=size, decoder_vocab_size=size, d_model=d, encoder_layers=encoder_layers,
        decoder_layers=decoder_layers, encoder_attention_heads=heads, decoder_attention_heads=heads,
        encoder_ffn_dim=ffn, decoder_ffn_dim=ffn, activation_function=activation, max_position_embeddings=64,
        scale_embedding=True, pad_token_id=pad, eos_token_id=0, decoder_start_token_id=pad, forced_eos_token_id=0,
        share_encoder_decoder_embeddings=not separate, tie_word_embeddings=tie)
    model = transformers.MarianMTModel(config).eval()
    with torch.no_grad():
        model.final_logits_bias.normal_(0, 0.5)
    model.save_pretrained(path)
    tok.save_pretrained(path)

    batch = tok([pairs[3][0][:60], pairs[4][0][:30]], text_target=[pairs[3][1][:50], pairs[4][1][:40]],
                return_tensors="pt", padding=True)
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    tgt_in = torch.cat([torch.full((2, 1), pad), labels[:, :-1]], 1)
    with torch.no_grad():
        result = model(input_ids=ids, attention_mask=mask, decoder_input_ids=tgt_in)
        generated = model.generate(input_ids=ids, attention_mask=mask, num_beams=1, do_sample=False, max_new_tokens=12,
                                   decoder_start_token_id=pad, eos_token_id=0, pad_token_id=pad,
                                   forced_eos_token_id=None, bad_words_ids=[[pad]])
    greedy = [x[1:x.index(0)] if 0 in x else [y for y in x[1:] if y != pad] for x in generated.tolist()]
    save_file({"src": ids, "tgt_in": tgt_in, "encoder": result.encoder_last_hidden_state.contiguous(),
               "logits": result.logits.contiguous()}, path + "/expected.safetensors")
    probes = []
    for text in PROBES:
        target_ids = tok(text_target=text)["input_ids"]
        probes.append({"text": text, "source_ids": tok(text)["input_ids"], "target_ids": target_ids,
                       "decoded_target": tok.decode(target_ids, skip_special_tokens=True)})
    json.dump({"transformers": transformers.__version__, "greedy": greedy, "probes": probes},
              open(path + "/expected.json", "w"), ensure_ascii=False)
    print(name, greedy, transformers.__version__)


case("opus-joint", 32, 2, 2, 4, 64, "swish", False, True)
case("opus-separate", 16, 1, 2, 2, 32, "gelu", True, False)
