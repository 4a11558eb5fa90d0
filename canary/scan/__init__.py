"""Finding canaries in leaked files: read any format, match every writing, attribute, date."""
from .errors import ScanInputError
from .scan import ScanResult, scan_files

__all__ = ["ScanInputError", "ScanResult", "scan_files"]
