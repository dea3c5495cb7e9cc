"""chatforensics pipelines: Beam graph, readers, sinks, reports and the command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chatforensics")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
