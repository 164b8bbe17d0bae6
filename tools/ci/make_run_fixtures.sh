#!/usr/bin/env bash
# Writes one tiny run directory per task with a given attune binary, plus the outputs
# that binary gives for eval and predict on it: the fixtures that tests/cli/test_old_runs.cpp
# loads with today's binary, so that run directories written by an older attune keep
# loading and keep giving the same numbers.
#
#   tools/ci/make_run_fixtures.sh ATTUNE OUT_DIR
#
# Each OUT_DIR/<name>/ holds run/ (the run directory, checkpoints dropped), its data files,
# and fixture.json: the eval and predict command lines ({dir} = that folder; written_at =
# OUT_DIR, which paths in the outputs start with) with their expected outputs in
# expected_eval.json and expected_predict.txt.
set -euo pipefail
attune="$(realpath "$1")"
out="$2"
rm -rf "$out" && mkdir -p "$out"
out="$(realpath "$out")"

python3 - "$out" <<'PY'
import os, random, struct, sys
out = sys.argv[1]
rng = random.Random(7)
topics = {"food": ["bread", "cheese", "soup", "apple", "bake"], "sport": ["goal", "match", "team", "ball", "score"],
          "tech": ["laptop", "code", "server", "chip", "compiler"]}
filler = ["the", "a", "today", "we", "liked", "some", "new", "old"]
def sentence(label):
    words = [rng.choice(topics[label]) for _ in range(2)] + [rng.choice(filler) for _ in range(3)]
    rng.shuffle(words)
    return " ".join(words)
for name in ("text", "text_lora"):
    os.makedirs(f"{out}/{name}", exist_ok=True)
    for split, n in (("train", 90), ("test", 24)):
        with open(f"{out}/{name}/{split}.csv", "w") as f:
            f.write("text,label\n")
            for _ in range(n):
                label = rng.choice(sorted(topics))
                f.write(f"{sentence(label)},{label}\n")
    with open(f"{out}/{name}/input.txt", "w") as f:
        f.write("we liked the soup and bread\nthe team match today\nnew laptop code\n")

os.makedirs(f"{out}/mlm", exist_ok=True)
animals = ["cat", "dog", "horse", "parrot"]
verbs = {"cat": "purrs", "dog": "barks", "horse": "gallops", "parrot": "talks"}
for split, n in (("train", 120), ("valid", 20)):
    with open(f"{out}/mlm/{split}.txt", "w") as f:
        for _ in range(n):
            a = rng.choice(animals)
            f.write(f"the {rng.choice(['big', 'small', 'old'])} {a} {verbs[a]} in the {rng.choice(['garden', 'kitchen'])}\n")
with open(f"{out}/mlm/input.txt", "w") as f:
    f.write("the big dog [MASK] in the garden\n")

os.makedirs(f"{out}/translation", exist_ok=True)
en = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
de = ["null", "eins", "zwei", "drei", "vier", "fuenf", "sechs", "sieben", "acht", "neun"]
for split, n in (("train", 200), ("test", 12)):
    with open(f"{out}/translation/{split}.tsv", "w") as f:
        for _ in range(n):
            d = [rng.randrange(10) for _ in range(rng.randint(3, 6))]
            f.write(" ".join(en[i] for i in d) + "\t" + " ".join(de[i] for i in d) + "\n")
with open(f"{out}/translation/input.txt", "w") as f:
    f.write("one two three\nnine eight\n")

os.makedirs(f"{out}/image", exist_ok=True)
def idx(path, dims, values):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(values))
for split, n in (("train", 48), ("test", 16)):
    labels = [i % 4 for i in range(n)]
    pixels = [min(255, 40 * labels[i] + rng.randrange(80)) for i in range(n) for _ in range(64)]
    idx(f"{out}/image/{split}-images", [n, 8, 8], pixels)
    idx(f"{out}/image/{split}-labels", [n], labels)

os.makedirs(f"{out}/recommendation", exist_ok=True)
with open(f"{out}/recommendation/log.csv", "w") as f:
    f.write("user,item,t\n")
    for u in range(16):
        for t in range(7):
            f.write(f"u{u},m{(u + t * (1 + u % 3)) % 11},{t}\n")
with open(f"{out}/recommendation/input.jsonl", "w") as f:
    f.write('{"user": "u3"}\n{"history": ["m1", "m2"]}\n')
PY

tiny_bert=(--set device=cpu --set seed=3 --set tokenizer.vocab_size=100 --set model.hidden_size=16
           --set model.num_layers=1 --set model.num_heads=2 --set model.intermediate_size=32)
train() {  # NAME TASK ARGS...: trains NAME/run, quietly unless it fails
  local name="$1" task="$2"; shift 2
  if ! "$attune" train --task "$task" --set run_dir="$out/$name/run" "$@" >"$out/$name/train.log" 2>&1; then
    cat "$out/$name/train.log" >&2; exit 1
  fi
}
train text text-classification "${tiny_bert[@]}" --set data.train="$out/text/train.csv" \
  --set data.max_length=16 --set train.epochs=3 --set train.lr=5e-3 --set train.batch_size=16
train text_lora text-classification "${tiny_bert[@]}" --set data.train="$out/text_lora/train.csv" \
  --set data.max_length=16 --set train.epochs=3 --set train.lr=5e-3 --set train.batch_size=16 \
  --set peft.method=lora --set peft.r=4 --set peft.lora_alpha=8 --set 'peft.target_modules=["query","value"]'
train mlm mlm "${tiny_bert[@]}" --set model.preset=null --set data.train="$out/mlm/train.txt" \
  --set data.valid="$out/mlm/valid.txt" --set mlm.max_length=16 --set train.epochs=1 --set train.batch_size=16
train translation translation --set device=cpu --set seed=3 --set data.train="$out/translation/train.tsv" \
  --set data.valid="$out/translation/test.tsv" --set tokenizer.vocab_size=100 --set model.preset=transformer-tiny --set model.d_model=16 \
  --set model.encoder_layers=1 --set model.decoder_layers=1 --set model.ffn_dim=32 --set model.num_heads=2 \
  --set train.max_steps=150 --set train.lr=3e-3 --set train.max_tokens=400 --set train.eval_max_sentences=4
train image image-classification --set device=cpu --set seed=3 \
  --set data.train_images="$out/image/train-images" --set data.train_labels="$out/image/train-labels" \
  --set data.valid_size=8 --set model.patch_size=4 --set model.hidden_size=8 --set model.num_layers=1 \
  --set model.num_heads=2 --set model.mlp_size=16 --set train.epochs=1
train recommendation recommendation --set device=cpu --set seed=3 \
  --set data.interactions="$out/recommendation/log.csv" --set data.time_column=t --set model.hidden_size=8 \
  --set model.num_layers=1 --set model.num_heads=2 --set model.intermediate_size=16 --set data.max_history=8 --set train.epochs=2

# The eval and predict command lines of each fixture; {dir} stands for the fixture's folder.
manifest() {  # NAME EVAL_ARGS_JSON PREDICT_ARGS_JSON [STDIN_FILE]
  printf '{"written_at": "%s", "eval": %s, "predict": %s, "stdin": "%s"}\n' "$out" "$2" "$3" "${4:-}" \
    >"$out/$1/fixture.json"
}
manifest text '["--data", "{dir}/test.csv"]' '["predict", "--input", "{dir}/input.txt"]'
manifest text_lora '["--data", "{dir}/test.csv"]' '["predict", "--input", "{dir}/input.txt"]'
manifest mlm '["--data", "{dir}/valid.txt"]' '["predict", "--input", "{dir}/input.txt"]'
manifest translation '["--data", "{dir}/test.tsv"]' '["translate", "--input", "{dir}/input.txt", "--beam", "2"]'
manifest image '["--data", "{dir}/test-images,{dir}/test-labels"]' \
  '["predict", "--input", "{dir}/test-images"]'
manifest recommendation '["--data", "{dir}/log.csv"]' '["recommend", "--top-k", "3"]' input.jsonl

for name in text text_lora mlm translation image recommendation; do
  d="$out/$name"
  rm -rf "$d"/run/checkpoint* "$d/train.log" "$d"/train.* "$d"/train-*
  args=()
  while IFS= read -r a; do args+=("${a//\{dir\}/$d}"); done < <(python3 -c 'import json,sys
for a in json.load(open(sys.argv[1]))["eval"]: print(a)' "$d/fixture.json")
  "$attune" eval --run "$d/run" "${args[@]}" >"$d/expected_eval.json"
  args=()
  while IFS= read -r a; do args+=("${a//\{dir\}/$d}"); done < <(python3 -c 'import json,sys
for a in json.load(open(sys.argv[1]))["predict"]: print(a)' "$d/fixture.json")
  stdin=/dev/null; [[ -f "$d/input.jsonl" ]] && stdin="$d/input.jsonl"
  "$attune" "${args[0]}" --run "$d/run" "${args[@]:1}" <"$stdin" >"$d/expected_predict.txt"
  echo "$name: $(du -sk "$d" | cut -f1) KiB"
done
