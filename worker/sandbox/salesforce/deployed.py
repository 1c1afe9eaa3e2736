"""The metadata an admin deploys from `salesforce/` (the Salesforce DX source folder), read here so
the emulated org holds exactly what a real org would after `sf project deploy start`.

The folder sits beside the package in a source tree; an installed wheel carries it inside the
package (pyproject force-includes it as `worker/_salesforce`).
"""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[2]
_SOURCE_FOLDERS = (
    _PACKAGE_DIR / "_salesforce",  # wheel
    _PACKAGE_DIR.parent / "salesforce",  # source tree
)
_PERMISSION_SETS = Path("force-app/main/default/permissionsets")
_SUFFIX = ".permissionset-meta.xml"


def source_folder() -> Path:
    """The DX source folder; raises FileNotFoundError naming where it looked."""
    for folder in _SOURCE_FOLDERS:
        if (folder / _PERMISSION_SETS).is_dir():
            return folder
    searched = ", ".join(str(folder) for folder in _SOURCE_FOLDERS)
    raise FileNotFoundError(f"the salesforce/ metadata folder was not found; looked in {searched}")


def shipped_permission_sets() -> dict[str, str]:
    """Each permission set of the folder: its API name and its XML text."""
    folder = source_folder() / _PERMISSION_SETS
    return {
        path.name.removesuffix(_SUFFIX): path.read_text(encoding="utf-8")
        for path in sorted(folder.glob(f"*{_SUFFIX}"))
    }
