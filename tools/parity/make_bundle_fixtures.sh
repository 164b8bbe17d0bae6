#!/usr/bin/env bash
# Fixtures for tools/parity/bundle_parity.py: three tiny runs trained here (a text classifier, a
# translation model and a ViT image classifier), their bundles exported by this attune (LibTorch 1.13 on the CPU
# machine), inputs, the ids this attune's tokenizers give them, and the outputs this
# attune computes, packed into OUT_DIR/fixtures.tar.gz (a few MB; a few minutes on 2 cores).
#
#   ATTUNE=build/attune tools/parity/make_bundle_fixtures.sh OUT_DIR
#
# The classifier trains on 400 SpamAssassin mails (the first 200 ham and 200 spam of
# $SPAM_CSV, else ~/.cache/attune/spam_assassin/train.csv, else .data/spam_assassin/train.csv)
# and predicts 40 later ones plus a few edge cases; without the data set it trains on
# generated topic texts (tests/common/synthetic.h's write_topics_csv, re-written here).
# The translation run learns generated English -> German digit words (synthetic.h's
# write_number_pairs) to BLEU 100 in 8 epochs and translates 30 fresh pairs plus edge cases.
# The image run (ALiBi attention) learns which quadrant of generated 8x8 grey images is bright
# (synthetic.h's write_quadrants) and predicts 40 fresh images.
#
# fixtures.tar.gz holds fixtures/:
#   versions.json                    what wrote it (attune's bundle manifests' versions)
#   classification/run/              the trained run (for `attune export` elsewhere)
#   classification/bundle/           `attune export` of it
#   classification/inputs.txt        one text a line (plain text, none starting with '{')
#   classification/input_ids.jsonl   `attune tokenize --special --max-length MAX` of them
#   classification/expected_predict.jsonl  `attune predict --bundle` (labels, probabilities)
#   translation/run/, translation/bundle/
#   translation/sources.txt          one source sentence a line (blank lines included)
#   translation/source_ids.jsonl     `attune tokenize` (SentencePiece ids, no EOS) of them
#   translation/expected_greedy.txt  `attune translate --run run --beam 1`
#   translation/expected_greedy_short.txt  the same with a tight length limit (short_decode.json:
#                                    max_length_ratio 0.5, max_length_extra 1), so lines end at the limit
#   translation/expected_predict.txt `attune predict --bundle` (the run's beam search, beam 4)
#   mlm/run/, mlm/bundle/            a masked-LM run (generated animal sentences) and its bundle
#   mlm/inputs.txt                   texts with [MASK]s
#   mlm/expected_predict.jsonl       `attune predict --bundle` (top 5 tokens and scores per mask)
#   recommendation/requests.jsonl    {"history", "exclude"?, "k"?} requests (generated item walks)
#   recommendation/KIND/run/, KIND/bundle/, KIND/expected_predict.jsonl   KIND = sasrec, bert4rec
#   image/run/, image/bundle/
#   image/test-images                IDX, uint8 (40, 8, 8)
#   image/expected_predict.jsonl     `attune predict --bundle` of them (labels, probabilities)
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: ATTUNE=path/to/attune $0 OUT_DIR" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ATTUNE="${ATTUNE:-$root/build/attune}"
[[ -x "$ATTUNE" ]] || { echo "no attune binary at $ATTUNE (set ATTUNE)" >&2; exit 2; }
ATTUNE="$(cd "$(dirname "$ATTUNE")" && pwd)/$(basename "$ATTUNE")"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
work="$out/work"
rm -rf "$work"
mkdir -p "$work/data" "$work/fixtures/classification" "$work/fixtures/translation" "$work/fixtures/mlm" \
  "$work/fixtures/recommendation" "$work/fixtures/image"
fx="$work/fixtures"
log="$out/make_bundle_fixtures.log"
: >"$log"
step() { echo "== $*" | tee -a "$log"; }

spam=""
for f in "${SPAM_CSV:-}" "$HOME/.cache/attune/spam_assassin/train.csv" "$root/.data/spam_assassin/train.csv"; do
  [[ -n "$f" && -f "$f" ]] && { spam="$f"; break; }
done

step "data (classification from ${spam:-generated topic texts})"
python3 - "$work/data" "$fx" "$spam" <<'PY'
import csv, random, sys
data, fx, spam = sys.argv[1:4]
csv.field_size_limit(1 << 30)

def flat(text):
    return " ".join(text.split())

edge = ["", "a", "FREE!!! Click here NOW to claim your $1,000,000 prize -- limited offer, act today",
        "Café naïve résumé, Ünïcödé 中文字符 and emoji 😀 👍🏽", "   leading spaces\tand a tab",
        " ".join(["meeting tomorrow about the cvs repository and the build"] * 40)]
if spam:
    take = {"ham": 200, "spam": 200}
    train, later = [], []
    for row in csv.DictReader(open(spam, newline="", encoding="utf-8")):
        if take.get(row["label"], 0) > 0:
            take[row["label"]] -= 1
            train.append((row["text"][:1500], row["label"]))
        elif len(later) < 4000:
            later.append(row)
    # 20 of each label from the mails not trained on, cut to lengths below and above max_length.
    picked = [r for r in later if r["label"] == "ham"][:20] + [r for r in later if r["label"] == "spam"][:20]
    inputs = []
    for i, r in enumerate(picked):
        text = flat(r["text"]).lstrip("{")
        inputs.append(text[: (40, 150, 400, 2000)[i % 4]])
    inputs += edge
else:
    labels = ["food", "sport", "tech"]
    topic = [["bread", "cheese", "soup", "apple", "dinner", "bake"], ["goal", "match", "team", "score", "runner", "ball"],
             ["laptop", "code", "server", "chip", "network", "compiler"]]
    filler = ["the", "a", "today", "we", "really", "liked", "some", "very", "new", "old"]
    rng = random.Random(11)
    def text_of(label, words):
        return " ".join(rng.choice(topic[label] if rng.randrange(3) == 0 else filler) for _ in range(words))
    train = []
    for _ in range(400):
        label = rng.randrange(3)
        train.append((text_of(label, 4 + rng.randrange(8)), labels[label]))
    inputs = [text_of(rng.randrange(3), 2 + rng.randrange(30)) for _ in range(40)] + edge
with open(f"{data}/cls_train.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["text", "label"])
    w.writerows(train)
with open(f"{fx}/classification/inputs.txt", "w", encoding="utf-8") as f:
    for line in inputs:
        assert "\n" not in line and "\r" not in line and not line.startswith("{")
        f.write(line + "\n")

# Digit words and their German word-for-word translation, 3-8 words (write_number_pairs).
en = "zero one two three four five six seven eight nine".split()
de = "null eins zwei drei vier fuenf sechs sieben acht neun".split()
def pairs(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        digits = [rng.randrange(10) for _ in range(3 + rng.randrange(6))]
        out.append((" ".join(en[d] for d in digits), " ".join(de[d] for d in digits)))
    return out
for name, n, seed in [("train.tsv", 3000, 1), ("valid.tsv", 60, 2)]:
    with open(f"{data}/{name}", "w", encoding="utf-8") as f:
        f.writelines(f"{s}\t{t}\n" for s, t in pairs(n, seed))
sources = [s for s, _ in pairs(30, 3)]
sources += ["", "one", "nine eight seven six five four three two one zero one two three four five six seven",
            "Hello world, this is not a number.", "  ", "One TWO three",
            " ".join(en[i % 10] for i in range(80))]  # longer than the model's 64 positions: cut
with open(f"{fx}/translation/sources.txt", "w", encoding="utf-8") as f:
    f.writelines(s + "\n" for s in sources)

# 8x8 grey images whose class c (0..3) is the bright quadrant, on noise (write_quadrants).
import struct
def quadrants(path, n, seed):
    rng = random.Random(seed)
    pixels, labels = bytearray(), bytearray()
    for _ in range(n):
        c = rng.randrange(4)
        labels.append(c)
        for y in range(8):
            for x in range(8):
                lit = (y < 4) == (c < 2) and (x < 4) == (c % 2 == 0)
                pixels.append((160 if lit else 0) + rng.randrange(60))
    with open(f"{path}-images", "wb") as f:
        f.write(struct.pack(">4B3I", 0, 0, 8, 3, n, 8, 8) + pixels)
    with open(f"{path}-labels", "wb") as f:
        f.write(struct.pack(">4BI", 0, 0, 8, 1, n) + labels)
quadrants(f"{data}/img_train", 400, 4)
quadrants(f"{fx}/image/test", 40, 5)
PY

step "data (masked LM, recommendation)"
python3 - "$work/data" "$fx" <<'PY'
import json, random, sys
data, fx = sys.argv[1:3]
# Sentences in which each animal has its own verbs and places (synthetic.h's write_sentences).
animals = ["cat", "dog", "horse", "parrot", "elephant", "hamster"]
verbs = [["purrs", "sleeps"], ["barks", "runs"], ["gallops", "neighs"], ["talks", "whistles"], ["trumpets", "bathes"],
         ["nibbles", "hides"]]
places = ["kitchen", "garden", "stable", "window", "river", "cage"]
adjectives = ["big", "small", "old", "young", "happy", "sleepy", "unbelievably"]
rng = random.Random(5)
with open(f"{data}/mlm.txt", "w", encoding="utf-8") as f:
    for _ in range(1500):
        parts = []
        for _ in range(1 + rng.randrange(3)):
            a = rng.randrange(len(animals))
            parts.append(f"the {rng.choice(adjectives)} {animals[a]} {rng.choice(verbs[a])} in the {places[a]}.")
        f.write(" ".join(parts) + "\n")
texts = ["the [MASK] purrs in the kitchen.", "the old dog [MASK] in the [MASK].", "[MASK]", "no mask at all",
         "the unbelievably sleepy [MASK] hides in the cage. the horse [MASK] in the stable.", "[MASK] [MASK] [MASK]"]
with open(f"{fx}/mlm/inputs.txt", "w", encoding="utf-8") as f:
    f.writelines(t + "\n" for t in texts)
# Users walk 20 items in a cycle (synthetic.h's write_walks).
with open(f"{data}/walks.csv", "w", encoding="utf-8") as f:
    f.write("user,item,t\n")
    for u in range(120):
        item = rng.randrange(20)
        for i in range(6 + rng.randrange(6)):
            f.write(f"u{u},m{item},{1000 + i}\n")
            item = (item + 1) % 20
requests = [{"history": ["m3", "m4", "m5"]}, {"history": ["m%d" % (i % 20) for i in range(7, 19)]},
            {"history": ["m1"], "exclude": [], "k": 5}, {"history": ["m9", "m10"], "exclude": ["m11", "m1"], "k": 3},
            {"history": ["m19"], "k": 30}]
with open(f"{fx}/recommendation/requests.jsonl", "w", encoding="utf-8") as f:
    f.writelines(json.dumps(r) + "\n" for r in requests)
PY

# Every run on the CPU, float32 (bf16 off), no intermediate checkpoints.
step "train classification"
"$ATTUNE" train --set run_dir="$work/cls_run" --set device=cpu --set data.train="$work/data/cls_train.csv" \
  --set data.max_length=64 --set model.max_length=128 --set tokenizer.vocab_size=2000 \
  --set model.hidden_size=32 --set model.num_layers=1 --set model.num_heads=2 --set model.intermediate_size=64 \
  --set train.epochs=4 --set train.lr=5e-3 --set train.batch_size=16 --set train.bf16=false \
  --set train.checkpoint_every=1000000 >>"$log" 2>&1
step "train translation"
"$ATTUNE" train --task translation --set run_dir="$work/mt_run" --set device=cpu \
  --set data.train="$work/data/train.tsv" --set data.valid="$work/data/valid.tsv" \
  --set tokenizer.vocab_size=100 --set model.preset=transformer-tiny --set model.max_positions=64 \
  --set data.max_source_tokens=40 --set data.max_target_tokens=40 --set model.dropout=0.0 \
  --set train.epochs=8 --set train.max_tokens=600 --set train.lr=3e-3 --set train.warmup_steps=30 \
  --set train.log_every=50 --set train.eval_max_sentences=60 --set train.bf16=false \
  --set train.checkpoint_every=1000000 >>"$log" 2>&1
step "train masked LM"
"$ATTUNE" pretrain --set run_dir="$work/mlm_run" --set device=cpu --set data.train="$work/data/mlm.txt" \
  --set tokenizer.vocab_size=200 --set model.preset=null --set model.hidden_size=32 --set model.num_layers=2 \
  --set model.num_heads=2 --set model.intermediate_size=64 --set mlm.max_length=32 --set train.epochs=2 \
  --set train.batch_size=16 --set train.bf16=false --set train.checkpoint_every=1000000 >>"$log" 2>&1
for kind in sasrec bert4rec; do
  step "train recommendation ($kind)"
  "$ATTUNE" train --task recommendation --set run_dir="$work/rec_$kind" --set device=cpu \
    --set data.interactions="$work/data/walks.csv" --set data.time_column=t --set data.k_core=1 \
    --set data.max_history=8 --set model.name=$kind --set model.hidden_size=32 --set model.num_layers=2 \
    --set model.num_heads=2 --set model.intermediate_size=64 --set objective.loss=softmax --set train.epochs=5 \
    --set train.bf16=false --set train.checkpoint_every=1000000 >>"$log" 2>&1
done
step "train image classification"
"$ATTUNE" train --task image-classification --set run_dir="$work/img_run" --set device=cpu \
  --set data.train_images="$work/data/img_train-images" --set data.train_labels="$work/data/img_train-labels" \
  --set data.valid_size=40 --set augment.crop_padding=0 --set model.patch_size=2 --set model.hidden_size=32 \
  --set model.num_layers=2 --set model.num_heads=2 --set model.mlp_size=64 --set model.position_bias=alibi \
  --set train.epochs=3 --set train.batch_size=32 --set train.lr=3e-3 --set train.bf16=false \
  --set train.checkpoint_every=1000000 >>"$log" 2>&1
python3 -c 'import json,sys; print("translation valid BLEU", json.load(open(sys.argv[1]))["valid"]["bleu"])' \
  "$work/mt_run/results.json" | tee -a "$log"

# Only what `attune export` reads travels: config.json, model.safetensors, tokenizer/ (and the
# small bookkeeping files); checkpoints with optimizer state stay behind.
for t in cls:classification mt:translation img:image; do
  src="$work/${t%%:*}_run" dst="$fx/${t#*:}/run"
  mkdir -p "$dst"
  for f in config.json model.safetensors labels.json results.json; do
    [[ -f "$src/$f" ]] && cp "$src/$f" "$dst/"
  done
  if [[ -d "$src/tokenizer" ]]; then cp -r "$src/tokenizer" "$dst/tokenizer"; fi  # image runs have none
done

mkdir -p "$fx/mlm/run"
for f in config.json model.safetensors results.json; do cp "$work/mlm_run/$f" "$fx/mlm/run/"; done
cp -r "$work/mlm_run/tokenizer" "$fx/mlm/run/tokenizer"
for kind in sasrec bert4rec; do
  mkdir -p "$fx/recommendation/$kind/run"
  for f in config.json model.safetensors results.json catalog.json sequences.json; do
    cp "$work/rec_$kind/$f" "$fx/recommendation/$kind/run/"
  done
done

step "export bundles"
"$ATTUNE" export --run "$fx/classification/run" --out "$fx/classification/bundle" | tee -a "$log"
"$ATTUNE" export --run "$fx/translation/run" --out "$fx/translation/bundle" | tee -a "$log"
"$ATTUNE" export --run "$fx/mlm/run" --out "$fx/mlm/bundle" | tee -a "$log"
for kind in sasrec bert4rec; do
  "$ATTUNE" export --run "$fx/recommendation/$kind/run" --out "$fx/recommendation/$kind/bundle" | tee -a "$log"
done
"$ATTUNE" export --run "$fx/image/run" --out "$fx/image/bundle" | tee -a "$log"

step "expected outputs"
c="$fx/classification"
max_length=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["max_length"])' "$c/bundle/manifest.json")
"$ATTUNE" tokenize --tokenizer "$c/bundle" --special --max-length "$max_length" --input "$c/inputs.txt" >"$c/input_ids.jsonl"
"$ATTUNE" predict --bundle "$c/bundle" --device cpu --input "$c/inputs.txt" --output "$c/expected_predict.jsonl"
t="$fx/translation"
"$ATTUNE" tokenize --tokenizer "$t/bundle" --input "$t/sources.txt" >"$t/source_ids.jsonl"
"$ATTUNE" translate --run "$t/run" --beam 1 --device cpu --input "$t/sources.txt" --output "$t/expected_greedy.txt"
echo '{"max_length_ratio": 0.5, "max_length_extra": 1}' >"$t/short_decode.json"
"$ATTUNE" translate --run "$t/run" --beam 1 --device cpu --set decode.max_length_ratio=0.5 \
  --set decode.max_length_extra=1 --input "$t/sources.txt" --output "$t/expected_greedy_short.txt"
"$ATTUNE" predict --bundle "$t/bundle" --device cpu --input "$t/sources.txt" --output "$t/expected_predict.txt"
"$ATTUNE" predict --bundle "$fx/mlm/bundle" --device cpu --input "$fx/mlm/inputs.txt" \
  --output "$fx/mlm/expected_predict.jsonl"
[[ $(wc -l <"$fx/mlm/expected_predict.jsonl") -eq $(wc -l <"$fx/mlm/inputs.txt") ]] || { echo "mlm: line count" >&2; exit 1; }
r="$fx/recommendation"
for kind in sasrec bert4rec; do
  "$ATTUNE" predict --bundle "$r/$kind/bundle" --device cpu --input "$r/requests.jsonl" \
    --output "$r/$kind/expected_predict.jsonl"
  [[ $(wc -l <"$r/$kind/expected_predict.jsonl") -eq $(wc -l <"$r/requests.jsonl") ]] || { echo "$kind: line count" >&2; exit 1; }
done
i="$fx/image"
"$ATTUNE" predict --bundle "$i/bundle" --device cpu --input "$i/test-images" --output "$i/expected_predict.jsonl"
[[ $(wc -l <"$i/expected_predict.jsonl") -eq 40 ]] || { echo "$i/expected_predict.jsonl: not 40 lines" >&2; exit 1; }
for f in "$c/inputs.txt" "$c/input_ids.jsonl" "$c/expected_predict.jsonl"; do
  [[ $(wc -l <"$f") -eq $(wc -l <"$c/inputs.txt") ]] || { echo "$f: line count differs from inputs.txt" >&2; exit 1; }
done
for f in "$t/source_ids.jsonl" "$t/expected_greedy.txt" "$t/expected_greedy_short.txt" "$t/expected_predict.txt"; do
  [[ $(wc -l <"$f") -eq $(wc -l <"$t/sources.txt") ]] || { echo "$f: line count differs from sources.txt" >&2; exit 1; }
done
python3 - "$fx" <<'PY'
import json, sys
fx = sys.argv[1]
m = {task: json.load(open(f"{fx}/{task}/bundle/manifest.json")) for task in ("classification", "translation")}
json.dump({"made_by": "tools/parity/make_bundle_fixtures.sh",
           "attune_version": m["classification"]["attune_version"],
           "torch_version": m["classification"]["torch_version"]},
          open(f"{fx}/versions.json", "w"), indent=1)
PY
head -3 "$t/expected_greedy.txt" | tee -a "$log"
head -2 "$c/expected_predict.jsonl" | tee -a "$log"
head -2 "$i/expected_predict.jsonl" | tee -a "$log"

tar czf "$out/fixtures.tar.gz" -C "$work" fixtures
rm -rf "$work"
step "wrote $out/fixtures.tar.gz ($(du -k "$out/fixtures.tar.gz" | cut -f1) KB)"
