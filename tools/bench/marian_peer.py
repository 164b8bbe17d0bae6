"""The Python peer of tools/bench/translation_bench.sh: a transformers MarianMTModel of
attune's transformer-small shape (6+6 layers, 512 wide, 4 heads, 1024 feed-forward,
sinusoidal positions, shared and tied embeddings, post-LN, ReLU), trained from scratch on
the same sentence pairs and SentencePiece model with the same recipe as attune (label
smoothing 0.1, AdamW (0.9, 0.98) fused, inverse square root warm-up, batches of at most
MAX_TOKENS padded tokens bucketed by length, bf16 autocast, SDPA attention, gradient
clipping at 1), for the same number of steps; then beam search on the test split.
Prints one JSON object: BLEU and chrF (sacrebleu), training target tokens/s and
decoding sentences/s.

Usage: marian_peer.py TRAIN.tsv TEST.tsv SPM.model STEPS MAX_TOKENS LR WARMUP OUT_DIR
"""
import json
import math
import os
import random
import statistics
import sys
import time

import sacrebleu
import sentencepiece as spm
import torch
from transformers import MarianConfig, MarianMTModel

train_path, test_path, spm_path = sys.argv[1:4]
steps, max_tokens, lr, warmup = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
out_dir = sys.argv[8]
os.makedirs(out_dir, exist_ok=True)
torch.manual_seed(42)
random.seed(42)
sp = spm.SentencePieceProcessor(model_file=spm_path)
PAD, BOS, EOS = 0, sp.piece_to_id("[CLS]"), sp.piece_to_id("[SEP]")
MAX_LEN, RATIO = 128, 3.0  # attune's data.max_source_tokens / max_target_tokens / max_length_ratio


def read(path):
    return [line.rstrip("\n").split("\t") for line in open(path, encoding="utf-8") if line.strip()]


pairs = []
for src, tgt in read(train_path):
    s, t = sp.encode(src), sp.encode(tgt)
    if 1 <= len(s) <= MAX_LEN and 1 <= len(t) <= MAX_LEN and (max(len(s), len(t)) + 1) / (min(len(s), len(t)) + 1) <= RATIO:
        pairs.append((s + [EOS], t))


def batches(epoch):  # as attune's make_token_batches: sort by length (random ties), cut by padded tokens
    order = list(range(len(pairs)))
    random.Random(epoch).shuffle(order)
    order.sort(key=lambda i: max(len(pairs[i][0]), len(pairs[i][1]) + 1))
    out, cur, longest = [], [], 0
    for i in order:
        length = max(len(pairs[i][0]), len(pairs[i][1]) + 1)
        if cur and (len(cur) + 1) * max(longest, length) > max_tokens:
            out.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, length)
    if cur:
        out.append(cur)
    random.Random(epoch + 1).shuffle(out)
    return out


def collate(batch):
    s_len = max(len(pairs[i][0]) for i in batch)
    t_len = max(len(pairs[i][1]) + 1 for i in batch)
    src = torch.full((len(batch), s_len), PAD)
    dec = torch.full((len(batch), t_len), PAD)
    labels = torch.full((len(batch), t_len), -100)
    for r, i in enumerate(batch):
        s, t = pairs[i]
        src[r, :len(s)] = torch.tensor(s)
        dec[r, :len(t) + 1] = torch.tensor([BOS] + t)
        labels[r, :len(t) + 1] = torch.tensor(t + [EOS])
    return src, dec, labels, sum(len(pairs[i][1]) + 1 for i in batch)


config = MarianConfig(vocab_size=sp.get_piece_size(), d_model=512, encoder_layers=6, decoder_layers=6,
                      encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=1024, decoder_ffn_dim=1024,
                      activation_function="relu", dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
                      max_position_embeddings=256, scale_embedding=True, pad_token_id=PAD, bos_token_id=BOS,
                      eos_token_id=EOS, decoder_start_token_id=BOS, forced_eos_token_id=None,
                      share_encoder_decoder_embeddings=True, tie_word_embeddings=True)
model = MarianMTModel(config).cuda()
model.config._attn_implementation = "sdpa"
decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() >= 2]
no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() < 2]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}],
                              lr=lr, betas=(0.9, 0.98), eps=1e-8, fused=True)
schedule = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda s: (s + 1) / warmup if s + 1 < warmup else math.sqrt(warmup / (s + 1)))

model.train()
step, epoch, rates, losses = 0, 0, [], []
window_tokens, window_start = 0, None
start = time.time()
while step < steps:
    for batch in batches(epoch):
        if step >= steps:
            break
        src, dec, labels, tokens = collate(batch)
        src, dec, labels = src.cuda(non_blocking=True), dec.cuda(non_blocking=True), labels.cuda(non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=src, attention_mask=(src != PAD), decoder_input_ids=dec).logits
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100,
                                                 label_smoothing=0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        window_tokens += tokens
        if step == 20:  # the first steps include start-up and allocator warm-up
            torch.cuda.synchronize()
            window_start, window_tokens = time.time(), 0
        if step % 100 == 0:
            losses.append(loss.item())
            if window_start is not None:
                torch.cuda.synchronize()
                rates.append(window_tokens / (time.time() - window_start))
                window_start, window_tokens = time.time(), 0
                print(f"step {step} loss {losses[-1]:.4f} {rates[-1]:.0f} target tokens/s", flush=True)
    epoch += 1
torch.cuda.synchronize()
train_s = time.time() - start

model.eval()
test = read(test_path)
order = sorted(range(len(test)), key=lambda i: len(sp.encode(test[i][0])))
hyps = [""] * len(test)
torch.cuda.synchronize()
t0 = time.time()
with torch.no_grad():
    i = 0
    while i < len(order):  # batches of at most 8192 source tokens x beam, as attune eval
        j, longest = i, 0
        while j < len(order):
            length = min(len(sp.encode(test[order[j]][0])), 255) + 1
            if j > i and (j - i + 1) * max(longest, length) > 8192 // 4:
                break
            longest = max(longest, length)
            j += 1
        batch = order[i:j]
        ids = [sp.encode(test[k][0])[:255] + [EOS] for k in batch]
        src = torch.full((len(ids), longest), PAD)
        for r, s in enumerate(ids):
            src[r, :len(s)] = torch.tensor(s)
        src = src.cuda()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model.generate(input_ids=src, attention_mask=(src != PAD), num_beams=4, early_stopping=True,
                                 length_penalty=1.0, do_sample=False, max_new_tokens=int(math.ceil(1.5 * longest)) + 10,
                                 decoder_start_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD,
                                 bad_words_ids=[[PAD]])
        for r, k in enumerate(batch):
            row = out[r].tolist()[1:]
            row = row[:row.index(EOS)] if EOS in row else [x for x in row if x != PAD]
            hyps[k] = sp.decode(row)
        i = j
torch.cuda.synchronize()
decode_s = time.time() - t0
refs = [t for _, t in test]
open(os.path.join(out_dir, "hyp.txt"), "w", encoding="utf-8").write("\n".join(hyps) + "\n")
print(json.dumps({
    "system": "transformers MarianMTModel", "steps": steps, "train_pairs": len(pairs),
    "bleu": sacrebleu.corpus_bleu(hyps, [refs]).score, "chrf": sacrebleu.corpus_chrf(hyps, [refs]).score,
    "train_target_tokens_per_s": statistics.median(rates) if rates else None, "train_s": train_s,
    "final_loss": losses[-1] if losses else None, "decode_sentences_per_s": len(test) / decode_s,
    "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20,
}))
