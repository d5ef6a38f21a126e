"""tailgate: tail the smart money, gate every trade."""

__version__ = "0.1.0"
