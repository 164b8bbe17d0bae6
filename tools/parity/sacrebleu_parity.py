"""sacreBLEU parity: attune's corpus BLEU and chrF against sacrebleu.corpus_bleu/corpus_chrf.

Runs on the GPU machine (sacrebleu is installed there, not on the CPU machine):
    python3 tools/parity/sacrebleu_parity.py BUILD_DIR WORK_DIR
BUILD_DIR holds attune_bleu_score (tools/parity/bleu_score.cpp); WORK_DIR receives the
hypothesis and reference files. Built-in reference sentences (punctuation, numbers,
HTML entities, Unicode, Unicode spaces) are perturbed into several systems (dropped,
swapped and replaced words, empty lines, extra references); each is scored by both
with default arguments. Prints PASS/FAIL per case (scores must agree to two decimals,
i.e. within 0.005, and lengths exactly) and exits 1 on any failure.
"""
import json
import os
import random
import subprocess
import sys

import sacrebleu

REFS = [
    "The quick brown fox jumps over the lazy dog.",
    "In 2023, the company's revenue grew by 3.5% to $1,250,000.",
    "She said: \"Don't worry, it's fine!\" and left at 10:30 p.m.",
    "Pages 12-15 cover the results; see also (Smith et al., 2019).",
    "The U.S. economy added 200,000 jobs in March, beating forecasts.",
    "Tom &amp; Jerry &quot;met&quot; at the caf\u00e9 &lt;downtown&gt;.",
    "Die Stra\u00dfe war na\u00df, und die K\u00fche roch nach Kaffee.",
    "\u0415\u0433\u043e \u0437\u043e\u0432\u0443\u0442 \u0418\u0432\u0430\u043d, \u0438 \u043e\u043d \u0436\u0438\u0432\u0451\u0442 \u0432 \u041c\u043e\u0441\u043a\u0432\u0435.",
    "\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u53bb\u516c\u56ed\u5427\u3002",
    "Emoji \U0001f600 and flags \U0001f1e9\U0001f1ea are characters too.",
    "A well-known state-of-the-art model scored 92.7 on the test set.",
    "Prices: 3-4 euros, 5.99 dollars, or 1,000 yen.",
    "no\u00a0break\u2003em\u3000ideographic spaces count as spaces.",
    "<skipped> The meeting was postponed -- again -- until next week.",
    "Why? Because [brackets] {braces} and /slashes/ split; 'quotes' do not.",
    "Version 2.0.1 was released on 2021-07-15 at example.com/release.",
    "He paid 5,- and left.",
    "Short.",
    "A B C D E F G H I J K L M N O P",
    "Trailing spaces and tabs\t  ",
]

# Lines aimed at 13a's rules one by one, scored against themselves perturbed.
TRICKY = [
    "a.,b x.5 5.x 5.-3 U.S.A. ...",
    "&amp;quot;nested&amp;quot; &quot;&quot; &amp;amp; & ; &lt;&gt;",
    "<skipped><skipped>word-<skipped>",
    "caf\u00e9. na\u00efve, \u00fcber- 3\u20134 \u00bd.",
    "tab\tsep\x0bvt\x0cff\x1cfs\x85nel\u2028ls end",
    "'single' `back` \\back\\slash ^caret_ under|pipe",
    "1-2-3 a-1 1- -1 --",
]


def perturb(line, rng, mode):
    words = line.split(" ")
    if mode == "drop" and len(words) > 2:
        del words[rng.randrange(len(words))]
    elif mode == "swap" and len(words) > 2:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif mode == "replace":
        words[rng.randrange(len(words))] = rng.choice(["the", "a", "Haus", "\u00e9t\u00e9", "42", ",", "-"])
    elif mode == "truncate":
        words = words[: max(1, len(words) // 2)]
    elif mode == "lower":
        return line.lower()
    return " ".join(words)


def systems(rng):
    """(name, hypotheses, list of reference streams)"""
    other = [perturb(r, random.Random(7), "swap") for r in REFS]
    cases = [("exact", list(REFS), [REFS])]
    for mode in ["drop", "swap", "replace", "truncate", "lower"]:
        cases.append((mode, [perturb(r, rng, mode) for r in REFS], [REFS]))
    mixed = [perturb(r, rng, rng.choice(["drop", "swap", "replace", "truncate", "lower", "same"])) for r in REFS]
    cases.append(("mixed", mixed, [REFS]))
    cases.append(("empty_lines", ["" if i % 3 == 0 else h for i, h in enumerate(mixed)], [REFS]))
    cases.append(("all_empty", [""] * len(REFS), [REFS]))
    cases.append(("short_hyps", [r.split(" ")[0] for r in REFS], [REFS]))
    cases.append(("longer_than_ref", [r + " " + r for r in REFS], [REFS]))
    cases.append(("no_overlap", ["zzz yyy xxx www vvv"] * len(REFS), [REFS]))
    cases.append(("two_refs", mixed, [REFS, other]))
    cases.append(("two_refs_reversed", mixed, [other, REFS]))
    cases.append(("tricky", [perturb(t, rng, "swap") for t in TRICKY], [TRICKY]))
    cases.append(("tricky_exact", list(TRICKY), [TRICKY]))
    cases.append(("three_refs", mixed, [REFS, other, [perturb(r, random.Random(3), "drop") for r in REFS]]))
    return cases


def write(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            assert "\n" not in line
            f.write(line + "\n")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tool = os.path.join(sys.argv[1], "attune_bleu_score")
    work = sys.argv[2]
    os.makedirs(work, exist_ok=True)
    print(f"sacrebleu {sacrebleu.__version__}")
    failures = 0
    for name, hyps, refs in systems(random.Random(1234)):
        hyp_path = os.path.join(work, f"{name}.hyp")
        write(hyp_path, hyps)
        ref_paths = []
        for k, stream in enumerate(refs):
            ref_paths.append(os.path.join(work, f"{name}.ref{k}"))
            write(ref_paths[-1], stream)
        ours = json.loads(subprocess.run([tool, hyp_path] + ref_paths, check=True, capture_output=True,
                                         text=True).stdout)
        bleu = sacrebleu.corpus_bleu(hyps, refs)
        chrf = sacrebleu.corpus_chrf(hyps, refs)
        checks = [("bleu", bleu.score, ours["bleu"]), ("chrf", chrf.score, ours["chrf"]),
                  ("bp", bleu.bp, ours["bp"])]
        checks += [(f"p{n + 1}", p, ours["precisions"][n]) for n, p in enumerate(bleu.precisions)]
        bad = [f"{k}: sacrebleu {a!r} attune {b!r}" for k, a, b in checks if abs(a - b) >= 0.005]
        if bleu.sys_len != ours["sys_len"] or bleu.ref_len != ours["ref_len"]:
            bad.append(f"lengths: sacrebleu {bleu.sys_len}/{bleu.ref_len} attune {ours['sys_len']}/{ours['ref_len']}")
        if list(bleu.counts) != ours["counts"] or list(bleu.totals) != ours["totals"]:
            bad.append(f"counts: sacrebleu {bleu.counts}/{bleu.totals} attune {ours['counts']}/{ours['totals']}")
        worst = max(abs(a - b) for _, a, b in checks)
        status = "FAIL" if bad else "PASS"
        print(f"{status} {name}: BLEU {bleu.score:.4f} vs {ours['bleu']:.4f}, chrF {chrf.score:.4f} vs "
              f"{ours['chrf']:.4f} (largest difference {worst:.2e})")
        for b in bad:
            print("    " + b)
        failures += bool(bad)
    print(f"{failures} failing case(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
