"""What make_hf_arch_fixtures.py and make_vit_fixtures.py both write: save_pretrained's
folders as safetensors, and one .tar.gz of the output folder (the device returns few files)."""
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
