"""`python -m carecli`."""

from carecli.cli import main

if __name__ == "__main__":
    main()
