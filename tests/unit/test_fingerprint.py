"""nginx/fingerprint.sh: the web page's assets under a content-hashed folder."""

import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "nginx" / "fingerprint.sh"
ASSET = re.compile(r'"/static/([0-9a-f]{12})/([^"]+)"')


def fingerprint(source: Path, output: Path) -> str:
    subprocess.run(["bash", str(SCRIPT), str(source), str(output)], check=True, capture_output=True)
    versions = {version for version, _ in ASSET.findall((output / "index.html").read_text())}
    assert len(versions) == 1, versions
    return versions.pop()


def test_every_reference_points_into_one_hashed_folder(tmp_path: Path) -> None:
    version = fingerprint(REPO / "nginx" / "web", tmp_path / "site")
    page = (tmp_path / "site" / "index.html").read_text()
    names = [name for _, name in ASSET.findall(page)]
    assert {"main.js", "app.css", "icon.svg"} <= set(names)
    for name in names:
        assert (tmp_path / "site" / "static" / version / name).is_file()
    # Modules import each other relatively: they all sit in the same folder.
    copied = {path.name for path in (tmp_path / "site" / "static" / version).iterdir()}
    assert copied == {path.name for path in (REPO / "nginx" / "web" / "static").iterdir()}
    assert '"/static/main.js"' not in page


def test_a_changed_asset_gets_a_new_folder(tmp_path: Path) -> None:
    source = tmp_path / "web"
    shutil.copytree(REPO / "nginx" / "web", source)
    before = fingerprint(source, tmp_path / "before")
    assert fingerprint(source, tmp_path / "again") == before  # reproducible
    with (source / "static" / "app.css").open("a") as css:
        css.write("/* changed */\n")
    assert fingerprint(source, tmp_path / "after") != before


def test_a_missing_asset_fails_the_build(tmp_path: Path) -> None:
    source = tmp_path / "web"
    shutil.copytree(REPO / "nginx" / "web", source)
    (source / "static" / "app.css").unlink()
    result = subprocess.run(
        ["bash", str(SCRIPT), str(source), str(tmp_path / "site")], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "missing asset: /static/" in result.stderr
