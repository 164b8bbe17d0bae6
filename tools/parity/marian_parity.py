"""Numerical parity of attune's Transformer encoder-decoder with Hugging Face's
MarianMTModel (transformers on the GPU machine): random Marian models of several shapes
are built in transformers, their weights handed to attune (the parameter names are the
same), and both run the same padded source batch and target prefix in float32.
Compared: encoder output and logits (1e-5), gradients of one next-token loss (1e-4),
greedy decoding (identical tokens) and beam search (reported: the two implementations
stop hypotheses by the same rule, but ties and the normalisation of a masked pad token
may differ).

Usage: marian_parity.py BUILD_DIR WORK_DIR    (BUILD_DIR holds attune_seq2seq_dump)
"""
import json
import os
import subprocess
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import MarianConfig, MarianMTModel

build, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
PAD, BOS, EOS, VOCAB = 0, 1, 2, 61
failures = []


def check(name, ok, detail):
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    if not ok:
        failures.append(name)


def case(name, layers, d, heads, ffn, activation, share, seed):
    torch.manual_seed(seed)
    cfg = MarianConfig(vocab_size=VOCAB, d_model=d, encoder_layers=layers, decoder_layers=layers,
                       encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn,
                       decoder_ffn_dim=ffn, activation_function=activation, dropout=0.0, attention_dropout=0.0,
                       activation_dropout=0.0, max_position_embeddings=64, scale_embedding=True,
                       pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS, decoder_start_token_id=BOS,
                       forced_eos_token_id=None, share_encoder_decoder_embeddings=share,
                       tie_word_embeddings=True)
    hf = MarianMTModel(cfg).eval()
    hf.config._attn_implementation = "eager"
    with torch.no_grad():  # LayerNorms and the logits bias away from their trivial values
        for n, p in hf.named_parameters():
            if "layer_norm" in n:
                p.add_(0.1 * torch.randn_like(p))
        hf.final_logits_bias.normal_(0.0, 0.5)
    state = {k: v.detach().clone().contiguous() for k, v in hf.state_dict().items()}
    for stack in ("encoder", "decoder"):  # positions may be a non-persistent buffer in some versions
        key = f"model.{stack}.embed_positions.weight"
        state.setdefault(key, getattr(hf.model, stack).embed_positions.weight.detach().clone())
    save_file(state, f"{work}/{name}.safetensors")
    src = torch.randint(3, VOCAB, (4, 11))
    for row, length in enumerate([11, 6, 9, 3]):
        src[row, length - 1] = EOS
        src[row, length:] = PAD
    tgt = torch.cat([torch.full((4, 1), BOS), torch.randint(3, VOCAB, (4, 8))], 1)
    save_file({"src": src, "tgt": tgt}, f"{work}/{name}_in.safetensors")
    model_section = {"name": "transformer", "preset": None, "d_model": d, "encoder_layers": layers,
                     "decoder_layers": layers, "num_heads": heads, "ffn_dim": ffn, "activation": activation,
                     "dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0, "pre_layer_norm": False,
                     "positions": "sinusoidal", "max_positions": 64, "share_embeddings": share,
                     "tie_output": True, "scale_embedding": True, "layer_norm_eps": 1e-5}
    spec = {"model": model_section, "vocab_size": VOCAB, "pad_id": PAD, "bos_id": BOS, "eos_id": EOS,
            "beam_size": 4, "max_length_extra": 12}
    json.dump(spec, open(f"{work}/{name}.json", "w"))
    subprocess.run([f"{build}/attune_seq2seq_dump", f"{work}/{name}.json", f"{work}/{name}.safetensors",
                    f"{work}/{name}_in.safetensors", f"{work}/{name}_out.safetensors"], check=True)
    ours = load_file(f"{work}/{name}_out.safetensors")

    mask = (src != PAD).long()
    out = hf(input_ids=src, attention_mask=mask, decoder_input_ids=tgt, output_hidden_states=True)
    loss = torch.nn.functional.cross_entropy(out.logits[:, :-1].reshape(-1, VOCAB), tgt[:, 1:].reshape(-1))
    loss.backward()
    enc_diff = (out.encoder_last_hidden_state - ours["encoder"]).abs().max().item()
    logit_diff = (out.logits - ours["logits"]).abs().max().item()
    check(f"{name} encoder", enc_diff <= 1e-5, f"max |diff| {enc_diff:.2e}")
    check(f"{name} logits", logit_diff <= 1e-5, f"max |diff| {logit_diff:.2e}")
    grad_diff, compared = 0.0, 0
    for n, p in hf.named_parameters():
        if p.grad is None or f"grad.{n}" not in ours:
            continue
        grad_diff = max(grad_diff, (p.grad - ours[f"grad.{n}"]).abs().max().item())
        compared += 1
    check(f"{name} gradients", compared > 10 and grad_diff <= 1e-4, f"{compared} tensors, max |diff| {grad_diff:.2e}")

    def rows(t):
        return [[int(x) for x in r if x >= 0] for r in t]

    def hf_rows(t):  # drop the decoder start token, cut at EOS, drop padding
        result = []
        for r in t.tolist()[0:]:
            r = r[1:]
            result.append(r[:r.index(EOS)] if EOS in r else [x for x in r if x != PAD])
        return result

    with torch.no_grad():
        common = dict(input_ids=src, attention_mask=mask, do_sample=False, max_new_tokens=12,
                      decoder_start_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD, bad_words_ids=[[PAD]])
        greedy = hf_rows(hf.generate(num_beams=1, **common))
        beam = hf_rows(hf.generate(num_beams=4, early_stopping=True, length_penalty=1.0, **common))
    check(f"{name} greedy", greedy == rows(ours["greedy"]), f"attune {rows(ours['greedy'])} transformers {greedy}")
    same = sum(a == b for a, b in zip(beam, rows(ours["beam"])))
    print(f"info {name} beam 4: {same}/{len(beam)} sentences identical to transformers")


case("marian_relu_2x32", 2, 32, 4, 64, "relu", True, 1)
case("marian_gelu_3x48", 3, 48, 6, 96, "gelu", True, 2)
case("marian_swish_unshared", 2, 32, 2, 48, "swish", False, 3)
print("FAILED: " + ", ".join(failures) if failures else "all cases pass")
sys.exit(1 if failures else 0)
