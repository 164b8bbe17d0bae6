#!/usr/bin/env python3
"""Writes the seed inputs of each fuzz target (tests/fuzz/<target>/fuzz.cpp) into
OUT/<target>/, from the repository's test fixtures and small generated files. The
committed corpora (tests/fuzz/<target>/corpus) began as these seeds, fuzzed and then
minimized with -merge=1 (docs/fuzzing.md). Usage: make_seeds.py OUT"""
import hashlib
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures", "old_runs")
SEP = b"\n#---#\n"  # tests/fuzz/common.h: kSeparator
out_root = sys.argv[1]


def fixture(*path):
    with open(os.path.join(FIX, *path), "rb") as f:
        return f.read()


def seed(target, data):
    d = os.path.join(out_root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


# table: first byte picks csv / tsv / jsonl / csv-by-flag.
for body in [fixture("text", "test.csv"), fixture("recommendation", "log.csv"),
             b'text,label\n"a ""quoted"" field, with comma",spam\n"multi\nline",ham\r\n\n', b"\xef\xbb\xbfa,b\n1,2\n"]:
    seed("table", b"\x00" + body)
    seed("table", b"\x03" + body)
seed("table", b"\x01text\tlabel\nhello world\tham\n\nx\ty\r\n")
for body in [fixture("recommendation", "input.jsonl"),
             b'{"text": "hi", "label": 1, "x": null, "y": true}\n\n{"text": "yo", "label": 2.5, "x": [1], "y": {"a": 1}}\n']:
    seed("table", b"\x02" + body)

# parallel: 0 tsv, 1 jsonl, 2 two files, 3 text lines.
seed("parallel", b"\x00Hello world.\tHallo Welt.\r\nGood morning\tGuten Morgen\n")
seed("parallel", b'\x01{"src": "Hello", "tgt": "Hallo"}\n\n{"src": "a", "tgt": "b", "extra": 1}\n')
seed("parallel", b"\x02one\ntwo\r\n" + SEP + b"eins\nzwei\n")
seed("parallel", b"\x03" + fixture("mlm", "input.txt"))

# interactions: mode % 5 picks ratings.dat, u.data, csv, tsv, jsonl; 0x10 time, 0x20 rating, 0x40 features.
seed("interactions", b"\x00" + b"1::1193::5::978300760\n1::661::3::978302109\n\n2::3068::4::978299000\r\n")
seed("interactions", b"\x01" + b"196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
log = fixture("recommendation", "log.csv")
seed("interactions", bytes([0x02 | 0x10]) + log)
seed("interactions", bytes([0x02 | 0x30 | 0x40]) + b"user,item,time,rating,age\nu1,i1,1.5,4,30\nu2,i2,2e3,-1,40\n")
seed("interactions", bytes([0x03 | 0x30]) + b"user\titem\ttime\trating\nu1\ti1\t1\t5\n")
seed("interactions", bytes([0x04 | 0x10]) + b'{"user": "u1", "item": "i9", "time": 3}\n{"user": 2, "item": "i8", "time": 4}\n')

# idx: one file in memory, or images SEP labels.
def idx(dims, values):
    return b"\x00\x00\x08" + bytes([len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(values)
seed("idx", idx([2, 2, 3], range(12)))
seed("idx", idx([4], [1, 2, 3, 4]))
seed("idx", fixture("image", "test-images") + SEP + fixture("image", "test-labels"))
seed("idx", idx([2, 2, 2], range(8)) + SEP + idx([2], [0, 1]))

# safetensors: generated ones of every dtype, and the smaller fixture checkpoints.
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data
seed("safetensors", safetensors([("weight", "F32", [2, 3], struct.pack("<6f", *range(6))),
                                 ("bias", "F32", [2], struct.pack("<2f", 1, 2))], {"format": "pt"}))
seed("safetensors", safetensors([("a", "F64", [1], b"\0" * 8), ("b", "F16", [2], b"\0" * 4), ("c", "BF16", [], b"\0\0"),
                                 ("d", "I64", [1], b"\1" + b"\0" * 7), ("e", "I32", [0, 3], b""), ("f", "I16", [1], b"\0\0"),
                                 ("g", "I8", [1], b"\x80"), ("h", "U8", [1, 1], b"\xff"), ("i", "BOOL", [2], b"\0\1")]))
seed("safetensors", fixture("recommendation", "run", "model.safetensors"))
seed("safetensors", fixture("text_lora", "run", "adapter_model.safetensors"))

# wordpiece: vocab.txt SEP tokenizer_config.json SEP special_tokens_map.json SEP tokenizer.json SEP text
vocab = b"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n##ing\nun\n##able\n,\n.\n\xe4\xb8\xad\n"
text = "Hello, worlds! UNABLE caf\u00e9 \u4e2d\u6587 \U0001F600 \t x".encode()
hf_config = json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": True, "strip_accents": None,
                        "tokenize_chinese_chars": True, "model_max_length": 512, "unk_token": "[UNK]",
                        "mask_token": {"content": "[MASK]"}}).encode()
special = json.dumps({"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]"}).encode()
attune_tok = json.dumps({"kind": "wordpiece", "lowercase": False, "strip_accents": True,
                         "tokenize_chinese_chars": False, "max_input_chars_per_word": 5}).encode()
seed("wordpiece", SEP.join([vocab, hf_config, special, attune_tok, text]))
seed("wordpiece", SEP.join([fixture("mlm", "run", "tokenizer", "vocab.txt"), b"", b"",
                            fixture("mlm", "run", "tokenizer", "tokenizer.json"), fixture("mlm", "input.txt")]))
seed("wordpiece", SEP.join([b"[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\n[MASK]\r\nab\r\n", b"{}", b"{}", b'{"kind": "wordpiece"}', b"abab ab"]))

# sentencepiece: a hand-made ModelProto (protobuf) of a few pieces, unigram and BPE;
# the fixture's trained model (240 KB) is left out of the committed corpus for size.
def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out
def field(num, wire, payload):
    key = varint((num << 3) | wire)
    return key + (varint(len(payload)) + payload if wire == 2 else payload)
def piece(text, score, kind):
    return field(1, 2, text.encode()) + field(2, 5, struct.pack("<f", score)) + field(3, 0, varint(kind))
def spm_model(model_type, pieces):
    # types: 1 normal, 2 unknown, 3 control; TrainerSpec: model_type=3, unk_id=40, bos=41, eos=42, pad=43.
    body = b"".join(field(1, 2, piece(*p)) for p in pieces)
    trainer = field(3, 0, varint(model_type)) + field(40, 0, varint(0)) + field(41, 0, varint(1)) + \
        field(42, 0, varint(2)) + field(43, 0, varint(0xFFFFFFFFFFFFFFFF))
    normalizer = field(1, 2, b"identity") + field(3, 0, varint(1)) + field(4, 0, varint(1)) + field(5, 0, varint(1))
    return body + field(2, 2, trainer) + field(3, 2, normalizer)
base = [("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3), ("[CLS]", 0, 3), ("[SEP]", 0, 3), ("\u2581", -1, 1),
        ("\u2581hello", -2, 1), ("h", -3, 1), ("e", -3, 1), ("l", -3, 1), ("o", -3, 1), ("w", -4, 1), ("r", -4, 1), ("d", -4, 1)]
seed("sentencepiece", spm_model(1, base))
seed("sentencepiece", spm_model(2, base) + SEP + "hello world \u00e9".encode())

# config: a run config file SEP --set lines, from every task's fixture run.
for task in ["text", "text_lora", "mlm", "translation", "recommendation", "image"]:
    seed("config", fixture(task, "run", "config.json") + SEP + b"train.epochs=2\nseed=7\n")
seed("config", b'{"task": "text-classification", "train": {"lr": 1e-3}}' + SEP +
     b'data.train=x.csv\nmodel.preset=tiny\npeft.method="lora"\ndata.context_columns=["a"]\ntrain.batch_sise=3\n')
seed("config", b"{}" + SEP + b"task=translation\nmodel.num_layers=null\n")

# bundle: manifest.json SEP config.json SEP model.pt SEP tokenizer/vocab.txt; byte 0 odd = fix checksums.
def sha(b):
    return hashlib.sha256(b).hexdigest()
config = fixture("text", "run", "config.json")
model = b"not really a TorchScript archive"
manifest = {"format": "attune-bundle", "format_version": 1, "task": "text-classification",
            "attune_version": "0.1.0", "torch_version": "1.13.1", "model": {"file": "model.pt", "dtype": "float32"},
            "inputs": ["input_ids", "attention_mask", "token_type_ids"], "outputs": ["logits"],
            "labels": ["ham", "spam"], "max_length": 16, "tokenizer": {"dir": "tokenizer"},
            "files": [{"path": "config.json", "bytes": len(config), "sha256": sha(config)},
                      {"path": "model.pt", "bytes": len(model), "sha256": sha(model)},
                      {"path": "tokenizer/vocab.txt", "bytes": len(vocab), "sha256": sha(vocab)}]}
seed("bundle", b"\x00" + SEP.join([json.dumps(manifest).encode(), config, model, vocab]))
manifest["task"] = "translation"
manifest["files"][2]["path"] = "../escape"
seed("bundle", b"\x01" + SEP.join([json.dumps(manifest).encode(), config, model, vocab]))

# serve_request: byte 0 % 4 picks the check (text, pair, context, translation).
for kind, body in [(0, {"inputs": ["win money now", {"text": "hi"}]}), (0, {"input": "one"}),
                   (1, {"inputs": [{"text": "a", "pair": "b"}, {"text": 1, "pair": None}]}),
                   (2, {"inputs": [{"text": "a", "age": "3.5", "score": 2}]}), (3, {"inputs": ["Hello.", "World"]})]:
    seed("serve_request", bytes([kind]) + json.dumps(body).encode())
seed("serve_request", b"\x00{\"inputs\": []}")
