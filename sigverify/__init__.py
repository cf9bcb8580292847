"""SigVerify: offline handwritten signature verification for bank counters."""

__version__ = "0.1.0"
