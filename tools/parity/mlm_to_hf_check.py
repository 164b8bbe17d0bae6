#!/usr/bin/env python3
"""attune's continued masked-LM runs in transformers (GPU machine, CPU float32).

For each case tools/parity/make_mlm_cases.sh made (mlm-NAME/hf, mlm-NAME/bundle):
  hf      loads in AutoModelForMaskedLM with no missing, unexpected or mismatched keys, as
          the fixture's architecture, and its logits on real tokens equal the bundle's
          (torch.jit.load, forward(input_ids, attention_mask)) to 1e-5;
  tokenizer AutoTokenizer reads the folder: the mask token is id 4 and words keep their ids.
usage: mlm_to_hf_check.py DIR      (DIR holds the unpacked mlm_cases.tar.gz)
"""
import json
import os
import sys

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

TOLERANCE = 1e-5
failures = 0


def report(case, check, ok, **info):
    global failures
    failures += not ok
    print(json.dumps({"case": case, "check": check, "pass": bool(ok), **info}), flush=True)


def check(case, root):
    model, info = AutoModelForMaskedLM.from_pretrained(os.path.join(root, "hf"), output_loading_info=True,
                                                       attn_implementation="eager")
    problems = {k: list(v) for k, v in info.items() if v}
    report(case, "from_pretrained", not problems, architecture=model.config.architectures, problems=problems)
    model.eval()
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    cls = 0 if pad == 1 else 1
    torch.manual_seed(0)
    ids = torch.randint(5, 100, (3, 14))
    ids[:, 0] = cls
    ids[:, 5] = 4  # the mask token
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    mask[2, 4:] = 0
    ids = ids.masked_fill(mask == 0, pad)
    with torch.no_grad():
        theirs = model(input_ids=ids, attention_mask=mask).logits
        ours = torch.jit.load(os.path.join(root, "bundle", "model.pt")).forward(ids, mask)
    real = mask.bool()
    width = min(theirs.shape[-1], ours.shape[-1])
    diff = (theirs[real][:, :width] - ours[real][:, :width]).abs().max().item()
    report(case, "logits vs bundle", diff < TOLERANCE and theirs.shape[-1] == ours.shape[-1], max_abs_diff=diff,
           widths=[theirs.shape[-1], ours.shape[-1]])
    tok = AutoTokenizer.from_pretrained(os.path.join(root, "hf"))
    words = tok.convert_tokens_to_ids(["w05", "w10"])
    report(case, "tokenizer", tok.mask_token_id == 4 and words == [10, 15], mask_token=tok.mask_token,
           mask_id=tok.mask_token_id, word_ids=words, tokenizer=type(tok).__name__)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    import transformers
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__}))
    top = sys.argv[1]
    cases = sorted(d for d in os.listdir(top) if d.startswith("mlm-"))
    if not cases:
        sys.exit(f"no cases under {top}")
    for case in cases:
        try:
            check(case, os.path.join(top, case))
        except Exception as e:
            report(case, "ran", False, error=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
