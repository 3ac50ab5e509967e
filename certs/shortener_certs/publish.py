"""Publishing a certificate to nginx: never a half-written pair.

Each certificate and its key are copied into a release folder of their own
(<certificates_dir>/releases/<serial>), then the `live` symlink is swapped to it with one
rename, which is atomic: nginx (nginx/watch-certificate.sh) reads live/fullchain.pem and
live/privkey.pem either both old or both new. The key is readable by the group the proxy
is given (group_add in docker-compose.tls.yml) and by nobody else.
"""

import os
import shutil
from pathlib import Path

KEEP_RELEASES = 2  # the live one and the one before it


def publish(lineage: Path, certificates_dir: Path, serial: int) -> Path:
    releases = certificates_dir / "releases"
    release = releases / f"{serial:x}"
    staging = releases / f".{serial:x}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, mode=0o750)
    for name, mode in (("fullchain.pem", 0o644), ("privkey.pem", 0o640)):
        target = staging / name
        # Resolved: certbot's live/ files are symlinks into its archive/.
        shutil.copyfile(lineage / name, target)
        target.chmod(mode)
    shutil.rmtree(release, ignore_errors=True)
    staging.rename(release)

    link = certificates_dir / "live"
    swap = certificates_dir / ".live.swap"
    swap.unlink(missing_ok=True)
    swap.symlink_to(release.relative_to(certificates_dir))
    os.replace(swap, link)
    _prune(releases, keep=release)
    return link


def _prune(releases: Path, keep: Path) -> None:
    """Old releases go, the newest KEEP_RELEASES stay (by when they were published)."""
    published = sorted(
        (path for path in releases.iterdir() if not path.name.startswith(".")),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for old in published[KEEP_RELEASES:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
