"""Bundle parity across LibTorch versions: Python's torch.jit.load (torch 2.x on the GPU
machine) loads the bundles `attune export` wrote on the CPU machine (LibTorch 1.13) and
gives the outputs attune gave there; and the reverse: bundles exported by the GPU
machine's attune (LibTorch 2.x) go back to the CPU machine to be checked there.

The three commands:
  1. CPU machine (LibTorch 1.13): three tiny runs, their bundles, inputs and the outputs of 1.13
       ATTUNE=build/attune tools/parity/make_bundle_fixtures.sh .data/bundle_fixtures
  2. GPU machine (torch 2.x, build-cuda/attune against LibTorch 2.x), via tools/gpu/session.sh bundles:
       python3 tools/parity/bundle_parity.py build-cuda .data/bundle_fixtures/fixtures.tar.gz "$OUT"
     writes $OUT/reverse_bundles.tar.gz (bundles exported by 2.x and their outputs) and
     $OUT/bundle_parity.json (every check with its numbers)
  3. CPU machine again: LibTorch 1.13 runs the bundles 2.x wrote
       ATTUNE=build/attune tools/parity/check_reverse_bundles.sh reverse_bundles.tar.gz

Usage: bundle_parity.py BUILD_DIR FIXTURES_TGZ OUT_DIR [--cpu-only] [--work DIR]
BUILD_DIR holds the attune binary. --cpu-only skips the CUDA runs (for a machine without a
GPU; otherwise a missing GPU is a failure).

Forward direction (the 1.13 bundles of the fixtures):
  classification: inputs tokenized by BUILD_DIR/attune tokenize --special --max-length
    (checked equal to the ids 1.13's attune gave, and to transformers' BertTokenizer on
    the bundle's vocab.txt), padded into batches, model.pt's
    forward on CPU (all at once; one at a time; reversed in batches of 7 with explicit
    zero token_type_ids) and on CUDA with TF32 off; softmax against 1.13's
    `predict --bundle` JSONL: same labels, probabilities within 1e-5 (CPU) / 1e-4 (CUDA).
    Also BUILD_DIR/attune predict --bundle (C++ on LibTorch 2.x) on CPU and CUDA.
  translation: sources tokenized by BUILD_DIR/attune tokenize (checked equal to 1.13's
    ids, and to the sentencepiece package's), cut to max_positions - 1, EOS appended;
    greedy search written out below with encode / init_cache / decode_step (as
    tasks/translation/decoding.cpp's greedy_search), detokenized with the sentencepiece
    package; every line must equal 1.13's `attune translate --run --beam 1`, with the run's
    length limit and with a tight one (short_decode.json) that cuts lines (CPU: all at
    once and one at a time; CUDA: all at once, where a line that differs only after a
    near-tie (top-2 log-probabilities within 1e-4) is shown, not failed). Also
    BUILD_DIR/attune predict --bundle (beam search, C++ on 2.x) against 1.13's on the CPU
    (on CUDA reported as INFO).
  mlm: texts split at [MASK], the pieces tokenized by BUILD_DIR/attune tokenize, [CLS] pieces
    [SEP] with mask_id at the masks; model.pt's logits_at one unpadded text at a time and
    forward on all texts padded, on CPU and CUDA: every candidate of 1.13's `predict --bundle`
    within 1e-5 / 1e-4 of the softmax, and no other token above the fifth by more. Also
    BUILD_DIR/attune predict --bundle on CPU and CUDA.
  recommendation (sasrec, bert4rec): requests' histories mapped through items.json, the newest
    max_history left-padded with 0, model.pt's forward on CPU and CUDA: 1.13's top items
    and scores (within 1e-4 / 1e-3), nothing unlisted and unexcluded above them; also
    BUILD_DIR/attune predict --bundle on CPU and CUDA (same items, scores within the same).
  image: the test images' pixels (IDX, uint8) into model.pt's forward as float32 (all at once,
    one at a time) and as uint8 (batches of 7), on CPU and CUDA, against 1.13's `predict
    --bundle` JSONL as for classification; also BUILD_DIR/attune predict --bundle.
Reverse direction (classification, translation and image): BUILD_DIR/attune export of the fixtures'
  three runs; torch.jit.load of
  each in Python with the same checks on the CPU; BUILD_DIR/attune predict --bundle
  --device cpu gives the expected outputs packed with the bundles for step 3.
Prints one PASS/FAIL line per check (INFO/SKIP lines do not count); exits 1 on any FAIL.
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import traceback
import warnings

import torch

# ---------------------------------------------------------------- arguments and reporting

args = [a for a in sys.argv[1:] if not a.startswith("--")]
CPU_ONLY = "--cpu-only" in sys.argv
WORK = None
if "--work" in sys.argv:
    WORK = sys.argv[sys.argv.index("--work") + 1]
    args.remove(WORK)
if len(args) != 3:
    sys.exit(__doc__)
BUILD, FIXTURES, OUT = args
ATTUNE = os.path.abspath(os.path.join(BUILD, "attune"))
OUT = os.path.abspath(OUT)
os.makedirs(OUT, exist_ok=True)

CPU_TOL, CUDA_TOL, TIE = 1e-5, 1e-4, 1e-4
results = []


def report(status, name, detail):
    print(f"{status} {name}: {detail}", flush=True)
    results.append({"status": status, "check": name, "detail": detail})


def check(name, ok, detail):
    report("PASS" if ok else "FAIL", name, detail)
    return ok


def guarded(name, fn, *a):
    """Runs one check group; an exception is that group's FAIL (with its last line), and the
    other groups still run."""
    try:
        return fn(*a)
    except Exception as e:  # noqa: BLE001 (one line per failure, then go on)
        traceback.print_exc()
        lines = [x for x in str(e).strip().splitlines() if x.strip()] or [type(e).__name__]
        report("FAIL", name, f"{type(e).__name__}: {lines[-1].strip()}")
        return None


# ---------------------------------------------------------------- files and the attune binary

def read_lines(path):
    """Lines as attune's std::getline reads them ('\n' only; no splitlines, which also splits
    on U+2028 and other separators)."""
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_json_lines(path):
    return [json.loads(x) for x in read_lines(path)]


def attune(*argv):
    """Runs BUILD_DIR/attune; raises with attune's last stderr line on failure."""
    p = subprocess.run([ATTUNE, *argv], capture_output=True, text=True)
    if p.returncode != 0:
        last = [x for x in p.stderr.splitlines() if x.strip()]
        raise RuntimeError(f"attune {argv[0]} exited {p.returncode}: {last[-1] if last else '(no stderr)'}")
    return p.stdout


def attune_json_lines(*argv):
    return [json.loads(x) for x in attune(*argv).splitlines()]


def manifest_of(bundle):
    with open(os.path.join(bundle, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


def load_module(bundle, device):
    module = torch.jit.load(os.path.join(bundle, "model.pt"), map_location=device)
    module.eval()
    return module


def find_devices():
    """["cpu", "cuda"], or ["cpu"] with --cpu-only; a missing GPU is one FAIL line."""
    if CPU_ONLY:
        report("SKIP", "cuda", "--cpu-only")
        return ["cpu"]
    if not torch.cuda.is_available():
        report("FAIL", "cuda", "torch.cuda.is_available() is False (run with --cpu-only on a machine without a GPU)")
        return ["cpu"]
    return ["cpu", "cuda"]


# ---------------------------------------------------------------- classification

def classify(module, ids, pad_id, device, order, batch, token_types):
    """Probabilities (float64 lists, softmax in float32 as attune's predict) of every row of
    `ids`, visiting rows in `order` in batches of `batch`, each padded to its longest row."""
    probs = [None] * len(ids)
    for start in range(0, len(order), batch):
        rows = order[start:start + batch]
        width = max(len(ids[r]) for r in rows)
        input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            input_ids[i, :len(ids[r])] = torch.tensor(ids[r], dtype=torch.long)
            mask[i, :len(ids[r])] = 1
        inputs = [input_ids.to(device), mask.to(device)]
        if token_types:
            inputs.append(torch.zeros_like(input_ids).to(device))
        with torch.no_grad():
            logits = module(*inputs)
        assert tuple(logits.shape)[0] == len(rows) and logits.dim() == 2, f"logits of shape {tuple(logits.shape)}"
        p = torch.softmax(logits.float(), -1).cpu().double()
        for i, r in enumerate(rows):
            probs[r] = p[i].tolist()
    return probs


def label_of(p, labels):
    best = 0  # the first best wins ties, as attune's prediction_rows
    for c in range(len(labels)):
        if p[c] > p[best]:
            best = c
    return labels[best]


def compare_predictions(expected, got_probs, labels, tol):
    """(ok, detail) for 1.13's JSONL rows against probabilities lists in label order."""
    if len(expected) != len(got_probs):
        return False, f"{len(got_probs)} rows for {len(expected)} expected"
    worst, wrong, ties = 0.0, [], 0
    for i, (e, p) in enumerate(zip(expected, got_probs)):
        want = [e["probabilities"][name] for name in labels]
        worst = max(worst, max(abs(a - b) for a, b in zip(want, p)))
        if label_of(p, labels) != e["label"]:
            if abs(want[labels.index(e["label"])] - want[labels.index(label_of(p, labels))]) <= tol:
                ties += 1  # an exact tie broken the other way: the probabilities decide
            else:
                wrong.append(i)
    detail = f"{len(expected)} texts, labels equal {len(expected) - len(wrong)}/{len(expected)}, " \
             f"max |dp| {worst:.3g} (tol {tol:g})"
    if ties:
        detail += f", {ties} tied labels"
    if wrong:
        detail += f", rows with another label: {wrong[:10]}"
    return not wrong and worst < tol, detail


def predictions_of_jsonl(rows, labels):
    return [[r["probabilities"][name] for name in labels] for r in rows]


def classification_python(tag, bundle, ids, expected):
    """torch.jit.load of bundle's model.pt against the expected JSONL, several batchings and devices."""
    m = manifest_of(bundle)
    labels, pad_id = m["labels"], m["tokenizer"]["pad_id"]
    n = len(ids)
    for device in DEVICES:
        tol = CPU_TOL if device == "cpu" else CUDA_TOL
        module = load_module(bundle, device)
        check(f"{tag} torch.jit.load on {device}", True,
              f"torch {torch.__version__} loaded model.pt written by LibTorch {m['torch_version']}")
        runs = [("all at once", list(range(n)), n, False), ("one at a time", list(range(n)), 1, False),
                ("reversed, batches of 7, token_type_ids zeros", list(reversed(range(n))), 7, True)]
        if device != "cpu":
            runs = [runs[0], runs[2]]
        for what, order, batch, token_types in runs:
            probs = classify(module, ids, pad_id, device, order, batch, token_types)
            ok, detail = compare_predictions(expected, probs, labels, tol)
            check(f"{tag} python {device} {what}", ok, detail)


def classification_forward(fx):
    c = os.path.join(fx, "classification")
    bundle = os.path.join(c, "bundle")
    m = manifest_of(bundle)
    inputs = os.path.join(c, "inputs.txt")
    expected = read_json_lines(os.path.join(c, "expected_predict.jsonl"))
    ref_ids = read_json_lines(os.path.join(c, "input_ids.jsonl"))
    texts = read_lines(inputs)
    ids = attune_json_lines("tokenize", "--tokenizer", bundle, "--special", "--max-length", str(m["max_length"]),
                            "--input", inputs)
    differ = [i for i, (a, b) in enumerate(zip(ids, ref_ids)) if a != b]
    check("classification tokenize", len(ids) == len(ref_ids) == len(texts) and not differ,
          f"{len(ids)} texts, max_length {m['max_length']}: {BUILD}/attune tokenize gives 1.13's ids on "
          f"{len(ids) - len(differ)}" + (f"; differ on rows {differ[:10]}" if differ else ""))
    guarded("classification transformers' tokenizer on the bundle's vocab.txt", hf_tokenizer_check, bundle, m, texts, ids)
    guarded("classification python (1.13 bundle)", classification_python, "classification 1.13 bundle:", bundle, ids,
            expected)
    cpp_predict_checks("classification 1.13 bundle:", bundle, inputs, expected)


def cpp_predict_checks(tag, bundle, inputs, expected):
    """BUILD_DIR/attune predict --bundle (C++ on LibTorch 2.x) on every device against 1.13's JSONL rows."""
    labels = manifest_of(bundle)["labels"]
    for device in DEVICES:
        tol = CPU_TOL if device == "cpu" else CUDA_TOL
        name = f"{tag} {BUILD}/attune predict --bundle --device {device}"

        def cpp(device=device, tol=tol, name=name):
            out = os.path.join(WORK_DIR, f"{tag.split()[0]}_cpp_{device}.jsonl")
            attune("predict", "--bundle", bundle, "--device", device, "--input", inputs, "--output", out)
            ok, detail = compare_predictions(expected, predictions_of_jsonl(read_json_lines(out), labels), labels, tol)
            check(name, ok, detail)
        guarded(name, cpp)


# ---------------------------------------------------------------- image classification

def read_idx_images(path):
    """An IDX file of uint8 images (N, H, W) as a uint8 tensor (N, 1, H, W): the bundle's pixels."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\0\0\x08\x03", f"{path}: not an IDX file of uint8 images (N, H, W)"
    n, h, w = struct.unpack(">III", data[4:16])
    return torch.frombuffer(bytearray(data[16:16 + n * h * w]), dtype=torch.uint8).view(n, 1, h, w)


def classify_images(module, pixels, device, batch, as_float):
    """Probabilities (float64 lists, softmax in float32) of every image, in batches of `batch`;
    the bundle takes pixels 0..255 as float32 or uint8 and normalises them itself."""
    probs = []
    for start in range(0, pixels.shape[0], batch):
        x = pixels[start:start + batch]
        with torch.no_grad():
            logits = module((x.float() if as_float else x).to(device))
        assert tuple(logits.shape)[0] == x.shape[0] and logits.dim() == 2, f"logits of shape {tuple(logits.shape)}"
        probs += torch.softmax(logits.float(), -1).cpu().double().tolist()
    return probs


def image_python(tag, bundle, pixels, expected, devices):
    """torch.jit.load of an image bundle's model.pt against the expected JSONL, several batchings."""
    m = manifest_of(bundle)
    n = pixels.shape[0]
    for device in devices:
        tol = CPU_TOL if device == "cpu" else CUDA_TOL
        module = load_module(bundle, device)
        check(f"{tag} torch.jit.load on {device}", True,
              f"torch {torch.__version__} loaded model.pt written by LibTorch {m['torch_version']}")
        for what, batch, as_float in [("all at once, float32 pixels", n, True), ("one at a time", 1, True),
                                      ("batches of 7, uint8 pixels", 7, False)]:
            ok, detail = compare_predictions(expected, classify_images(module, pixels, device, batch, as_float),
                                             m["labels"], tol)
            check(f"{tag} python {device} {what}", ok, detail)


def image_forward(fx):
    d = os.path.join(fx, "image")
    bundle = os.path.join(d, "bundle")
    images = os.path.join(d, "test-images")
    expected = read_json_lines(os.path.join(d, "expected_predict.jsonl"))
    guarded("image python (1.13 bundle)", image_python, "image 1.13 bundle:", bundle, read_idx_images(images), expected,
            DEVICES)
    cpp_predict_checks("image 1.13 bundle:", bundle, images, expected)


def hf_tokenizer_check(bundle, manifest, texts, ids):
    """transformers' BertTokenizer on the bundle's vocab.txt and settings gives attune's ids."""
    theirs = hf_ids(bundle, manifest, texts)
    differ = [i for i, (a, b) in enumerate(zip(ids, theirs)) if a != b]
    check("classification transformers' tokenizer on the bundle's vocab.txt", not differ,
          f"{len(texts) - len(differ)}/{len(texts)} texts give attune's ids" +
          (f" (differ: rows {differ[:10]})" if differ else ""))


def hf_ids(bundle, manifest, texts):
    """transformers 5 builds BertTokenizerFast from a directory (vocab_file= alone leaves
    it without a vocabulary), so the bundle's vocab.txt goes into one with the
    tokenizer_config.json attune's `convert` would write."""
    from transformers import AutoTokenizer
    with open(os.path.join(bundle, "tokenizer", "tokenizer.json"), encoding="utf-8") as f:
        settings = json.load(f)
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(os.path.join(bundle, "tokenizer", "vocab.txt"), d)
        with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": settings.get("lowercase", True),
                       "strip_accents": settings.get("strip_accents"),
                       "tokenize_chinese_chars": settings.get("tokenize_chinese_chars", True),
                       "model_max_length": manifest["max_length"]}, f)
        tok = AutoTokenizer.from_pretrained(d)
        return [tok(t, truncation=True, max_length=manifest["max_length"])["input_ids"] for t in texts]


# ---------------------------------------------------------------- translation

def is_blank(line):
    return line.strip(" \t\r\n") == ""  # translate_lines' find_first_not_of(" \t\r\n")


def is_tie(sp, a, b):
    """Two segmentations of the same text with the same total piece score: sentencepiece
    releases break such unigram ties differently (see sentencepiece_parity.py)."""
    if sp.decode(a) != sp.decode(b):
        return False
    score_a, score_b = (sum(sp.get_score(i) for i in ids) for ids in (a, b))
    return abs(score_a - score_b) <= 1e-5 * max(1.0, abs(score_a))


def source_rows(lines, plain_ids, eos, max_positions):
    """attune's translate_lines: blank lines are not translated; the source keeps room for EOS."""
    rows = []
    for line, ids in zip(lines, plain_ids):
        rows.append(None if is_blank(line) else list(ids[:max_positions - 1]) + [eos])
    return rows


def greedy_search(module, sources, special, decode, max_positions, device):
    """tasks/translation/decoding.cpp's greedy_search over the bundle's methods, one batch.
    sources: id lists (EOS included). Returns (target ids without BOS/EOS, per row the smallest
    top-2 log-probability margin of its steps)."""
    pad, bos, eos = special["pad_id"], special["bos_id"], special["eos_id"]
    width = max(len(s) for s in sources)
    src = torch.full((len(sources), width), pad, dtype=torch.long)
    for i, s in enumerate(sources):
        src[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    lengths = src.ne(pad).sum(1).tolist()
    cap = max_positions - 1  # position 0 holds BOS
    limits = [min(max(int(math.ceil(decode["max_length_ratio"] * n)) + decode["max_length_extra"], 1), cap)
              for n in lengths]
    src = src.to(device)
    margins = [math.inf] * len(sources)
    with torch.no_grad():
        memory, source_mask = module.encode(src)
        cache = module.init_cache(memory)
        prefix = torch.full((len(sources), 1), bos, dtype=torch.long, device=device)
        finished = torch.zeros(len(sources), dtype=torch.bool, device=device)
        limit = torch.tensor(limits, dtype=torch.long, device=device)
        fed = 0  # target tokens already in the cache
        for step in range(max(limits)):
            logits, cache = module.decode_step(prefix[:, fed:], source_mask, cache)
            fed = prefix.size(1)
            log_probs = torch.log_softmax(logits[:, -1].float(), -1)
            log_probs[:, pad] = -math.inf  # padding is never an output token
            top2 = log_probs.topk(2, -1).values.cpu()
            done = finished.cpu().tolist()
            for i in range(len(sources)):
                if not done[i]:
                    margins[i] = min(margins[i], float(top2[i, 0] - top2[i, 1]))
            next_ids = log_probs.argmax(-1).masked_fill(finished, pad)
            prefix = torch.cat([prefix, next_ids.unsqueeze(1)], 1)
            finished = finished | next_ids.eq(eos) | limit.le(step + 1)
            if bool(finished.all()):
                break
    ids = prefix[:, 1:].cpu().tolist()
    out = []
    for i in range(len(sources)):
        tokens = []
        for t in ids[i][:limits[i]]:
            if t == eos:
                break
            tokens.append(t)
        out.append(tokens)
    return out, margins


def translate(module, rows, sp, manifest, device, batch, decode):
    """Greedy translations of every line (blank ones stay empty), `batch` sources a search."""
    todo = [i for i, r in enumerate(rows) if r is not None]
    out, margins = [""] * len(rows), [math.inf] * len(rows)
    for start in range(0, len(todo), batch):
        part = todo[start:start + batch]
        ids, m = greedy_search(module, [rows[i] for i in part], manifest["special_ids"], decode,
                               manifest["model"]["max_positions"], device)
        for i, tokens, margin in zip(part, ids, m):
            out[i] = sp.decode(tokens)
            margins[i] = margin
    return out, margins


def compare_translations(expected, got, margins=None, allow_ties=False):
    """(ok, detail): every line identical; with allow_ties, a line whose search met a near-tie
    (margins[i] <= TIE) may differ."""
    margins = margins or [math.inf] * len(got)
    differ = [i for i, (a, b) in enumerate(zip(expected, got)) if a != b]
    ties = [i for i in differ if allow_ties and margins[i] <= TIE]
    wrong = [i for i in differ if i not in ties]
    ok = len(expected) == len(got) and not wrong
    finite = [m for m in margins if m != math.inf]
    detail = f"{len(expected)} lines, identical {len(expected) - len(differ)}/{len(expected)}"
    if finite:
        detail += f", smallest top-2 log-prob margin {min(finite):.3g}"
    if ties:
        detail += f", {len(ties)} differ at a near-tie (margin <= {TIE:g}): rows {ties[:10]}"
    if wrong:
        i = wrong[0]
        detail += f"; differ on rows {wrong[:10]}, first: expected {expected[i]!r} got {got[i]!r}"
    return ok, detail


def greedy_cases(t, manifest):
    """(name, decode settings, expected lines): the run's length limit, and a tight one."""
    with open(os.path.join(t, "short_decode.json"), encoding="utf-8") as f:
        short = dict(manifest["decode"], **json.load(f))
    return [("greedy", manifest["decode"], read_lines(os.path.join(t, "expected_greedy.txt"))),
            (f"greedy, length limit ratio {short['max_length_ratio']} + {short['max_length_extra']}", short,
             read_lines(os.path.join(t, "expected_greedy_short.txt")))]


def translation_python(tag, bundle, rows, cases, cuda_too):
    import sentencepiece as spm
    m = manifest_of(bundle)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(bundle, "tokenizer", "sentencepiece.model"))
    for device in (DEVICES if cuda_too else ["cpu"]):
        module = load_module(bundle, device)
        check(f"{tag} torch.jit.load on {device}", True,
              f"torch {torch.__version__} loaded model.pt written by LibTorch {m['torch_version']}")
        for name, decode, expected in cases:
            runs = [("all at once", len(rows))] + ([("one at a time", 1)] if device == "cpu" else [])
            for what, batch in runs:
                got, margins = translate(module, rows, sp, m, device, batch, decode)
                ok, detail = compare_translations(expected, got, margins, allow_ties=device != "cpu")
                check(f"{tag} python {device} {name}, {what}", ok, detail)


def translation_forward(fx):
    import sentencepiece as spm
    t = os.path.join(fx, "translation")
    bundle = os.path.join(t, "bundle")
    m = manifest_of(bundle)
    sources = os.path.join(t, "sources.txt")
    lines = read_lines(sources)
    ref_ids = read_json_lines(os.path.join(t, "source_ids.jsonl"))
    ids = attune_json_lines("tokenize", "--tokenizer", bundle, "--input", sources)
    differ = [i for i, (a, b) in enumerate(zip(ids, ref_ids)) if a != b]
    check("translation tokenize", len(ids) == len(ref_ids) == len(lines) and not differ,
          f"{len(ids)} sources: {BUILD}/attune tokenize gives 1.13's ids on {len(ids) - len(differ)}" +
          (f"; differ on rows {differ[:10]}" if differ else ""))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(bundle, "tokenizer", "sentencepiece.model"))
    theirs = [sp.encode(line) for line in lines]
    differ = [i for i, (a, b) in enumerate(zip(theirs, ref_ids)) if a != b]
    ties = [i for i in differ if is_tie(sp, theirs[i], ref_ids[i])]
    wrong = [i for i in differ if i not in ties]
    check("translation sentencepiece package encode", not wrong,
          f"sentencepiece {spm.__version__} gives 1.13 attune's ids on {len(lines) - len(differ)}/{len(lines)} sources" +
          (f"; {len(ties)} differ as equal-score ties (rows {ties[:10]})" if ties else "") +
          (f"; differ on rows {wrong[:10]}" if wrong else ""))
    rows = source_rows(lines, ids, m["special_ids"]["eos_id"], m["model"]["max_positions"])
    guarded("translation python (1.13 bundle)", translation_python, "translation 1.13 bundle:", bundle, rows,
            greedy_cases(t, m), True)
    expected_beam = read_lines(os.path.join(t, "expected_predict.txt"))
    for device in DEVICES:
        name = f"translation 1.13 bundle: {BUILD}/attune predict --bundle --device {device} (beam {m['decode']['beam_size']})"

        def cpp(device=device, name=name):
            out = os.path.join(WORK_DIR, f"mt_cpp_{device}.txt")
            attune("predict", "--bundle", bundle, "--device", device, "--input", sources, "--output", out)
            got = read_lines(out)
            ok, detail = compare_translations(expected_beam, got)
            if device == "cpu":
                check(name, ok, detail)
            else:  # beam search on the GPU: reported, not judged (scores of near-equal beams may swap)
                report("INFO", name, detail)
        guarded(name, cpp)
    return rows


# ---------------------------------------------------------------- masked LM and recommendation

def ranked_ok(expected, score_of, excluded, tol):
    """(worst |diff|, ok) of one ranked list [{"name", "score"}] against a score function:
    each listed score within tol, and no other (non-excluded) candidate above the last
    listed one by more than tol (so ties may order either way)."""
    if any(e["name"] not in score_of for e in expected):
        return float("inf"), False
    worst = max((abs(score_of[e["name"]] - e["score"]) for e in expected), default=0.0)
    listed = {e["name"] for e in expected}
    rest = [v for k, v in score_of.items() if k not in listed and k not in excluded]
    floor = min((e["score"] for e in expected), default=float("inf"))
    return worst, worst < tol and (not rest or max(rest) <= floor + tol)


def mlm_rows(fx, bundle, m):
    """[CLS] pieces [SEP] with mask_id at each [MASK], as tasks/pretraining/fill_mask.cpp
    builds them: the pieces between masks tokenized on their own (BUILD_DIR/attune tokenize)."""
    texts = read_lines(os.path.join(fx, "mlm", "inputs.txt"))
    parts = [t.split(m["mask_token"]) for t in texts]
    seg_file = os.path.join(WORK_DIR, "mlm_segments.txt")
    with open(seg_file, "w", encoding="utf-8", newline="") as f:
        f.writelines(x + "\n" for p in parts for x in p)
    pieces = iter(attune_json_lines("tokenize", "--tokenizer", bundle, "--input", seg_file))
    t = m["tokenizer"]
    rows = []
    for p in parts:
        ids, masks = [t["cls_id"]], []
        for i in range(len(p)):
            if i:
                masks.append(len(ids))
                ids.append(t["mask_id"])
            ids += next(pieces)
        rows.append((ids + [t["sep_id"]], masks))
    return rows


def compare_fill_mask(expected, probs_of_row, tol):
    """(ok, detail): 1.13's predict rows against probabilities per mask (lists over the vocabulary)."""
    worst, bad = 0.0, []
    for i, e in enumerate(expected):
        got = probs_of_row(i)
        if len(got) != len(e["masks"]):
            bad.append(i)
            continue
        for want, p in zip(e["masks"], got):
            d, ok = ranked_ok([{"name": c["token"], "score": c["score"]} for c in want], p, set(), tol)
            worst = max(worst, d)
            if not ok:
                bad.append(i)
    return not bad, f"{len(expected)} texts, max |dp| {worst:.3g} (tol {tol:g})" + (f", rows differ: {bad[:10]}" if bad else "")


def mlm_forward(fx):
    d = os.path.join(fx, "mlm")
    bundle = os.path.join(d, "bundle")
    m = manifest_of(bundle)
    expected = read_json_lines(os.path.join(d, "expected_predict.jsonl"))
    rows = mlm_rows(fx, bundle, m)
    vocab = read_lines(os.path.join(bundle, "tokenizer", "vocab.txt"))
    for device in DEVICES:
        tol = CPU_TOL if device == "cpu" else CUDA_TOL
        module = load_module(bundle, device)

        def by_token(logits):
            p = torch.softmax(logits.float(), -1).cpu().double().tolist()
            return [{vocab[i]: x for i, x in enumerate(row)} for row in p]

        def one_at_a_time(i):  # logits_at on the unpadded row, as attune's predict
            ids, masks = rows[i]
            x = torch.tensor([ids], dtype=torch.long, device=device)
            with torch.no_grad():
                return by_token(module.logits_at(x, torch.ones_like(x), torch.tensor(masks, dtype=torch.long, device=device)))

        width = max(len(ids) for ids, _ in rows)
        batch = torch.full((len(rows), width), m["tokenizer"]["pad_id"], dtype=torch.long)
        mask = torch.zeros_like(batch)
        for i, (ids, _) in enumerate(rows):
            batch[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[i, :len(ids)] = 1
        with torch.no_grad():
            everything = module(batch.to(device), mask.to(device))  # (B, T, vocab): forward at every position
        all_at_once = [by_token(everything[i, masks]) if masks else [] for i, (_, masks) in enumerate(rows)]
        for what, fn in [("logits_at one at a time", one_at_a_time), ("forward, all rows padded", lambda i: all_at_once[i])]:
            ok, detail = compare_fill_mask(expected, fn, tol)
            check(f"mlm 1.13 bundle: python {device} {what}, against 1.13's predict", ok, detail)

        def cpp(device=device, tol=tol):
            out = os.path.join(WORK_DIR, f"mlm_cpp_{device}.jsonl")
            attune("predict", "--bundle", bundle, "--device", device, "--input", os.path.join(d, "inputs.txt"),
                   "--output", out)
            got = read_json_lines(out)
            ok, detail = compare_fill_mask(
                expected, lambda i: [{c["token"]: c["score"] for c in cs} for cs in got[i]["masks"]], tol)
            check(f"mlm 1.13 bundle: {BUILD}/attune predict --bundle --device {device}", ok, detail)
        guarded(f"mlm 1.13 bundle: {BUILD}/attune predict --bundle --device {device}", cpp)


def recommendation_forward(fx):
    r = os.path.join(fx, "recommendation")
    requests = read_json_lines(os.path.join(r, "requests.jsonl"))
    for kind in ("sasrec", "bert4rec"):
        bundle = os.path.join(r, kind, "bundle")
        m = manifest_of(bundle)
        expected = read_json_lines(os.path.join(r, kind, "expected_predict.jsonl"))
        with open(os.path.join(bundle, m["items"]["file"]), encoding="utf-8") as f:
            names = json.load(f)
        index = {name: i + 1 for i, name in enumerate(names)}
        # Newest max_history items, left-padded with 0 (tasks/recommendation/model.cpp's history_batch).
        n = m["max_history"]
        items = torch.zeros((len(requests), n), dtype=torch.long)
        for i, q in enumerate(requests):
            h = [index[x] for x in q["history"]][-n:]
            items[i, n - len(h):] = torch.tensor(h, dtype=torch.long)
        for device in DEVICES:
            tol = 1e-4 if device == "cpu" else 1e-3  # scores are logits (magnitude ~10), not probabilities
            module = load_module(bundle, device)
            with torch.no_grad():
                scores = module(items.to(device)).float().cpu().tolist()
            worst, bad = 0.0, []
            for i, (q, e) in enumerate(zip(requests, expected)):
                excluded = set(q.get("exclude", q["history"]))
                score_of = {name: scores[i][j + 1] for j, name in enumerate(names)}
                d, ok = ranked_ok([{"name": x["item"], "score": x["score"]} for x in e["items"]], score_of, excluded, tol)
                k = min(q.get("k", 10), len(names) - len(excluded & set(names)))
                worst = max(worst, d)
                if not ok or len(e["items"]) != k:
                    bad.append(i)
            check(f"recommendation {kind} 1.13 bundle: python {device}, against 1.13's predict", not bad,
                  f"{len(requests)} requests, max |d score| {worst:.3g} (tol {tol:g})" + (f", differ: {bad}" if bad else ""))

            def cpp(device=device, tol=tol, kind=kind, expected=expected, bundle=bundle):
                out = os.path.join(WORK_DIR, f"rec_{kind}_cpp_{device}.jsonl")
                attune("predict", "--bundle", bundle, "--device", device, "--input", os.path.join(r, "requests.jsonl"),
                       "--output", out)
                got = read_json_lines(out)
                same = len(got) == len(expected) and all(
                    [x["item"] for x in a["items"]] == [x["item"] for x in b["items"]] and
                    all(abs(x["score"] - y["score"]) < tol for x, y in zip(a["items"], b["items"]))
                    for a, b in zip(got, expected))
                check(f"recommendation {kind} 1.13 bundle: {BUILD}/attune predict --bundle --device {device}", same,
                      f"{len(expected)} requests: items equal and scores within {tol:g}")
            guarded(f"recommendation {kind}: {BUILD}/attune predict --bundle --device {device}", cpp)


# ---------------------------------------------------------------- reverse direction

def reverse(fx, rows):
    rev = os.path.join(WORK_DIR, "reverse")
    shutil.rmtree(rev, ignore_errors=True)
    os.makedirs(rev)
    written = {}
    for task, inputs, expected_name in [("classification", "inputs.txt", "expected_predict.jsonl"),
                                        ("translation", "sources.txt", "expected_predict.txt"),
                                        ("image", "test-images", "expected_predict.jsonl")]:
        d = os.path.join(rev, task)
        os.makedirs(d)
        bundle = os.path.join(d, "bundle")
        shutil.copy(os.path.join(fx, task, inputs), os.path.join(d, inputs))
        try:
            summary = json.loads(attune("export", "--run", os.path.join(fx, task, "run"), "--out", bundle))
        except Exception as e:  # noqa: BLE001
            check(f"reverse {task}: {BUILD}/attune export", False, str(e))
            continue
        m = manifest_of(bundle)
        check(f"reverse {task}: {BUILD}/attune export", True,
              f"LibTorch {m['torch_version']}, self-check max |diff| {summary.get('check_max_abs_diff')}")
        written[task] = m["torch_version"]

        def cpp(task=task, d=d, bundle=bundle, inputs=inputs, expected_name=expected_name):
            out = os.path.join(d, expected_name)
            attune("predict", "--bundle", bundle, "--device", "cpu", "--input", os.path.join(d, inputs), "--output", out)
            theirs = os.path.join(fx, task, expected_name)  # 1.13's outputs of its own bundle of the same run
            if task in ("classification", "image"):
                labels = m["labels"]
                ok, detail = compare_predictions(read_json_lines(theirs),
                                                 predictions_of_jsonl(read_json_lines(out), labels), labels, CPU_TOL)
            else:
                got = read_lines(out)
                ok, detail = compare_translations(read_lines(theirs), got)
            check(f"reverse {task}: {BUILD}/attune predict --bundle --device cpu (the expected outputs), "
                  f"against 1.13's of its own bundle", ok, detail)
        guarded(f"reverse {task}: {BUILD}/attune predict --bundle --device cpu", cpp)
        if task == "classification":
            ids = attune_json_lines("tokenize", "--tokenizer", bundle, "--special", "--max-length",
                                    str(m["max_length"]), "--input", os.path.join(d, inputs))
            expected = read_json_lines(os.path.join(fx, task, "expected_predict.jsonl"))
            guarded("reverse classification python", classification_python_cpu, bundle, ids, expected)
        elif task == "image":
            expected = read_json_lines(os.path.join(fx, task, "expected_predict.jsonl"))
            guarded("reverse image python", image_python, "reverse image (2.x bundle):", bundle,
                    read_idx_images(os.path.join(d, inputs)), expected, ["cpu"])
        elif rows is not None:
            guarded("reverse translation python", translation_python, "reverse translation (2.x bundle):", bundle,
                    rows, greedy_cases(os.path.join(fx, task), m), False)
    with open(os.path.join(rev, "versions.json"), "w", encoding="utf-8") as f:
        json.dump({"made_by": "tools/parity/bundle_parity.py", "python_torch_version": torch.__version__,
                   "bundle_torch_versions": written}, f, indent=1)
    tarball = os.path.join(OUT, "reverse_bundles.tar.gz")
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(rev, arcname="reverse")
    report("INFO", "reverse tarball", f"{tarball} ({os.path.getsize(tarball) // 1024} KB): check it on the CPU machine "
           f"with tools/parity/check_reverse_bundles.sh")


def classification_python_cpu(bundle, ids, expected):
    m = manifest_of(bundle)
    module = load_module(bundle, "cpu")
    check("reverse classification (2.x bundle): torch.jit.load on cpu", True,
          f"torch {torch.__version__} loaded model.pt written by LibTorch {m['torch_version']}")
    n = len(ids)
    for what, order, batch in [("all at once", list(range(n)), n), ("one at a time", list(range(n)), 1)]:
        probs = classify(module, ids, m["tokenizer"]["pad_id"], "cpu", order, batch, False)
        ok, detail = compare_predictions(expected, probs, m["labels"], CPU_TOL)
        check(f"reverse classification (2.x bundle): python cpu {what}, against 1.13's outputs", ok, detail)


# ---------------------------------------------------------------- main

def tf32_off():
    """Full float32 matmuls and convolutions on the GPU: the legacy flags, and the
    fp32_precision settings that replace them from torch 2.9 on (both, where they exist)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        for owner in (torch.backends.cuda.matmul, getattr(torch.backends.cudnn, "conv", None)):
            try:  # torch before 2.9 has no fp32_precision (its getattr may raise AssertionError)
                if owner is not None and isinstance(getattr(owner, "fp32_precision"), str):
                    owner.fp32_precision = "ieee"
            except Exception:  # noqa: BLE001 (the legacy flags above hold)
                pass


def main():
    global WORK_DIR
    tf32_off()
    WORK_DIR = os.path.abspath(WORK) if WORK else tempfile.mkdtemp(prefix="attune-bundle-parity-")
    os.makedirs(WORK_DIR, exist_ok=True)
    shutil.rmtree(os.path.join(WORK_DIR, "fixtures"), ignore_errors=True)
    with tarfile.open(FIXTURES) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(WORK_DIR, filter="data")
        else:
            tar.extractall(WORK_DIR)
    fx = os.path.join(WORK_DIR, "fixtures")
    with open(os.path.join(fx, "versions.json"), encoding="utf-8") as f:
        made = json.load(f)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    print(f"torch {torch.__version__} ({gpu}); fixtures written by attune {made['attune_version']} on LibTorch "
          f"{made['torch_version']}; {ATTUNE}; work dir {WORK_DIR}", flush=True)
    global DEVICES
    DEVICES = find_devices()
    guarded("classification", classification_forward, fx)
    rows = guarded("translation", translation_forward, fx)
    guarded("mlm", mlm_forward, fx)
    guarded("recommendation", recommendation_forward, fx)
    guarded("image", image_forward, fx)
    guarded("reverse", reverse, fx, rows)
    failed = [r for r in results if r["status"] == "FAIL"]
    passed = [r for r in results if r["status"] == "PASS"]
    with open(os.path.join(OUT, "bundle_parity.json"), "w", encoding="utf-8") as f:
        json.dump({"torch_version": torch.__version__, "gpu": gpu, "fixtures": made, "checks": results}, f, indent=1)
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


WORK_DIR = None
DEVICES = ["cpu"]
if __name__ == "__main__":
    sys.exit(main())
