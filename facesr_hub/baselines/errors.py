"""The one error a baseline raises when it cannot run here (missing wheel, weights not downloaded, Hub offline)."""


class BaselineUnavailable(RuntimeError):
    """A baseline whose weights or package are not available on this machine; the reason is the message."""
