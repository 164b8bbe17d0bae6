#!/usr/bin/env bash
# One device call's work on the GPU machine, by stage, each output also saved in $OUT.
# Builds build-cuda first when the machine has none (a warm machine keeps it between calls).
#
#   tools/gpu/session.sh check            build, unit tests, the three parity scripts
#   tools/gpu/session.sh pretrain [DS..]  masked-LM pretraining + fine-tuning on DS (pretrain_bench.sh)
#   tools/gpu/session.sh peft DS..        the PEFT sweep on more data sets, from the same pretrained run
#   tools/gpu/session.sh lrcheck DS..     pretraining again, its encoder back in bf16, higher full-tuning rates
#   tools/gpu/session.sh resume           continues a pretraining that STOP_AFTER cut (longer than one call)
#   tools/gpu/session.sh seeds DS..       scratch vs pretrained full fine-tuning, several seeds; encoder back in bf16
#   tools/gpu/session.sh mt-parity        Marian and sacreBLEU parity scripts
#   tools/gpu/session.sh mt attune|peer   translation benchmark, one system a call (translation_bench.sh)
#   tools/gpu/session.sh recommend        recommendation benchmark (recommend_bench.sh), SEEDS [1]
#   tools/gpu/session.sh vit              Fashion-MNIST ViT variants against timm (vit_bench.sh); ROWS, SEEDS,
#                                         EPOCHS, PARALLEL [4]; then an explain PNG of the plain run
#   tools/gpu/session.sh text-enhance     SpamAssassin with and without each enhancement (text_enhance_bench.sh)
#   tools/gpu/session.sh speed            attune against transformers + PEFT on the BERT-base shape (speed_bench.sh;
#                                         SEQS, STEPS, REPEATS, ROUNDS, ABLATIONS)
#   tools/gpu/session.sh profile          kernel-time breakdowns, attune against HF eager and torch.compile
#                                         (profile_bench.sh; SHAPES, INFER_SHAPES, STEPS; SPEED=1 adds speed_bench.sh)
#   tools/gpu/session.sh speed-part N     a third of speed_bench.sh's issue-29 shapes (N = 1: full 128x128, 32x512,
#                                         inference at 128; 2: full 32x128, 64x256, inference at 512; 3: LoRA), fits
#                                         one call after the build
#   tools/gpu/session.sh graphs           CUDA graph tests, graphs against eager steps in attune bench and a
#                                         short ViT run (EPOCHS [2])
#   tools/gpu/session.sh serve            attune serve's tests in the CUDA build, and a SpamAssassin bundle
#                                         served on the GPU against predict --bundle, with a load run (STEPS [300])
#   tools/gpu/session.sh cpu-infer        CPU inference: bundle modules fp32 against int8, bf16 and ONNX Runtime
#                                         (cpu_infer_bench.sh; PRESETS, ROUNDS, INT8_ENGINES), int8 and bf16
#                                         accuracy on SpamAssassin, batch-1 probe (cpu_bf16_probe.py; PROBE=0 skips)
#   tools/gpu/session.sh zoo              HF architecture fixtures and parity, tokenizer.json parity (issue 28)
#   tools/gpu/session.sh zoo-base         the architectures' parity both ways at their base sizes (SIZE=base)
#   tools/gpu/session.sh mt-serve         translation serving, continuous against static batching (STEPS,
#                                         TRAIN_ONLY)
#   tools/gpu/session.sh bundles          torch.jit.load of LibTorch 1.13 bundles in Python, and 2.x bundles
#                                         back to the CPU machine ($OUT/reverse_bundles.tar.gz; bundle_parity.py)
#
# Data travels in .data/ (carried): spam_assassin/, debian_sections/ and corpus.tar.xz
# (train.txt and valid.txt of tools/data/fetch_corpus.sh), en-de/ ({train,valid,test}.tsv
# of tools/data/fetch_en_de.sh and the joint sentencepiece.model of translation_vocab.sh),
# movielens/ratings.csv (tools/data/fetch_movielens.sh), fashion-mnist/*.gz (the four IDX
# files of tools/data/fetch_fashion_mnist.sh, gzipped to fit the carry),
# bundle_fixtures/fixtures.tar.gz (tools/parity/make_bundle_fixtures.sh on the CPU machine).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${OUT:-/tmp/attune-out}"; mkdir -p "$out"
bench=/tmp/attune-bench
stage="$1"; shift
export PYTHONUNBUFFERED=1
timed() {  # name command...: runs it, tees its output to $out/name.txt, records the time
  local name="$1"; shift
  local t0; t0=$(date +%s)
  local rc=0
  "$@" 2>&1 | tee "$out/$name.txt" || rc=$?
  echo "$name rc=$rc $(( $(date +%s) - t0 ))s" | tee -a "$out/times.txt"
}
if [[ ! -x build-cuda/attune ]]; then
  timed build_test bash tools/gpu/build_and_test.sh
fi
export LD_LIBRARY_PATH="/tmp/attune-deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
pretrain() {  # SECONDS [DATASET...]: a new pretrained run in $bench, fine-tuned on the data sets
  local seconds="$1"; shift
  rm -rf "$bench/finetune"  # its rows belong to the previous pretrained run
  mkdir -p /tmp/attune-corpus
  [[ -f /tmp/attune-corpus/train.txt ]] || tar xJf .data/corpus.tar.xz -C /tmp/attune-corpus
  timed pretrain_bench env DATASETS="$*" ATTUNE=build-cuda/attune DEVICE=cuda \
    PRETRAIN_SECONDS="$seconds" tools/bench/pretrain_bench.sh .data /tmp/attune-corpus "$bench"
}

encoder_back() {  # the pretrained encoder in bf16 (15 MB: small enough to come back in $OUT
                  # and be carried to a later session)
  python3 - "$bench/pretrain" "$out" <<'PY'
import shutil, sys, torch
from safetensors.torch import load_file, save_file
run, out = sys.argv[1:3]
tensors = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in load_file(f"{run}/model.safetensors").items()}
save_file(tensors, f"{out}/pretrain_bf16.safetensors", metadata={"format": "pt"})
shutil.copy(f"{run}/config.json", f"{out}/pretrain_config.json")
shutil.copy(f"{run}/tokenizer/vocab.txt", f"{out}/pretrain_vocab.txt")
shutil.copy(f"{run}/tokenizer/tokenizer.json", f"{out}/pretrain_tokenizer.json")
PY
}

case "$stage" in
  check)
    [[ -f "$out/build_test.txt" ]] || timed ctest bash -c 'cd build-cuda && ctest --output-on-failure'
    timed hf_bert_parity python3 tools/parity/hf_bert_parity.py build-cuda /tmp/attune-hfp
    timed sentencepiece_parity python3 tools/parity/sentencepiece_parity.py build-cuda .data/spam_assassin/train.csv /tmp/attune-spp
    timed peft_parity python3 tools/parity/peft_parity.py build-cuda/attune /tmp/attune-pp .data/spam_assassin
    ;;
  pretrain)
    pretrain "${PRETRAIN_SECONDS:-180}" "$@"
    cp "$bench"/pretrain.md "$bench"/pretrain.log "$out"/ 2>/dev/null || true
    ;;
  peft)
    [[ -f "$bench/pretrain/config.json" ]] || { echo "no pretrained run in $bench (the machine went cold)"; exit 1; }
    timed peft_bench env ATTUNE=build-cuda/attune DEVICE=cuda BASE="$bench/pretrain" SCRATCH_LORA=1 \
      tools/bench/peft_bench.sh .data "$bench/finetune" "$@"
    python3 tools/bench/peft_table.py "$bench/finetune/results.jsonl" --pretraining >"$out/pretraining_table.md"
    ;;
  lrcheck)
    # Pretrains again, returns the encoder in bf16, and tries higher full fine-tuning rates on it.
    pretrain "${PRETRAIN_SECONDS:-280}"
    encoder_back
    timed lr env METHODS=full LR_FULL="${LR_FULL:-6e-4 1e-3}" ATTUNE=build-cuda/attune DEVICE=cuda \
      BASE="$bench/pretrain" tools/bench/peft_bench.sh .data "$bench/lr" "$@"
    exit 0
    ;;
  resume)
    timed pretrain_resume env DATASETS="" RESUME=1 ATTUNE=build-cuda/attune DEVICE=cuda \
      tools/bench/pretrain_bench.sh .data /tmp/attune-corpus "$bench"
    cp "$bench"/pretrain.md "$bench"/pretrain.log "$out"/ 2>/dev/null || true
    exit 0
    ;;
  seeds)
    [[ -f "$bench/pretrain/results.json" ]] || { echo "no finished pretraining in $bench"; exit 1; }
    encoder_back
    timed seeds env METHODS="${METHODS:-scratch full}" SEEDS="${SEEDS:-1 2 3}" LR_FULL="${LR_FULL:-5e-4 1e-3}" \
      ATTUNE=build-cuda/attune DEVICE=cuda BASE="$bench/pretrain" tools/bench/peft_bench.sh .data "$bench/seeds" "$@"
    python3 tools/bench/peft_table.py "$bench/seeds/results.jsonl" --pretraining >"$out/seeds_table.md"
    python3 tools/bench/peft_table.py "$bench/seeds/results.jsonl" --all >"$out/seeds_all.md"
    cp "$bench/seeds/results.jsonl" "$out/seeds_results.jsonl"
    exit 0
    ;;
  mt-parity)
    timed marian_parity python3 tools/parity/marian_parity.py build-cuda /tmp/attune-mp
    timed sacrebleu_parity python3 tools/parity/sacrebleu_parity.py build-cuda /tmp/attune-sbp
    exit 0
    ;;
  mt)
    timed "mt_$1" env ATTUNE=build-cuda/attune DEVICE=cuda tools/bench/translation_bench.sh .data/en-de \
      .data/en-de/sentencepiece.model /tmp/attune-mt "$1"
    cp /tmp/attune-mt/results.jsonl "$out/mt_results.jsonl"
    for f in attune_train.log peer.log attune_eval.json; do [[ -f /tmp/attune-mt/$f ]] && cp /tmp/attune-mt/$f "$out/"; done
    exit 0
    ;;
  vit)
    mkdir -p /tmp/fashion
    for f in .data/fashion-mnist/*.gz; do
      [[ -f /tmp/fashion/$(basename "$f" .gz) ]] || gunzip -c "$f" > "/tmp/fashion/$(basename "$f" .gz)"
    done
    timed vit_bench env ATTUNE=build-cuda/attune DEVICE=cuda PARALLEL="${PARALLEL:-4}" SEEDS="${SEEDS:-1}" \
      EPOCHS="${EPOCHS:-30}" tools/bench/vit_bench.sh /tmp/fashion "$bench/vit"
    cp "$bench/vit/results.jsonl" "$out/vit_results.jsonl"; cp "$bench/vit/results.md" "$out/vit_results.md"
    for row in ${ROWS:-plain}; do
      if [[ -f "$bench/vit/$row-s1/model.safetensors" ]]; then
        build-cuda/attune explain --run "$bench/vit/$row-s1" --input /tmp/fashion/t10k-images-idx3-ubyte:0,1,2,3,4,5,6,7 \
          --png "$out/explain-$row.png" --scale 6 -o "$out/explain-$row.json" || true
      fi
    done
    exit 0
    ;;
  text-enhance)
    timed text_enhance_bench env ATTUNE=build-cuda/attune DEVICE=cuda PARALLEL="${PARALLEL:-4}" SEEDS="${SEEDS:-1 2 3}" \
      tools/bench/text_enhance_bench.sh .data/spam_assassin "$bench/text_enhance"
    cp "$bench/text_enhance/results.jsonl" "$out/text_enhance_results.jsonl"
    cp "$bench/text_enhance/results.md" "$out/text_enhance_results.md"
    exit 0
    ;;
  recommend)
    timed recommend_bench env ATTUNE=build-cuda/attune DEVICE=cuda SEEDS="${SEEDS:-1}" \
      tools/bench/recommend_bench.sh .data/movielens/ratings.csv "$bench/recommend"
    cp "$bench/recommend/results.jsonl" "$bench/recommend/results.md" "$out/"
    exit 0
    ;;
  speed)
    timed speed_bench env ATTUNE=build-cuda/attune DEVICE=cuda tools/bench/speed_bench.sh "$bench/speed"
    cp "$bench/speed/results.jsonl" "$out/speed_results.jsonl"; cp "$bench/speed/results.md" "$out/speed_results.md"
    exit 0
    ;;
  speed-part)
    # Issue 29's whole benchmark does not fit one 10-minute call (each torch.compile peer
    # run compiles for about a minute): PART 1, 2 or 3 runs a third of it, writing the
    # records straight to $OUT so that a call cut short keeps what it finished. The
    # tables: speed_table.py over the parts' records concatenated.
    case "${1:-}" in
      1) part=(SHAPES="128x128 32x512" METHODS=full INFER_SEQS=128) ;;
      2) part=(SHAPES="32x128 64x256" METHODS=full INFER_SEQS=512) ;;
      3) part=(SHAPES="32x128 128x128 32x512" METHODS=lora INFER_SEQS=" ") ;;
      *) echo "speed-part: PART is 1, 2 or 3" >&2; exit 2 ;;
    esac
    timed "speed_part$1" env "${part[@]}" ABLATIONS=0 REPEATS="${REPEATS:-3}" ATTUNE=build-cuda/attune DEVICE=cuda \
      tools/bench/speed_bench.sh "$out/part$1"
    exit 0
    ;;
  graphs)
    cmake --build build-cuda -j"$(nproc)" | tail -n 3
    timed graph_tests bash -c 'build-cuda/test_tasks "[cuda-graph],[optimizer],[image],[classification]" &&
      build-cuda/test_models "[masks]"'
    lora=(--set peft.method=lora --set peft.r=8 --set peft.lora_alpha=8 --set 'peft.target_modules=["query","value"]')
    one_bench() {
      build-cuda/attune bench --config tools/bench/speed_bert_base.json --seq-len 128 --steps 20 --repeats 3 "$@" |
        python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r["method"], r["ablation"] or "graphs",
          "captured", r["graphs_captured"], "ms", round(r["step_ms"]["median"], 2), "tok/s", round(r["tokens_per_s"]),
          "MiB", round(r["peak_allocated_mib"]), round(r["peak_reserved_mib"]), "loss", round(r["final_loss"], 3))'
    }
    for method in full lora; do
      extra=(); [[ $method == lora ]] && extra=("${lora[@]}")
      one_bench "${extra[@]}" || true
      one_bench "${extra[@]}" --no-cuda-graphs || true
    done 2>&1 | tee "$out/graph_bench.txt"
    mkdir -p /tmp/fashion
    for f in .data/fashion-mnist/*.gz; do
      [[ -f /tmp/fashion/$(basename "$f" .gz) ]] || gunzip -c "$f" > "/tmp/fashion/$(basename "$f" .gz)"
    done
    for graphs in true false; do
      timed "graph_vit_$graphs" env ROWS=plain EPOCHS="${EPOCHS:-2}" CUDA_GRAPHS=$graphs ATTUNE=build-cuda/attune \
        DEVICE=cuda tools/bench/vit_bench.sh /tmp/fashion "$bench/vit-graphs-$graphs"
    done
    exit 0
    ;;
  serve)
    # attune serve in the CUDA build: its tests, then a SpamAssassin bundle served on the GPU.
    timed serve_tests build-cuda/test_cli "[serve]"
    timed serve_check env STEPS="${STEPS:-300}" tools/gpu/serve_check.sh build-cuda .data/spam_assassin /tmp/attune-serve
    exit 0
    ;;
  profile)
    # Issue 29: the fused paths' GPU tests; kernel-time breakdowns of attune, HF eager and
    # HF + torch.compile (profile_bench.sh) at SHAPES [128x128]; the main job's accuracy
    # with and without the fused paths (ACCURACY [1]); breakdowns at LATER_SHAPES [32x512]
    # and LATER_INFER_SHAPES [32x512]; then speed_bench.sh when SPEED=1.
    timed fused_tests bash -c 'build-cuda/test_models "[encoder_layer],[attention]" && build-cuda/test_tasks "[cuda-graph]"'
    # Logs go to one file so that at most 8 files come back: the tables are in profile.md.
    log="$out/profile_log.txt"
    env ATTUNE=build-cuda/attune TRACES="$bench/traces" SHAPES="${SHAPES:-128x128}" INFER_SHAPES="${INFER_SHAPES:-}" \
      tools/bench/profile_bench.sh "$out" > "$log" 2>&1 || echo "profile rc=$?" >> "$out/times.txt"
    if [[ "${ACCURACY:-1}" == 1 ]]; then
      # The main job with the default fused paths, then with them off (same seed).
      for unfuse in "" qkv,bf16_stream; do
        echo "== ATTUNE_UNFUSE=$unfuse" >> "$out/accuracy.txt"
        ATTUNE_UNFUSE="$unfuse" build-cuda/attune train --config tools/configs/spam_assassin.json --overwrite \
          --set run_dir="/tmp/attune-acc-${unfuse:-default}" --set device=cuda --set data.train=.data/spam_assassin/train.csv \
          --set data.valid=.data/spam_assassin/valid.csv --set data.test=.data/spam_assassin/test.csv 2>&1 |
          tail -n 4 >> "$out/accuracy.txt" || true
      done
    fi
    if [[ -n "${LATER_SHAPES-32x512}" ]]; then
      env ATTUNE=build-cuda/attune TRACES="$bench/traces" SHAPES="${LATER_SHAPES-32x512}" \
        INFER_SHAPES="${LATER_INFER_SHAPES-32x512}" APPEND=1 CODE=0 tools/bench/profile_bench.sh "$out" >> "$log" 2>&1 ||
        echo "profile (later shapes) rc=$?" >> "$out/times.txt"
    fi
    if [[ "${SPEED:-0}" == 1 ]]; then
      timed speed_bench env ATTUNE=build-cuda/attune DEVICE=cuda tools/bench/speed_bench.sh "$bench/speed"
      cp "$bench/speed/results.jsonl" "$out/speed_results.jsonl"; cp "$bench/speed/results.md" "$out/speed_results.md"
    fi
    exit 0
    ;;
  cpu-infer)
    # CPU inference of the bundle modules, float32 against int8, and ONNX Runtime on the
    # same shapes; then int8's accuracy on SpamAssassin's test split (a serve-stage run, or
    # a short one trained here).
    timed cpu_infer env ATTUNE=build-cuda/attune PRESETS="${PRESETS:-mini base}" ROUNDS="${ROUNDS:-2}" INT8_ENGINES="${INT8_ENGINES:-default}" \
      tools/bench/cpu_infer_bench.sh /tmp/attune-cpu-infer
    cp /tmp/attune-cpu-infer/results.jsonl "$out/cpu_infer_results.jsonl"
    cp /tmp/attune-cpu-infer/results.md "$out/cpu_infer_results.md"
    run=/tmp/attune-serve/run
    if [[ ! -f $run/results.json ]]; then
      run=/tmp/attune-int8-run
      build-cuda/attune train --config tools/configs/spam_assassin.json --overwrite --set run_dir=$run --set device=cuda \
        --set data.train=.data/spam_assassin/train.csv --set data.valid=.data/spam_assassin/valid.csv \
        --set data.test=.data/spam_assassin/test.csv 2>&1 | tail -n 3
    fi
    for engine in ${INT8_ENGINES:-default}; do
      [[ "$engine" == default ]] && engine=""
      timed "int8_accuracy${engine:+_$engine}" env ATTUNE=build-cuda/attune ATTUNE_INT8_ENGINE="$engine" \
        tools/bench/precision_bench.sh $run .data/spam_assassin/test.csv "/tmp/attune-int8$engine"
    done
    timed bf16_accuracy env ATTUNE=build-cuda/attune PRECISION=bf16 \
      tools/bench/precision_bench.sh $run .data/spam_assassin/test.csv /tmp/attune-bf16
    # Where batch-1 latency goes: the run's float32 bundle in float32 and bfloat16, frozen or
    # not, at several thread counts, with a profile.
    [[ "${PROBE:-1}" == 1 ]] && timed bf16_probe python3 tools/bench/cpu_bf16_probe.py /tmp/attune-bf16/fp32
    exit 0
    ;;
  zoo)
    # Issue 28: tiny transformers checkpoints for the CPU tests (back in $OUT), the
    # architectures' parity both ways, and tokenizer.json parity with `tokenizers` on
    # .data/tokcorpus.txt (English and German sentences, SpamAssassin mails).
    timed hf_arch_fixtures python3 tools/parity/make_hf_arch_fixtures.py /tmp/hfarch
    cp /tmp/hfarch/hf_arch_fixtures.tar.gz "$out/"
    timed hf_arch_parity python3 tools/parity/hf_arch_parity.py build-cuda /tmp/hfap
    timed tokenizer_json_parity python3 tools/parity/tokenizer_json_parity.py build-cuda/attune_tokenizer_json_dump \
      .data/tokcorpus.txt /tmp/tokjson
    exit 0
    ;;
  zoo-base)
    # Issue 28 at the published base sizes: hf_arch_parity.py's both ways (SIZE=base), for
    # RoBERTa, XLM-R, DistilBERT, ELECTRA base and small, ModernBERT-base and DeBERTa-v3-base;
    # ViT-Base through convert, predict, eval and --to-hf (vit_base_check.py). ONLY=vit skips the first.
    [[ "${ONLY:-}" == vit ]] || SIZE=base timed hf_arch_parity_base python3 tools/parity/hf_arch_parity.py build-cuda /tmp/hfap-base
    timed vit_base_check python3 tools/parity/vit_base_check.py build-cuda /tmp/vit-base
    exit 0
    ;;
  mt-serve)
    # A transformer-small en-de run (STEPS [1500]) exported, then served with continuous
    # and with static batching (translation_serve_bench.sh); TRAIN_ONLY=1 stops after the
    # export, so a second call on the warm machine benchmarks.
    mt=/tmp/attune-mt-serve
    if [[ ! -f $mt/bundle/manifest.json ]]; then
      steps="${STEPS:-1500}"
      timed mt_serve_train build-cuda/attune train --task translation --overwrite --set run_dir=$mt/run \
        --set device=cuda --set data.train=.data/en-de/train.tsv --set data.valid=.data/en-de/valid.tsv \
        --set tokenizer.vocab_size=8000 --set model.preset=transformer-small --set model.max_positions=256 \
        --set train.max_steps="$steps" --set train.epochs=1000 --set train.max_tokens=8192 --set train.lr=7e-4 \
        --set train.warmup_steps=1000 --set train.eval_every="$steps" --set train.checkpoint_every=0 \
        --set train.log_every=250 --set train.eval_max_sentences=200 --set train.selection_metric=loss
      build-cuda/attune export --run $mt/run --out $mt/bundle --overwrite | tee "$out/mt_export.json"
    fi
    [[ "${TRAIN_ONLY:-0}" == 1 ]] && exit 0
    cut -f1 .data/en-de/test.tsv > $mt/sources.txt
    timed mt_serve_bench env ATTUNE=build-cuda/attune LOAD=build-cuda/attune_serve_load DEVICE=cuda \
      tools/bench/translation_serve_bench.sh $mt/bundle $mt/sources.txt $mt/bench
    cp $mt/bench/results.jsonl "$out/mt_serve_results.jsonl"; cp $mt/bench/results.md "$out/mt_serve_results.md"
    exit 0
    ;;
  bundles)
    timed bundle_parity python3 tools/parity/bundle_parity.py build-cuda .data/bundle_fixtures/fixtures.tar.gz "$out"
    exit 0
    ;;
  *) echo "unknown stage $stage" >&2; exit 2 ;;
esac
for f in results.jsonl results.md results_all.md; do
  [[ -f "$bench/finetune/$f" ]] && cp "$bench/finetune/$f" "$out/finetune_$f"
done
true
