"""sfpatch: a terminal console for patching Service Fabric clusters on Windows scale sets."""

__version__ = "0.1.0"
