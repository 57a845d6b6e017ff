"""carecli: customer service and customer care from the terminal."""

__version__ = "0.2.0"
