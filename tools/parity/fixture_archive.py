"""Packs a fixture script's output folder into one .tar.gz beside its cases (the device
returns few files), for make_hf_arch_fixtures.py and make_vit_fixtures.py."""
import os
import tarfile


def pack_fixtures(out, name):
    """Every entry of out but the archive itself into out/name; prints and returns its path."""
    archive = os.path.join(out, name)
    with tarfile.open(archive, "w:gz") as tar:
        for entry in sorted(os.listdir(out)):
            if entry != name:
                tar.add(os.path.join(out, entry), arcname=entry)
    print(f"wrote {archive} ({os.path.getsize(archive) // 1024} KB)")
    return archive
