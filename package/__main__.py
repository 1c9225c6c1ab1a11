"""``python -m mlgate``: the same command line as the ``mlgate`` script."""
from mlgate.action.cli import main

if __name__ == "__main__":
    main()
