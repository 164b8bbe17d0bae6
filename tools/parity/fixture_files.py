"""What the fixture scripts (make_hf_arch_fixtures.py, make_modern_arch_fixtures.py,
make_vit_fixtures.py) share: building a head from a config, moving every parameter off its
initial value, the padded input batch, save_pretrained's folders as safetensors, and one
.tar.gz of the output folder (the device returns few files)."""
import os
import tarfile


def save_pretrained_safetensors(model, path):
    """model.save_pretrained(path) with model.safetensors, whatever the transformers version."""
    try:
        model.save_pretrained(path, safe_serialization=True)
    except TypeError:  # transformers versions that always write safetensors
        model.save_pretrained(path)
    if not os.path.exists(os.path.join(path, "model.safetensors")):
        raise SystemExit(f"{path}: save_pretrained wrote no model.safetensors")


def pack_fixtures(out, name):
    """Every entry of out but the archive itself into out/name; prints and returns its path."""
    archive = os.path.join(out, name)
    with tarfile.open(archive, "w:gz") as tar:
        for entry in sorted(os.listdir(out)):
            if entry != name:
                tar.add(os.path.join(out, entry), arcname=entry)
    print(f"wrote {archive} ({os.path.getsize(archive) // 1024} KB)")
    return archive


def build(auto_classes, head, config):
    """auto_classes[head].from_config(config), with the eager attention where the class takes it."""
    try:
        return auto_classes[head].from_config(config, attn_implementation="eager")
    except (TypeError, ValueError):
        return auto_classes[head].from_config(config)


def perturb(model, skip=lambda name: False):
    """Every parameter (tied ones once) plus N(0, 0.1), so a swapped or skipped tensor shows."""
    import torch
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not skip(name):
                p.add_(torch.randn_like(p) * 0.1)


def padded_inputs(config, vocab, length, padded):
    """input_ids and attention_mask [2, length]: random ids >= 3 (never the pad id); row 1
    ends in `padded` pad ids."""
    import torch
    pad = config.pad_token_id
    ids = torch.randint(3, vocab, (2, length))
    ids[ids == pad] = 5
    mask = torch.ones(2, length, dtype=torch.long)
    ids[1, length - padded:] = pad
    mask[1, length - padded:] = 0
    return ids, mask
